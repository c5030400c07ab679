//! Client failures and how they are told to a person: one `error:` line they can act on
//! (every field violation of a `google.rpc.BadRequest`, the first on that line and the
//! rest one per line), then at most one `hint:` line. Never a debug dump of a status.

use std::io::IsTerminal;

use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::exit::Exit;
use crate::json::JsonError;

/// Everything a client subcommand can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A bad flag value, argument or input file content; nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// No API key could be found.
    #[error("{0}")]
    NoKey(String),
    /// The server could not be reached.
    #[error("cannot connect to {server}: {detail}")]
    Connect {
        /// Server address tried.
        server: String,
        /// Root cause.
        detail: String,
    },
    /// The server answered with an error status.
    #[error("{}", status.message())]
    Status {
        /// The status.
        status: Status,
    },
    /// A local file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A response could not be rendered.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A failure already reported in full on stderr (e.g. an import summary), ending
    /// with this exit code.
    #[error("{message}")]
    Reported {
        /// Exit code to end with.
        exit: Exit,
        /// Last line to print.
        message: String,
    },
}

impl From<Status> for CliError {
    fn from(status: Status) -> Self {
        // A call that failed below gRPC (a TLS alert, a lost connection) carries the
        // reason in its source only: put it in the message, as UNAVAILABLE.
        if let Some(source) = std::error::Error::source(&status) {
            let mut cause: &dyn std::error::Error = source;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let cause = cause.to_string();
            if !status.message().contains(&cause) {
                // The connection failed or was closed (e.g. a refused TLS handshake),
                // whichever code the transport chose.
                let code = match status.code() {
                    tonic::Code::Unknown | tonic::Code::Cancelled => tonic::Code::Unavailable,
                    other => other,
                };
                let message = format!("{}: {cause}", status.message());
                return CliError::Status {
                    status: Status::new(code, message),
                };
            }
        }
        CliError::Status { status }
    }
}

impl CliError {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// The exit code this failure ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::NoKey(_) => Exit::Permission,
            CliError::Connect { .. } => Exit::Unavailable,
            CliError::Status { status } => Exit::for_code(status.code()),
            CliError::Io(_) | CliError::Json(_) => Exit::Other,
            CliError::Reported { exit, .. } => *exit,
        }
    }

    /// The lines to print: the error (one or more lines) and at most one hint.
    pub fn lines(&self) -> Report {
        match self {
            CliError::Status { status } => status_report(status),
            CliError::NoKey(m) => Report {
                error: vec![m.clone()],
                hint: Some(
                    "pass --api-key-file FILE, set CLEARINGHOUSE_API_KEY, or name a --profile \
                     whose api_key_file holds the key"
                        .to_owned(),
                ),
            },
            CliError::Connect { server, .. } => Report {
                error: vec![self.to_string()],
                hint: Some(format!(
                    "is the server running at {server}? start one with `clearinghouse serve`, \
                     or point --server at it"
                )),
            },
            other => Report {
                error: other.to_string().lines().map(str::to_owned).collect(),
                hint: None,
            },
        }
    }
}

/// What to print for a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The error: the first line follows `error: `, the rest are indented.
    pub error: Vec<String>,
    /// An optional hint line.
    pub hint: Option<String>,
}

impl Report {
    /// The report as text lines, with `error:` and `hint:` labels (bold red and bold when
    /// `color`).
    pub fn render(&self, color: bool) -> String {
        let (err, hint) = if color {
            ("\x1b[1;31merror:\x1b[0m", "\x1b[1mhint:\x1b[0m")
        } else {
            ("error:", "hint:")
        };
        let mut out = String::new();
        for (i, line) in self.error.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!("{err} {line}\n"));
            } else {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("{hint} {h}\n"));
        }
        out
    }
}

/// Whether stderr should carry colour: a terminal and no `NO_COLOR`.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints a failure to stderr.
pub fn print(e: &CliError) {
    eprint!("{}", e.lines().render(stderr_color()));
}

fn status_report(status: &Status) -> Report {
    let reason = status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default();
    if let Some(bad) = status.get_details_bad_request()
        && !bad.field_violations.is_empty()
    {
        let fields: Vec<(String, String)> = bad
            .field_violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect();
        return Report {
            error: violation_lines(&fields),
            hint: None,
        };
    }
    let message = one_line(status.message());
    let hint = match (status.code(), reason.as_str()) {
        (Code::Unauthenticated, _) => Some(
            "check the key given by --api-key-file, CLEARINGHOUSE_API_KEY or the profile; \
             an admin can list keys with `clearinghouse admin key list`"
                .to_owned(),
        ),
        (Code::PermissionDenied, _) => {
            Some("this needs a key with another role or acting for another party".to_owned())
        }
        (Code::Aborted, _) => {
            Some("run the command again without --etag to act on the current version".to_owned())
        }
        (Code::Unavailable, _) => {
            Some("check --server and that the server is running, then retry".to_owned())
        }
        (Code::ResourceExhausted, _) => Some("slow down and retry in a moment".to_owned()),
        (Code::Internal, _) => Some("the server log has the details".to_owned()),
        _ => None,
    };
    let message = if message.is_empty() {
        format!("the server answered {:?} with no message", status.code())
    } else {
        message
    };
    Report {
        error: vec![message],
        hint,
    }
}

