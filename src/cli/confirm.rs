//! Confirmation of destructive actions: asked on a terminal, `--yes` in scripts.

use std::io::{BufRead, IsTerminal, Write};

use super::failure::CliError;

/// Asks "`question` [y/N]" on stderr when stdin is a terminal; without a terminal the
/// action needs `--yes`.
pub fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "refusing to {question} without confirmation; pass --yes"
        )));
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{question}? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Io(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Reported {
            exit: super::exit::Exit::Other,
            message: "cancelled; nothing was changed".to_owned(),
        })
    }
}
