//! The Connect protocol's unary calls over the gRPC services, generically: the method is
//! found in the descriptor set by its path, the body (`application/json` in the proto3
//! JSON mapping, or `application/proto`) becomes the protobuf bytes of the method's input,
//! and the call goes as a synthesized gRPC request through the same gRPC stack as every
//! other call — auth layer (bearer key, method → roles table, rate limit), message limits,
//! the handler, the error mapping. The gRPC reply comes back as the Connect reply: the
//! output message as JSON (or protobuf), or the Connect error JSON carrying the same
//! `ErrorInfo` reason and field violations ([`error`]).
//!
//! Server-streaming methods answer `unimplemented` here (use gRPC or gRPC-Web for them).
//! Not served: compressed bodies (`unimplemented`, with `Accept-Encoding: identity`) and
//! Connect's GET form.

pub mod error;
pub mod frame;

use std::{future::Future, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use prost::{Message, bytes::Bytes};
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use tonic::{Code, Status, body::Body};

use super::body::{BodyError, read_limited};
use crate::{
    auth::{
        reply,
        request_id::{self, RequestId},
    },
    error::ApiError,
    json::{self, JsonError},
};

/// How a message travels in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `application/json`: the proto3 JSON mapping.
    Json,
    /// `application/proto`: protobuf bytes.
    Proto,
}

impl Codec {
    fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Proto => "application/proto",
        }
    }
}

/// A request refused before it reached the gRPC stack: the status, and the HTTP status
/// and headers the protocol asks for when they differ from the code's.
#[derive(Debug)]
struct Refusal {
    status: Status,
    http: Option<StatusCode>,
    header: Option<(HeaderName, &'static str)>,
}

impl Refusal {
    fn new(status: Status) -> Refusal {
        Refusal {
            status,
            http: None,
            header: None,
        }
    }

    fn with(mut self, http: StatusCode, header: Option<(HeaderName, &'static str)>) -> Refusal {
        self.http = Some(http);
        self.header = header;
        self
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::new(e.into_status())
    }
}

/// The Connect side of the HTTP edge.
#[derive(Debug)]
pub struct Connect {
    pool: DescriptorPool,
    max_message_bytes: usize,
    body_deadline: Duration,
}

/// Request headers that belong to the HTTP/1 or Connect exchange, not to the gRPC call.
const NOT_FORWARDED: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "accept-encoding",
    "connect-protocol-version",
    "connect-timeout-ms",
    "te",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "host",
];

impl Connect {
    /// Connect over the API's services (and health checking), with request bodies of at
    /// most `max_message_bytes` that must arrive within `body_deadline`.
    pub fn new(max_message_bytes: usize, body_deadline: Duration) -> Result<Connect, JsonError> {
        let mut pool = json::pool()?.clone();
        pool.decode_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .map_err(|e| JsonError::Descriptors(e.to_string()))?;
        Ok(Connect {
            pool,
            max_message_bytes,
            body_deadline,
        })
    }

