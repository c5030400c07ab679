//! Static files of the console, compiled into the binary: its one stylesheet (no fonts,
//! images or scripts are fetched from anywhere, so the console works offline).

use http::{HeaderValue, Response, StatusCode, header};
use prost::bytes::Bytes;
use tonic::body::Body;

use crate::http::body;

/// The console's stylesheet.
pub const CSS: &str = include_str!("assets/console.css");

/// Serves the asset named `name`.
pub fn serve(name: &str) -> Response<Body> {
    match name {
        "console.css" => {
            let mut r = body::bytes(
                StatusCode::OK,
                "text/css; charset=utf-8",
                Bytes::from_static(CSS.as_bytes()),
            );
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            r
        }
        _ => body::text(StatusCode::NOT_FOUND, "no such asset\n"),
    }
}
