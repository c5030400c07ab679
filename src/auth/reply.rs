//! The last word on every error reply: it carries the call's request id and fits in
//! gRPC's default 8 KiB metadata limit whatever the input was.
//!
//! A status leaves as `grpc-status`, `grpc-message` (percent-encoded, so up to 3 bytes per
//! byte) and `grpc-status-details-bin` (base64 of a `google.rpc.Status` that repeats the
//! message). With the message cut to [`MAX_MESSAGE_BYTES`] and the encoded details to
//! [`MAX_DETAILS_BYTES`] the trailers stay under 1,536 + 5,462 bytes plus names. Field and
//! precondition violations are kept in order while they fit; the number left out is
//! reported in the `ErrorInfo` metadata `omitted_violations`. Only `ErrorInfo`,
//! `BadRequest` and `PreconditionFailure` details are carried (the only ones the service
//! produces).

use std::collections::HashMap;

use http::HeaderMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use super::request_id::RequestId;
use crate::error::ERROR_DOMAIN;

/// Longest `grpc-message`, in bytes before percent-encoding.
pub const MAX_MESSAGE_BYTES: usize = 512;
/// Longest encoded `google.rpc.Status` (before base64).
pub const MAX_DETAILS_BYTES: usize = 4096;
/// Longest field path of a violation kept.
const MAX_FIELD_BYTES: usize = 200;
/// Longest violation description kept.
const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Longest `ErrorInfo` reason, metadata key or value kept.
const MAX_INFO_BYTES: usize = 128;
/// `ErrorInfo` metadata entries kept besides the ones added here.
const MAX_INFO_ENTRIES: usize = 8;

/// `ErrorInfo` metadata key of the call's request id.
pub const REQUEST_ID_KEY: &str = "request_id";
/// `ErrorInfo` metadata key of the number of violations left out of the reply.
pub const OMITTED_KEY: &str = "omitted_violations";

/// How a call ended, as its log line reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The gRPC status code.
    pub code: Code,
    /// The `ErrorInfo` reason (empty for OK).
    pub reason: String,
}

/// `s` cut to at most `max` bytes on a character boundary, marked with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Rewrites the status carried by `headers` (trailers, or the headers of a trailers-only
/// reply) so that it is bounded and names `id`; `None` if `headers` carry no status.
pub fn finish(headers: &mut HeaderMap, id: &RequestId) -> Option<Outcome> {
    let status = Status::from_header_map(headers)?;
    if status.code() == Code::Ok {
        return Some(Outcome {
            code: Code::Ok,
            reason: String::new(),
        });
    }
    let bounded = bound(&status, id);
    let reason = bounded
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    headers.remove("grpc-message");
    headers.remove("grpc-status-details-bin");
    if bounded.add_header(headers).is_err() {
        // Only a message that cannot be a header value fails; send the code alone.
        headers.remove("grpc-message");
        headers.remove("grpc-status-details-bin");
    }
    Some(Outcome {
        code: bounded.code(),
        reason,
    })
}

