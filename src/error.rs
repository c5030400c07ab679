//! `ApiError` and the single place that decides what a client sees for an error.
//!
//! Invariant: [`ApiError::into_status`] is an exhaustive `match` with no catch-all arm,
//! so a new error variant does not compile until someone chooses its gRPC status.
//! Internal errors are logged with their detail and returned as a short opaque message.
//! Sizes are bounded later, in one place for every reply ([`crate::auth::reply`]).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use clearinghouse_domain::{TransitionError, ValidationError};
use clearinghouse_storage::Error as StoreError;

/// Error domain of `google.rpc.ErrorInfo`.
pub const ERROR_DOMAIN: &str = "clearinghouse";

/// Every failure a use case can report.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// One or more bad fields.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// An illegal transition or a rule of the current status.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The resource does not exist or the caller may not see it.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Id.
        id: String,
    },
    /// The caller is known but may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Over a rate limit.
    #[error("{0}")]
    ResourceExhausted(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an unexpected runtime failure (e.g. a panicked blocking task).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        ApiError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        ApiError::Invalid(ValidationError::single(field, description))
    }

    /// Maps the error to a gRPC status with `google.rpc` details.
    pub fn into_status(self) -> Status {
        match self {
            ApiError::Invalid(v) => {
                let violations: Vec<FieldViolation> = v
                    .violations
                    .iter()
                    .map(|f| FieldViolation::new(f.field.clone(), f.description.clone()))
                    .collect();
                let mut d = ErrorDetails::new();
                d.set_bad_request(violations);
                // Violations past the domain's cap are counted, not listed (see
                // `auth::reply`, which keeps the whole reply within gRPC's metadata limit).
                let mut meta = HashMap::new();
                if v.omitted > 0 {
                    meta.insert(
                        crate::auth::reply::OMITTED_KEY.to_owned(),
                        v.omitted.to_string(),
                    );
                }
                d.set_error_info("INVALID_FIELDS", ERROR_DOMAIN, meta);
                Status::with_error_details(Code::InvalidArgument, v.to_string(), d)
            }
            ApiError::Transition(t) => {
                let (reason, kind, subject) = match &t {
                    TransitionError::Illegal { from, to, .. } => {
                        ("ILLEGAL_TRANSITION", "STATUS", format!("{from} -> {to}"))
                    }
                    TransitionError::NotPermitted { from, to, .. } => (
                        "TRANSITION_NOT_PERMITTED",
                        "ROLE",
                        format!("{from} -> {to}"),
                    ),
                    TransitionError::Rule { reason, .. } => (*reason, "RULE", (*reason).to_owned()),
                };
                let msg = t.to_string();
                let mut d = ErrorDetails::new();
                d.set_precondition_failure(vec![PreconditionViolation::new(
                    kind,
                    subject,
                    msg.clone(),
                )]);
                d.set_error_info(reason, ERROR_DOMAIN, HashMap::new());
                let code = if matches!(t, TransitionError::NotPermitted { .. }) {
                    Code::PermissionDenied
                } else {
                    Code::FailedPrecondition
                };
                Status::with_error_details(code, msg, d)
            }
            ApiError::NotFound { kind, id } => info(
                Code::NotFound,
                "NOT_FOUND",
                format!("{kind} {} not found", short_id(&id)),
            ),
            ApiError::PermissionDenied(m) => info(Code::PermissionDenied, "PERMISSION_DENIED", m),
            ApiError::Unauthenticated(m) => info(Code::Unauthenticated, "UNAUTHENTICATED", m),
            ApiError::ResourceExhausted(m) => info(Code::ResourceExhausted, "RATE_LIMITED", m),
            ApiError::Store(e) => store_status(e),
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Status::internal("internal error; the server log has the details")
            }
        }
    }
}

/// "a need", "an offer": the kind with its indefinite article.
pub fn with_article(kind: &str) -> String {
    let vowel = kind
        .chars()
        .next()
        .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'));
    format!("{} {kind}", if vowel { "an" } else { "a" })
}

