//! `clearinghouse import needs FOLDER`: a folder of request texts (notes verbales, filled
//! templates, e-mails saved as `.txt`) read into DRAFT needs.
//!
//! Each text goes through the server's intake reader (`IntakeService.SuggestNeeds`), the
//! same reader as `need suggest`; each draft it returns becomes one need with external id
//! `<file name>#<n>`, so a re-run creates nothing twice. Every text and every need is
//! checked before anything is created: one unreadable text, one that names no requesting
//! State (without `--requester`), one that asks for nothing recognized, or one need the
//! domain refuses stops the whole import with every problem listed.

use std::path::{Path, PathBuf};

use super::{
    ImportArgs, check::Importable, check::Prepared, check::Problem, problems_error, send::Then,
};
use crate::{
    cli::{connect, failure::CliError, settings::Settings, suggest::need_of},
    pb,
};

/// Reads every text in the folder, turns it into needs and creates them.
pub async fn import(settings: &Settings, args: &ImportArgs, then: Then) -> Result<(), CliError> {
    let folder = args.file.display().to_string();
    let files = text_files(&args.file)?;
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "{folder} holds no .txt file; put one request text per file"
        )));
    }
    let api = connect::connect(settings).await?;
    let mut prepared = Vec::new();
    let mut problems = Vec::new();
    let mut rows = 0;
    for path in &files {
        let name = file_name(path);
        match read(path) {
            Ok(text) => {
                let reply = api
                    .intake
                    .clone()
                    .suggest_needs(pb::SuggestNeedsRequest { text: text.clone() })
                    .await;
                match reply {
                    Ok(r) => {
                        rows += drafts(
                            &name,
                            &text,
                            &r.into_inner(),
                            args.requester.as_deref(),
                            &mut prepared,
                            &mut problems,
                        )
                    }
                    Err(status) if status.code() == tonic::Code::InvalidArgument => {
                        rows += 1;
                        problems.push(text_problem(&name, status.message().to_owned()));
                    }
                    Err(status) => return Err(status.into()),
                }
            }
            Err(message) => {
                rows += 1;
                problems.push(text_problem(&name, message));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems_error(&folder, rows, &problems));
    }
    if args.dry_run {
        eprintln!(
            "{folder}: {} text(s) read into {} valid need(s); nothing was created (--dry-run)",
            files.len(),
            prepared.len()
        );
        return Ok(());
    }
    super::send_and_summarize(settings, args, &api, prepared, then).await
}

/// The `.txt` files directly in the folder, by name.
fn text_files(folder: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| CliError::Io(format!("cannot read folder {}: {e}", folder.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry
            .map_err(|e| CliError::Io(format!("cannot read folder {}: {e}", folder.display())))?;
        let path = entry.path();
        let is_text = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
        if is_text && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The text of one file: UTF-8 and not blank.
fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())?;
    if text.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    Ok(text)
}

/// A problem with a text as a whole (not one of its needs).
fn text_problem(name: &str, message: String) -> Problem {
    Problem {
        line: 0,
        external_id: name.to_owned(),
        field: String::new(),
        message,
    }
}

/// The needs one text asks for, checked by the domain's rules; problems otherwise.
/// Returns how many rows (needs, or the text itself when it yields none) it counted.
fn drafts(
    name: &str,
    text: &str,
    reply: &pb::SuggestNeedsResponse,
    requester: Option<&str>,
    prepared: &mut Vec<Prepared<pb::Need>>,
    problems: &mut Vec<Problem>,
) -> usize {
    if reply.needs.is_empty() {
        problems.push(text_problem(
            name,
            "asks for nothing the reader recognizes (no thematic area of the 1540 framework)"
                .to_owned(),
        ));
        return 1;
    }
    let requester = match (requester, reply.requesting_state.as_str()) {
        (Some(p), _) => p.to_owned(),
        (None, "") => {
            problems.push(text_problem(
                name,
                "names no requesting State; pass --requester PARTY_ID".to_owned(),
            ));
            return reply.needs.len();
        }
        (None, iso3) => format!("state-{iso3}"),
    };
    for (i, suggestion) in reply.needs.iter().enumerate() {
        let mut need = need_of(suggestion, &requester, text);
        need.external_id = format!("{name}#{}", i + 1);
        let found = need.violations();
        if found.is_empty() {
            prepared.push(Prepared {
                line: 0,
                external_id: need.external_id.clone(),
                msg: need,
            });
        } else {
            problems.extend(found.into_iter().map(|(field, message)| Problem {
                line: 0,
                external_id: need.external_id.clone(),
                field,
                message,
            }));
        }
    }
    reply.needs.len()
}
