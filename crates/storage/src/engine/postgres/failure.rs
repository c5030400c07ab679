//! What a failed statement means for the engine: a conflict with a concurrent
//! transaction (run the body again), a lost connection (nothing committed; try another
//! connection), or anything else (report it).

use postgres::error::SqlState;

/// The meaning of a failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Serialization failure (40001) or deadlock (40P01): the transaction was rolled
    /// back and may run again.
    Conflict,
    /// The connection is gone (closed, server shut down, class 08).
    Lost(String),
    /// Any other failure.
    Other(String),
}

impl Failure {
    /// Classifies `e`, raised on a connection that is now `closed` or not.
    pub(crate) fn of(e: &postgres::Error, closed: bool) -> Failure {
        match e.code() {
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => Failure::Conflict,
            Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED => Failure::Conflict,
            Some(c)
                if *c == SqlState::ADMIN_SHUTDOWN
                    || *c == SqlState::CRASH_SHUTDOWN
                    || *c == SqlState::CANNOT_CONNECT_NOW
                    || c.code().starts_with("08") =>
            {
                Failure::Lost(e.to_string())
            }
            _ if closed || e.is_closed() => Failure::Lost(e.to_string()),
            _ => Failure::Other(describe(e)),
        }
    }
}

/// The error with the server's message and SQLSTATE when it has them, else with its
/// causes (the client's own message is often only "error connecting to server").
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({}): {}", db.severity(), db.code().code(), db.message());
    }
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}