/// An id as a message repeats it: whole when it could be one of ours, else a short prefix.
fn short_id(id: &str) -> std::borrow::Cow<'_, str> {
    if id.len() <= 64 {
        id.into()
    } else {
        clearinghouse_domain::validation::shown(id).into()
    }
}

fn info(code: Code, reason: &str, message: String) -> Status {
    let mut d = ErrorDetails::new();
    d.set_error_info(reason, ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(code, message, d)
}

fn store_status(e: StoreError) -> Status {
    match e {
        StoreError::Engine(_)
        | StoreError::Corrupt(_)
        | StoreError::Encode(_)
        | StoreError::AppendOnly { .. }
        | StoreError::Conflict
        | StoreError::Rejected => {
            tracing::error!(error = %e, "storage failure");
            Status::internal("storage failure; the server log has the details")
        }
        StoreError::TooLarge { bytes, max } => info(
            Code::InvalidArgument,
            "RECORD_TOO_LARGE",
            format!(
                "the record would take {bytes} bytes; the maximum is {max}: shorten the text fields"
            ),
        ),
        StoreError::NotFound { kind, id } => info(
            Code::NotFound,
            "NOT_FOUND",
            format!("{kind} {id} not found"),
        ),
        StoreError::AlreadyExists { kind, id } => info(
            Code::AlreadyExists,
            "ALREADY_EXISTS",
            format!("{kind} {id} already exists"),
        ),
        StoreError::UniqueTaken {
            kind,
            key,
            existing_id,
        } => info(
            Code::AlreadyExists,
            "EXTERNAL_ID_TAKEN",
            format!(
                "{} with {key} already exists: {existing_id}; update that one or choose another external_id",
                with_article(kind)
            ),
        ),
        StoreError::IdempotencyConflict { request_id } => info(
            Code::AlreadyExists,
            "REQUEST_ID_REUSED",
            format!(
                "request_id {request_id} was already used with a different payload; use a new request_id"
            ),
        ),
        StoreError::StaleVersion {
            kind,
            id,
            expected,
            actual,
        } => info(
            Code::Aborted,
            "STALE_ETAG",
            format!(
                "{kind} {id} changed since you read it (etag {expected}, now {actual}); reload it and retry"
            ),
        ),
        StoreError::Unavailable(why) => {
            tracing::warn!(error = %why, "database unavailable");
            info(
                Code::Unavailable,
                "DATABASE_UNAVAILABLE",
                "the database cannot be reached; retry later (a write retried with the same request_id is applied at most once)".to_owned(),
            )
        }
        StoreError::Durability(d) => {
            tracing::error!(error = %d, "durability lost");
            info(
                Code::Unavailable,
                "STORAGE_UNAVAILABLE",
                "the store can no longer guarantee durability and refuses writes; the service must restart".to_owned(),
            )
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        e.into_status()
    }
}

impl<E: Into<ApiError>> From<clearinghouse_storage::UpdateError<E>> for ApiError {
    fn from(e: clearinghouse_storage::UpdateError<E>) -> Self {
        match e {
            clearinghouse_storage::UpdateError::Store(s) => ApiError::Store(s),
            clearinghouse_storage::UpdateError::Rejected(r) => r.into(),
        }
    }
}

impl From<clearinghouse_domain::need::NeedUpdateError> for ApiError {
    fn from(e: clearinghouse_domain::need::NeedUpdateError) -> Self {
        match e {
            clearinghouse_domain::need::NeedUpdateError::Invalid(v) => ApiError::Invalid(v),
            clearinghouse_domain::need::NeedUpdateError::Rule(t) => ApiError::Transition(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_read_as_english() {
        assert_eq!(with_article("offer"), "an offer");
        assert_eq!(with_article("need"), "a need");
        let s = ApiError::Store(StoreError::UniqueTaken {
            kind: "offer",
            key: "party/external_id=x".into(),
            existing_id: "O1".into(),
        })
        .into_status();
        assert!(s.message().starts_with("an offer with"), "{}", s.message());
    }
}
