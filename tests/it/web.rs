//! A small HTTP/1.1 client for the HTTP edge and the console: requests with headers and
//! bodies, answers read whole, and a browser-like cookie jar (kept per client, sent back
//! on every request), plus the helpers that find and install the outside tools the tests
//! drive (`buf`, the Connect client for Node).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
};

use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use prost::bytes::Bytes;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// An HTTP/1.1 client with a cookie jar.
pub struct Web {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    pub cookies: BTreeMap<String, String>,
}

impl Web {
    /// A client of the server at `addr`.
    pub fn new(addr: SocketAddr) -> Web {
        Web {
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
            cookies: BTreeMap::new(),
        }
    }

    /// Sends a request and keeps the cookies it sets.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            b = b.header(header::COOKIE, jar.join("; "));
        }
        let req = b.body(Full::new(body.into())).expect("request");
        let resp = self.client.request(req).await.expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        let a = Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        };
        for c in a.set_cookies() {
            let first = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                if c.contains("Max-Age=0") || v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        a
    }

    /// GET `path`.
    pub async fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    /// POST a form to `path`.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await
    }

    /// POST JSON to `path` with a bearer key.
    pub async fn post_json(&mut self, path: &str, key: Option<&str>, json: &str) -> Answer {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut h = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            h.push(("authorization", a.as_str()));
        }
        self.send(Method::POST, path, &h, json.to_owned()).await
    }
}

/// The value of `name="…" value="…"` hidden input `name` in a page (the first one).
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Where the tests' outside tools live (`CI_TOOLS_DIR`, else `.ci/.tools`).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("CI_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/.tools"))
}

/// npm packages the tests drive, pinned.
pub const NPM_TOOLS: &[&str] = &[
    "@bufbuild/buf@1.75.0",
    "@bufbuild/protobuf@2.17.0",
    "@connectrpc/connect@2.2.0",
    "@connectrpc/connect-node@2.2.0",
];

/// Installs the pinned npm tools into [`tools_dir`] unless they are there (once per test
/// binary; `.ci/run` installs them too).
pub fn ensure_npm_tools() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tools_dir();
    let modules = dir.join("node_modules");
    let present = modules.join(".bin/buf").exists()
        && modules
            .join("@connectrpc/connect-node/package.json")
            .exists()
        && modules.join("@bufbuild/protobuf/package.json").exists();
    if !present {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&dir)
            .args(NPM_TOOLS)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm install of {NPM_TOOLS:?} failed");
    }
    dir
}