    /// The methods Connect can reach, as `/<service>/<method>` paths.
    pub fn method_paths(&self) -> Vec<String> {
        self.pool
            .services()
            .flat_map(|s| {
                s.methods()
                    .map(|m| format!("/{}/{}", s.full_name(), m.name()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Serves one Connect call; `grpc` sends a gRPC request through the gRPC stack.
    pub async fn call<F, Fut>(&self, req: Request<Body>, grpc: F) -> Response<Body>
    where
        F: FnOnce(Request<Body>) -> Fut,
        Fut: Future<Output = Result<Response<Body>, ()>>,
    {
        let id = RequestId::from_headers(req.headers());
        let path = req.uri().path().to_owned();
        let (method, codec, grpc_req) = match self.prepare(req, &id).await {
            Ok(x) => x,
            Err(r) => {
                let bounded = reply::bound(&r.status, &id);
                tracing::info!(
                    request_id = %id, method = %path, code = ?bounded.code(),
                    "connect call refused before the gRPC stack"
                );
                let mut resp = error::error_response(&bounded);
                if let Some(s) = r.http {
                    *resp.status_mut() = s;
                }
                if let Some((name, value)) = r.header {
                    resp.headers_mut()
                        .insert(name, HeaderValue::from_static(value));
                }
                return resp;
            }
        };
        match grpc(grpc_req).await {
            Ok(resp) => finish(resp, &method, codec).await,
            Err(()) => error::error_response(&Status::internal("the gRPC stack failed")),
        }
    }

    /// Checks the request and turns it into the gRPC request of the same call.
    async fn prepare(
        &self,
        req: Request<Body>,
        id: &RequestId,
    ) -> Result<(MethodDescriptor, Codec, Request<Body>), Refusal> {
        let path = req.uri().path();
        let method = self.method(path)?;
        if req.method() != Method::POST {
            return Err(Refusal::new(Status::unimplemented(
                "Connect calls are POST requests; this server does not serve Connect's GET form",
            ))
            .with(
                StatusCode::METHOD_NOT_ALLOWED,
                Some((header::ALLOW, "POST")),
            ));
        }
        let codec = codec_of(req.headers(), &method)?;
        check_headers(req.headers())?;
        let timeout = timeout_of(req.headers())?;
        let (parts, body) = req.into_parts();
        let raw = read_limited(body, self.max_message_bytes, self.body_deadline)
            .await
            .map_err(|e| body_refusal(&e, self.max_message_bytes))?;
        let message = match codec {
            Codec::Proto => raw,
            Codec::Json => Bytes::from(json_to_proto(&method, &raw)?),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &parts.headers {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        if let Ok(v) = HeaderValue::from_str(id.as_str()) {
            headers.insert(request_id::HEADER, v);
        }
        if let Some(ms) = timeout
            && let Ok(v) = HeaderValue::from_str(&format!("{ms}m"))
        {
            headers.insert("grpc-timeout", v);
        }
        let mut grpc = Request::new(Body::new(Full::new(frame::encode(0, &message))));
        *grpc.method_mut() = Method::POST;
        *grpc.uri_mut() = parts.uri;
        *grpc.version_mut() = http::Version::HTTP_2;
        *grpc.headers_mut() = headers;
        *grpc.extensions_mut() = parts.extensions;
        Ok((method, codec, grpc))
    }

    /// The method at `path`.
    fn method(&self, path: &str) -> Result<MethodDescriptor, Refusal> {
        let unknown = || {
            Refusal::new(Status::unimplemented(format!(
                "no method {}; paths are /<package>.<Service>/<Method>, e.g. \
                 /clearinghouse.v1.NeedService/GetNeed",
                crate::app::short(path)
            )))
            .with(StatusCode::NOT_FOUND, None)
        };
        let (service, name) = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .ok_or_else(unknown)?;
        self.pool
            .get_service_by_name(service)
            .and_then(|s| s.methods().find(|m| m.name() == name))
            .ok_or_else(unknown)
    }
}

/// The codec the request's content type names, refusing the streaming ones.
fn codec_of(headers: &HeaderMap, method: &MethodDescriptor) -> Result<Codec, Refusal> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let codec = match media.as_str() {
        "application/json" => Some(Codec::Json),
        "application/proto" => Some(Codec::Proto),
        _ => None,
    };
    if method.is_server_streaming() || method.is_client_streaming() {
        return Err(Refusal::new(Status::unimplemented(format!(
            "{} streams its reply; call it over gRPC or gRPC-Web (Connect serves unary methods)",
            method.name()
        ))));
    }
    codec.ok_or_else(|| {
        Refusal::new(Status::unimplemented(format!(
            "content type '{}' is not served; send Content-Type: application/json (or application/proto)",
            crate::app::short(ct)
        )))
        .with(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some((
                HeaderName::from_static("accept-post"),
                "application/json, application/proto",
            )),
        )
    })
}

/// Refuses compression and a protocol version other than 1.
fn check_headers(headers: &HeaderMap) -> Result<(), Refusal> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if encoding.is_some_and(|e| !e.eq_ignore_ascii_case("identity")) {
        return Err(Refusal::new(Status::unimplemented(
            "compressed request bodies are not served; send the body uncompressed",
        ))
        .with(
            StatusCode::NOT_IMPLEMENTED,
            Some((header::ACCEPT_ENCODING, "identity")),
        ));
    }
    match headers
        .get("connect-protocol-version")
        .map(HeaderValue::as_bytes)
    {
        None | Some(b"1") => Ok(()),
        Some(_) => {
            Err(ApiError::invalid("connect-protocol-version", "must be 1 (or left out)").into())
        }
    }
}

/// The `Connect-Timeout-Ms` header, if any.
fn timeout_of(headers: &HeaderMap) -> Result<Option<u64>, Refusal> {
    let Some(v) = headers.get("connect-timeout-ms") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .filter(|s| (1..=10).contains(&s.len()))
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                "connect-timeout-ms",
                "must be a positive whole number of milliseconds, at most 10 digits",
            )
            .into()
        })
}

fn body_refusal(e: &BodyError, limit: usize) -> Refusal {
    match e {
        BodyError::TooLarge { .. } => Refusal::new(Status::resource_exhausted(format!(
            "the request body is over the {limit}-byte message limit"
        ))),
        BodyError::TimedOut(_) => Refusal::new(Status::deadline_exceeded(e.to_string())),
        BodyError::Broken(_) => Refusal::new(Status::cancelled(e.to_string())),
    }
}

/// The JSON body as the protobuf bytes of the method's input (an empty body is `{}`).
fn json_to_proto(method: &MethodDescriptor, raw: &[u8]) -> Result<Vec<u8>, Refusal> {
    let input = method.input();
    let text: &[u8] = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        raw
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed = DynamicMessage::deserialize(input.clone(), &mut de).and_then(|m| {
        de.end()?;
        Ok(m)
    });
    match parsed {
        Ok(m) => Ok(m.encode_to_vec()),
        Err(e) => Err(ApiError::invalid(
            "body",
            format!("is not a {} in the proto3 JSON mapping: {e}", input.name()),
        )
        .into()),
    }
}

/// Turns the gRPC reply into the Connect reply.
async fn finish(resp: Response<Body>, method: &MethodDescriptor, codec: Codec) -> Response<Body> {
    let (parts, body) = resp.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers)
        && status.code() != Code::Ok
    {
        return error::error_response(&status);
    }
    if parts.status != StatusCode::OK {
        return error::error_response(&Status::internal(format!(
            "the gRPC stack answered HTTP {}",
            parts.status
        )));
    }
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(status) => return error::error_response(&status),
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    match Status::from_header_map(&trailers) {
        Some(s) if s.code() == Code::Ok => {}
        Some(s) => return error::error_response(&s),
        None => {
            return error::error_response(&Status::internal("the gRPC reply had no status"));
        }
    }
    let data = collected.to_bytes();
    let message = match frame::single(&data) {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => return error::error_response(&Status::internal(e.to_string())),
    };
    let body = match codec {
        Codec::Proto => Bytes::copy_from_slice(message),
        Codec::Json => match proto_to_json(method, message) {
            Ok(b) => b,
            Err(e) => return error::error_response(&Status::internal(e)),
        },
    };
    let mut out = super::body::bytes(StatusCode::OK, codec.content_type(), body);
    copy_metadata(&parts.headers, out.headers_mut(), "");
    copy_metadata(&trailers, out.headers_mut(), "trailer-");
    out
}

/// The output message as proto3 JSON.
fn proto_to_json(method: &MethodDescriptor, message: &[u8]) -> Result<Bytes, String> {
    let msg = DynamicMessage::decode(method.output(), message).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    msg.serialize_with_options(&mut ser, &SerializeOptions::new())
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

/// Copies the call's custom metadata (not gRPC's own headers) under `prefix`.
fn copy_metadata(from: &HeaderMap, to: &mut HeaderMap, prefix: &str) {
    for (name, value) in from {
        let n = name.as_str();
        if n.starts_with("grpc-") || n.ends_with("-bin") || NOT_FORWARDED.contains(&n) {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(format!("{prefix}{n}").as_bytes()) {
            to.append(name, value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect() -> Connect {
        Connect::new(1024, Duration::from_secs(5)).expect("connect")
    }

    #[test]
    fn every_rpc_of_the_api_is_reachable_and_in_the_method_table() {
        let c = connect();
        let paths = c.method_paths();
        for (m, _) in crate::auth::table::METHOD_ROLES {
            assert!(
                paths.iter().any(|p| p == m),
                "{m} is not reachable over Connect"
            );
        }
        for p in paths.iter().filter(|p| p.starts_with("/clearinghouse.")) {
            assert!(
                crate::auth::table::allowed_roles(p).is_some(),
                "{p} is reachable over Connect but missing from the method table"
            );
        }
    }

    #[test]
    fn json_bodies_take_both_spellings_and_refuse_unknown_fields() {
        let c = connect();
        let m = c
            .method("/clearinghouse.v1.NeedService/ListNeeds")
            .expect("method");
        let a = json_to_proto(&m, br#"{"pageSize": 3, "country_code": "KEN"}"#).expect("json");
        let b = json_to_proto(&m, br#"{"page_size": 3, "countryCode": "KEN"}"#).expect("json");
        assert_eq!(a, b);
        let bad = json_to_proto(&m, br#"{"pageSise": 3}"#).expect_err("unknown field");
        assert_eq!(bad.status.code(), Code::InvalidArgument);
        assert!(
            bad.status.message().contains("pageSise"),
            "{}",
            bad.status.message()
        );
        assert_eq!(json_to_proto(&m, b"  ").expect("empty"), Vec::<u8>::new());
    }

    #[test]
    fn unknown_paths_and_streaming_methods_are_refused_with_reasons() {
        let c = connect();
        let e = c
            .method("/clearinghouse.v1.NeedService/DropEverything")
            .expect_err("unknown");
        assert_eq!(e.status.code(), Code::Unimplemented);
        let watch = c
            .method("/clearinghouse.v1.MatchService/WatchMatches")
            .expect("method");
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let e = codec_of(&h, &watch).expect_err("streaming");
        assert!(
            e.status.message().contains("gRPC-Web"),
            "{}",
            e.status.message()
        );
        let get = c
            .method("/clearinghouse.v1.NeedService/GetNeed")
            .expect("m");
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let e = codec_of(&h, &get).expect_err("form bodies");
        assert_eq!(e.http, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert_eq!(codec_of(&h, &get).expect("json"), Codec::Json);
    }

    #[test]
    fn output_is_the_canonical_proto3_json() {
        let c = connect();
        let m = c
            .method("/clearinghouse.v1.NeedService/GetNeed")
            .expect("m");
        let need = crate::pb::GetNeedResponse {
            need: Some(crate::pb::Need {
                id: "N1".into(),
                estimated_budget: Some(crate::pb::Money {
                    currency_code: "USD".into(),
                    minor_units: 5,
                }),
                status: crate::pb::NeedStatus::Draft as i32,
                ..Default::default()
            }),
        };
        let out = proto_to_json(&m, &need.encode_to_vec()).expect("json");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("parse");
        assert_eq!(v["need"]["estimatedBudget"]["minorUnits"], "5");
        assert_eq!(v["need"]["status"], "NEED_STATUS_DRAFT");
    }
}