/// Turns field violations into lines: `invalid need: title: is required`, then one line
/// per further violation. A common first path segment (`need.`) names the resource.
pub fn violation_lines(fields: &[(String, String)]) -> Vec<String> {
    let prefix = fields
        .first()
        .and_then(|(f, _)| f.split_once('.').map(|(p, _)| p.to_owned()))
        .filter(|p| fields.iter().all(|(f, _)| f.starts_with(&format!("{p}."))));
    let head = match &prefix {
        Some(p) => format!("invalid {}", p.replace('_', " ")),
        None => "invalid request".to_owned(),
    };
    fields
        .iter()
        .enumerate()
        .map(|(i, (field, description))| {
            let field = match &prefix {
                Some(p) => field
                    .strip_prefix(&format!("{p}."))
                    .unwrap_or(field)
                    .to_owned(),
                None => field.clone(),
            };
            let line = format!("{field}: {}", one_line(description));
            if i == 0 {
                format!("{head}: {line}")
            } else {
                line
            }
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::{ErrorDetails, FieldViolation};

    use super::*;

    #[test]
    fn a_call_that_failed_below_grpc_says_why_and_exits_unavailable() {
        for code in [Code::Cancelled, Code::Unknown] {
            let mut status = Status::new(code, "operation was canceled");
            status.set_source(std::sync::Arc::new(std::io::Error::other(
                "received fatal alert: CertificateRequired",
            )));
            let e = CliError::from(status);
            assert_eq!(e.exit(), Exit::Unavailable, "{code:?}");
            assert_eq!(
                e.to_string(),
                "operation was canceled: received fatal alert: CertificateRequired"
            );
        }
    }

    #[test]
    fn every_field_violation_is_listed_with_the_resource_named_once() {
        let mut d = ErrorDetails::new();
        d.set_bad_request(vec![
            FieldViolation::new(
                "need.sub_areas[2]",
                "CONTROL_LISTS belongs to EXPORT_TRANSSHIPMENT, not to the need's area PHYSICAL_PROTECTION",
            ),
            FieldViolation::new("need.title", "is required"),
        ]);
        d.set_error_info("INVALID_FIELDS", "clearinghouse", HashMap::new());
        let status = Status::with_error_details(Code::InvalidArgument, "invalid input", d);
        let e = CliError::from(status);
        assert_eq!(e.exit(), Exit::Usage);
        assert_eq!(
            e.lines().render(false),
            "error: invalid need: sub_areas[2]: CONTROL_LISTS belongs to EXPORT_TRANSSHIPMENT, \
             not to the need's area PHYSICAL_PROTECTION\n  title: is required\n"
        );
    }

    #[test]
    fn a_not_found_status_is_one_line_without_debug_output() {
        let e = CliError::from(Status::not_found("need 01JXYZ not found"));
        let text = e.lines().render(false);
        assert_eq!(text, "error: need 01JXYZ not found\n");
        assert!(!text.contains("Status"));
        assert_eq!(e.exit(), Exit::NotFound);
    }

    #[test]
    fn a_stale_etag_says_how_to_retry() {
        let e = CliError::from(Status::aborted(
            "need 01J changed since you read it (etag 1, now 2); reload it and retry",
        ));
        let r = e.lines();
        assert_eq!(r.error.len(), 1);
        assert!(r.hint.is_some());
        assert_eq!(e.exit(), Exit::Conflict);
    }

    #[test]
    fn violations_without_a_common_prefix_are_an_invalid_request() {
        let lines = violation_lines(&[
            ("page_token".into(), "belongs to another filter".into()),
            ("need.title".into(), "is required".into()),
        ]);
        assert_eq!(
            lines,
            vec![
                "invalid request: page_token: belongs to another filter",
                "need.title: is required"
            ]
        );
    }

    #[test]
    fn a_missing_key_is_a_permission_failure_with_a_hint() {
        let e = CliError::NoKey("no API key".into());
        assert_eq!(e.exit(), Exit::Permission);
        assert!(e.lines().render(false).contains("hint: "));
    }
}
