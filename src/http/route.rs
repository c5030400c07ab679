//! Which part of the server a request is for, from its content type and path alone (no
//! body is read): gRPC and gRPC-Web by content type, the console by path, Connect by the
//! shape of an RPC path.

use http::{Method, Request, header};

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// gRPC or gRPC-Web: the gRPC stack.
    Grpc,
    /// A Connect call: `/<package>.<Service>/<Method>`.
    Connect,
    /// The web console, under `/console/`.
    Console,
    /// `/` (or `/console` without its slash): a redirect to the console.
    Root,
    /// Anything else.
    NotFound,
}

/// Prefix of every console path.
pub const CONSOLE_PREFIX: &str = "/console/";

/// Whether `path` looks like an RPC: `/<dotted service name>/<method>`.
pub fn is_rpc_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let Some((service, method)) = rest.split_once('/') else {
        return false;
    };
    service.contains('.')
        && !method.is_empty()
        && !method.contains('/')
        && service
            .bytes()
            .chain(method.bytes())
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

/// Routes `req`.
pub fn classify<B>(req: &Request<B>) -> Route {
    let grpc = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    let path = req.uri().path();
    if grpc {
        Route::Grpc
    } else if path.starts_with(CONSOLE_PREFIX) {
        Route::Console
    } else if path == "/" || path == "/console" {
        Route::Root
    } else if is_rpc_path(path) && (req.method() == Method::POST || req.method() == Method::GET) {
        Route::Connect
    } else {
        Route::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str, ct: Option<&str>) -> Request<()> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(()).expect("request")
    }

    #[test]
    fn requests_go_by_content_type_then_path() {
        let need = "/clearinghouse.v1.NeedService/CreateNeed";
        let cases = [
            (Method::POST, need, Some("application/grpc"), Route::Grpc),
            (
                Method::POST,
                need,
                Some("application/grpc-web+proto"),
                Route::Grpc,
            ),
            (Method::POST, need, Some("application/json"), Route::Connect),
            (
                Method::POST,
                need,
                Some("application/proto"),
                Route::Connect,
            ),
            (Method::POST, need, None, Route::Connect),
            (Method::GET, "/console/worklist", None, Route::Console),
            (Method::POST, "/console/sign-in", None, Route::Console),
            (Method::GET, "/", None, Route::Root),
            (Method::GET, "/console", None, Route::Root),
            (Method::GET, "/favicon.ico", None, Route::NotFound),
            (Method::DELETE, need, None, Route::NotFound),
            (Method::POST, "/a/b/c", None, Route::NotFound),
        ];
        for (m, path, ct, want) in cases {
            assert_eq!(
                classify(&req(m.clone(), path, ct)),
                want,
                "{m} {path} {ct:?}"
            );
        }
    }

    #[test]
    fn rpc_paths_have_a_dotted_service_and_a_plain_method() {
        assert!(is_rpc_path("/clearinghouse.v1.NeedService/GetNeed"));
        assert!(is_rpc_path("/grpc.health.v1.Health/Check"));
        for bad in [
            "/NeedService/GetNeed",
            "/a.b/",
            "/a.b/c/d",
            "/a.b/c%20d",
            "nope",
        ] {
            assert!(!is_rpc_path(bad), "{bad}");
        }
    }
}