/// A copy of `status` within the size limits, with `id` in its `ErrorInfo`.
pub fn bound(status: &Status, id: &RequestId) -> Status {
    let code = status.code();
    let message = truncate(status.message(), MAX_MESSAGE_BYTES);
    let src = status.get_error_details();
    let info = src.error_info();
    let reason = info.map_or_else(
        || default_reason(code).to_owned(),
        |i| truncate(&i.reason, MAX_INFO_BYTES),
    );
    let already_omitted: usize = info
        .and_then(|i| i.metadata.get(OMITTED_KEY))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut metadata: HashMap<String, String> = info
        .map(|i| {
            let mut entries: Vec<(&String, &String)> = i.metadata.iter().collect();
            entries.sort();
            entries
                .into_iter()
                .filter(|(k, _)| k.as_str() != REQUEST_ID_KEY && k.as_str() != OMITTED_KEY)
                .take(MAX_INFO_ENTRIES)
                .map(|(k, v)| (truncate(k, MAX_INFO_BYTES), truncate(v, MAX_INFO_BYTES)))
                .collect()
        })
        .unwrap_or_default();
    metadata.insert(REQUEST_ID_KEY.to_owned(), id.as_str().to_owned());

    let fields: Vec<FieldViolation> = src
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|f| {
                    FieldViolation::new(
                        truncate(&f.field, MAX_FIELD_BYTES),
                        truncate(&f.description, MAX_DESCRIPTION_BYTES),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let preconditions: Vec<PreconditionViolation> = src
        .precondition_failure()
        .map(|p| {
            p.violations
                .iter()
                .map(|v| {
                    PreconditionViolation::new(
                        truncate(&v.r#type, MAX_INFO_BYTES),
                        truncate(&v.subject, MAX_FIELD_BYTES),
                        truncate(&v.description, MAX_DESCRIPTION_BYTES),
                    )
                })
                .collect()
        })
        .unwrap_or_default();

    // What the message and error info take; violations share the rest of the budget, in
    // order (an estimate per violation first, then exact encodings while over).
    let base = 64
        + message.len()
        + reason.len()
        + ERROR_DOMAIN.len()
        + metadata
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>();
    let mut room = MAX_DETAILS_BYTES.saturating_sub(base);
    let mut take = |len: usize| {
        let fits = len + 8 <= room;
        if fits {
            room -= len + 8;
        }
        fits
    };
    let mut keep_f = fields
        .iter()
        .take_while(|f| take(f.field.len() + f.description.len()))
        .count()
        .max(usize::from(!fields.is_empty()));
    let mut keep_p = preconditions
        .iter()
        .take_while(|p| take(p.r#type.len() + p.subject.len() + p.description.len()))
        .count();
    loop {
        let omitted = already_omitted + (fields.len() - keep_f) + (preconditions.len() - keep_p);
        let mut meta = metadata.clone();
        if omitted > 0 {
            meta.insert(OMITTED_KEY.to_owned(), omitted.to_string());
        }
        let mut d = ErrorDetails::new();
        d.set_error_info(reason.clone(), ERROR_DOMAIN, meta);
        if keep_f > 0 {
            d.set_bad_request(fields[..keep_f].to_vec());
        }
        if keep_p > 0 {
            d.set_precondition_failure(preconditions[..keep_p].to_vec());
        }
        let out = Status::with_error_details(code, message.clone(), d);
        if out.details().len() <= MAX_DETAILS_BYTES || keep_f + keep_p == 0 {
            return out;
        }
        if keep_p > 0 {
            keep_p -= 1;
        } else {
            keep_f -= 1;
        }
    }
}

/// The reason reported for a status that came without an `ErrorInfo` (from the transport).
fn default_reason(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Bytes `headers` take against an HTTP/2 header-list limit (name + value + 32 each).
pub fn header_list_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 32)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn huge_status() -> Status {
        let echo = "é".repeat(5_000);
        let mut d = ErrorDetails::new();
        d.set_bad_request(
            (0..200)
                .map(|i| FieldViolation::new(format!("need.sub_areas[{i}]{echo}"), echo.clone()))
                .collect::<Vec<_>>(),
        );
        d.set_precondition_failure(vec![PreconditionViolation::new("RULE", &echo, &echo)]);
        let mut meta = HashMap::new();
        for i in 0..100 {
            meta.insert(format!("k{i}"), echo.clone());
        }
        d.set_error_info(echo.clone(), ERROR_DOMAIN, meta);
        Status::with_error_details(Code::InvalidArgument, echo, d)
    }

    #[test]
    fn any_status_fits_the_default_metadata_limit_and_names_the_request() {
        let id = RequestId::generate();
        let mut headers = HeaderMap::new();
        huge_status().add_header(&mut headers).expect("encodes");
        assert!(header_list_size(&headers) > 1_000_000, "the input is huge");
        let outcome = finish(&mut headers, &id).expect("a status");
        assert_eq!(outcome.code, Code::InvalidArgument);
        let size = header_list_size(&headers);
        assert!(size < 8 * 1024, "trailers take {size} bytes");
        let back = Status::from_header_map(&headers).expect("still a status");
        let d = back.get_error_details();
        let info = d.error_info().expect("error info");
        assert_eq!(
            info.metadata.get(REQUEST_ID_KEY).map(String::as_str),
            Some(id.as_str())
        );
        let kept = d.bad_request().map_or(0, |b| b.field_violations.len());
        assert!(kept >= 1, "at least one violation is kept");
        let omitted: usize = info.metadata[OMITTED_KEY].parse().expect("a count");
        assert_eq!(
            kept + omitted + d.precondition_failure().map_or(0, |p| p.violations.len()),
            201
        );
    }

    #[test]
    fn a_status_without_details_gets_an_error_info_with_the_request_id() {
        let id = RequestId::generate();
        let out = bound(&Status::unimplemented("no such method"), &id);
        let d = out.get_error_details();
        let info = d.error_info().expect("added");
        assert_eq!(info.reason, "UNIMPLEMENTED");
        assert_eq!(info.metadata[REQUEST_ID_KEY], id.as_str());
        assert_eq!(out.message(), "no such method");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        let t = truncate(&"é".repeat(10), 8);
        assert!(t.len() <= 8 && t.ends_with('…'), "{t}");
    }
}
