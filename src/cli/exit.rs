//! The client's exit codes: one small documented table, the same for every subcommand,
//! and the mapping of each gRPC status code onto it.

use tonic::Code;

/// What a client run ended with, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: any other failure (internal server error, bad file, some import rows failed).
    Other,
    /// 2: the command line or the input is wrong (usage, invalid fields, bad import rows).
    Usage,
    /// 3: the resource does not exist or the key may not see it.
    NotFound,
    /// 4: no key, a bad or revoked key, or a role that may not do this.
    Permission,
    /// 5: conflict: already exists, stale etag, or not allowed in the current status.
    Conflict,
    /// 6: the server is unreachable, overloaded or rate-limiting; try again later.
    Unavailable,
}

impl Exit {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Other => 1,
            Exit::Usage => 2,
            Exit::NotFound => 3,
            Exit::Permission => 4,
            Exit::Conflict => 5,
            Exit::Unavailable => 6,
        }
    }

    /// The exit code for a gRPC status code.
    pub fn for_code(code: Code) -> Exit {
        match code {
            Code::Ok => Exit::Ok,
            Code::InvalidArgument | Code::OutOfRange => Exit::Usage,
            Code::NotFound => Exit::NotFound,
            Code::Unauthenticated | Code::PermissionDenied => Exit::Permission,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => Exit::Conflict,
            Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded => {
                Exit::Unavailable
            }
            Code::Cancelled
            | Code::Unknown
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss => Exit::Other,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// The exit-code table as printed at the end of `clearinghouse --help` (and in the README).
pub const EXIT_CODES_HELP: &str = "\
Exit codes (the same for every client subcommand):
  0  ok
  1  other failure (server error, unreadable file, some import rows failed)
  2  usage: bad flags or arguments, invalid fields, bad import rows (nothing sent)
  3  not found (or not visible to your key)
  4  permission: no key, bad or revoked key, or a role that may not do this
  5  conflict: already exists, stale etag, not allowed in the current status
  6  unavailable: server unreachable, overloaded or rate-limiting; retry later";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grpc_code_maps_to_its_documented_exit_code() {
        let table = [
            (Code::Ok, 0),
            (Code::Cancelled, 1),
            (Code::Unknown, 1),
            (Code::InvalidArgument, 2),
            (Code::DeadlineExceeded, 6),
            (Code::NotFound, 3),
            (Code::AlreadyExists, 5),
            (Code::PermissionDenied, 4),
            (Code::ResourceExhausted, 6),
            (Code::FailedPrecondition, 5),
            (Code::Aborted, 5),
            (Code::OutOfRange, 2),
            (Code::Unimplemented, 1),
            (Code::Internal, 1),
            (Code::Unavailable, 6),
            (Code::DataLoss, 1),
            (Code::Unauthenticated, 4),
        ];
        for (code, exit) in table {
            assert_eq!(Exit::for_code(code).code(), exit, "{code:?}");
        }
    }

    #[test]
    fn the_help_table_lists_every_exit_code_once() {
        for exit in [
            Exit::Ok,
            Exit::Other,
            Exit::Usage,
            Exit::NotFound,
            Exit::Permission,
            Exit::Conflict,
            Exit::Unavailable,
        ] {
            let line = format!("\n  {}  ", exit.code());
            assert_eq!(EXIT_CODES_HELP.matches(&line).count(), 1, "{exit:?}");
        }
    }
}
