//! Connect errors: a gRPC status as the Connect protocol's error JSON,
//! `{"code": "invalid_argument", "message": "...", "details": [...]}`, with the HTTP status
//! the protocol assigns to each code.
//!
//! Details carry the same `google.rpc` messages as over gRPC (`ErrorInfo` with its reason
//! and request id, `BadRequest` with every field violation, `PreconditionFailure`), each as
//! `{"type": "google.rpc.BadRequest", "value": "<base64 of the protobuf>"}` — the Connect
//! spec's format — plus a `debug` object holding the same message as JSON for people.

use base64::Engine;
use http::{HeaderValue, Response, StatusCode, header};
use prost::{Message, bytes::Bytes};
use serde_json::{Map, Value, json};
use tonic::{Code, Status, body::Body};
use tonic_types::{ErrorDetails, StatusExt};

/// The Connect name of a gRPC code (`invalid_argument`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The HTTP status the Connect protocol gives a code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

/// The Connect error JSON of `status`.
pub fn error_json(status: &Status) -> Value {
    let mut out = Map::new();
    out.insert("code".into(), json!(code_name(status.code())));
    if !status.message().is_empty() {
        out.insert("message".into(), json!(status.message()));
    }
    let details = details_json(status);
    if !details.is_empty() {
        out.insert("details".into(), Value::Array(details));
    }
    Value::Object(out)
}

/// Each detail of `status` as `{type, value, debug}`.
fn details_json(status: &Status) -> Vec<Value> {
    let Ok(rpc) = tonic_types::pb::Status::decode(status.details()) else {
        return Vec::new();
    };
    let known = status.get_error_details();
    rpc.details
        .iter()
        .map(|any| {
            let name = any
                .type_url
                .rsplit_once('/')
                .map_or(any.type_url.as_str(), |(_, n)| n);
            let mut d = Map::new();
            d.insert("type".into(), json!(name));
            d.insert(
                "value".into(),
                json!(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&any.value)),
            );
            if let Some(debug) = debug_json(name, &known) {
                d.insert("debug".into(), debug);
            }
            Value::Object(d)
        })
        .collect()
}

/// The detail named `name` as JSON (proto3 mapping names), for the details the service
/// sends.
fn debug_json(name: &str, d: &ErrorDetails) -> Option<Value> {
    match name {
        "google.rpc.ErrorInfo" => d.error_info().map(|i| {
            let mut meta: Vec<(&String, &String)> = i.metadata.iter().collect();
            meta.sort();
            let meta: Map<String, Value> =
                meta.into_iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            json!({"reason": i.reason, "domain": i.domain, "metadata": meta})
        }),
        "google.rpc.BadRequest" => d.bad_request().map(|b| {
            let v: Vec<Value> = b
                .field_violations
                .iter()
                .map(|f| json!({"field": f.field, "description": f.description}))
                .collect();
            json!({ "fieldViolations": v })
        }),
        "google.rpc.PreconditionFailure" => d.precondition_failure().map(|p| {
            let v: Vec<Value> = p
                .violations
                .iter()
                .map(|x| json!({"type": x.r#type, "subject": x.subject, "description": x.description}))
                .collect();
            json!({ "violations": v })
        }),
        _ => None,
    }
}

/// A unary Connect error response for `status`.
pub fn error_response(status: &Status) -> Response<Body> {
    let body = serde_json::to_vec(&error_json(status)).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = super::super::body::bytes(
        http_status(status.code()),
        "application/json",
        Bytes::from(body),
    );
    if status.code() == Code::Unauthenticated {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"clearinghouse\""),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::FieldViolation;

    use super::*;

    #[test]
    fn an_error_carries_its_reason_and_every_field_violation_as_typed_details() {
        let mut d = ErrorDetails::new();
        d.set_bad_request(vec![
            FieldViolation::new("need.title", "is required"),
            FieldViolation::new("need.area", "is required"),
        ]);
        d.set_error_info("INVALID_FIELDS", "clearinghouse", HashMap::new());
        let status = Status::with_error_details(Code::InvalidArgument, "invalid need", d);
        let v = error_json(&status);
        assert_eq!(v["code"], "invalid_argument");
        assert_eq!(v["message"], "invalid need");
        let details = v["details"].as_array().expect("details");
        let bad = details
            .iter()
            .find(|d| d["type"] == "google.rpc.BadRequest")
            .expect("BadRequest");
        assert_eq!(bad["debug"]["fieldViolations"][1]["field"], "need.area");
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(bad["value"].as_str().expect("value"))
            .expect("base64");
        let decoded = tonic_types::pb::BadRequest::decode(raw.as_slice()).expect("protobuf");
        assert_eq!(decoded.field_violations.len(), 2);
        let info = details
            .iter()
            .find(|d| d["type"] == "google.rpc.ErrorInfo")
            .expect("ErrorInfo");
        assert_eq!(info["debug"]["reason"], "INVALID_FIELDS");
        assert_eq!(
            http_status(status.code()),
            StatusCode::BAD_REQUEST,
            "Connect's status for invalid_argument"
        );
    }

    #[test]
    fn every_code_has_a_connect_name_and_status() {
        assert_eq!(code_name(Code::Cancelled), "canceled");
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(Code::Aborted), StatusCode::CONFLICT);
    }
}
