//! Service configuration: TOML file, then environment overrides, then flags.
//! [`Config::validate`] reports every problem at once.

mod storage;

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

pub use storage::{Storage, redact_url};

/// Everything the server needs to start.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded store.
    pub data_dir: PathBuf,
    /// sled page cache, in MiB.
    pub cache_capacity_mib: u64,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Seconds at least between saves of the matching index to its file in `data_dir`
    /// (a start loads it and applies only the audit entries after it); 0 keeps no file.
    pub index_save_secs: u64,
    /// Transport and abuse limits.
    pub limits: Limits,
    /// TCP connection handling: how many, how long they may stay silent or idle.
    pub connections: Connections,
    /// TLS on the listener (off unless a certificate and key are set).
    pub tls: Tls,
    /// The Prometheus endpoint (off unless an address is set).
    pub metrics: Metrics,
    /// The storage engine: sled in `data_dir` unless a database URL is set.
    pub storage: Storage,
}

/// Whether clients must present a certificate from `client_ca`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A client may connect without a certificate; one it presents must verify.
    Optional,
    /// Every client must present a certificate that verifies.
    Required,
}

/// TLS on the gRPC listener: PEM files. Without `cert` and `key` the listener speaks
/// plain text. With `client_ca`, client certificates are verified against it (mutual
/// TLS), `client_auth` deciding whether one is required (the default) or optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// The server's certificate chain, leaf first (PEM).
    pub cert: Option<PathBuf>,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// CA certificates that client certificates must chain to (PEM); turns on mutual TLS.
    pub client_ca: Option<PathBuf>,
    /// `optional` or `required` (default `required` when `client_ca` is set).
    pub client_auth: Option<ClientAuth>,
}

impl Tls {
    /// Whether the listener speaks TLS.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }

    fn check(&self, p: &mut Vec<String>) {
        match (&self.cert, &self.key) {
            (Some(_), None) => p.push("tls.cert is set without tls.key".to_owned()),
            (None, Some(_)) => p.push("tls.key is set without tls.cert".to_owned()),
            _ => {}
        }
        if self.client_ca.is_some() && self.cert.is_none() {
            p.push(
                "tls.client_ca is set without tls.cert and tls.key (mutual TLS needs server TLS)"
                    .to_owned(),
            );
        }
        if self.client_auth.is_some() && self.client_ca.is_none() {
            p.push("tls.client_auth is set without tls.client_ca".to_owned());
        }
        for (name, path) in [
            ("cert", &self.cert),
            ("key", &self.key),
            ("client_ca", &self.client_ca),
        ] {
            if path.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
                p.push(format!("tls.{name} must not be empty"));
            }
        }
    }
}

/// The Prometheus endpoint: `GET /metrics` in the text exposition format, on its own
/// address so that it can stay on a private interface.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    /// Address of the endpoint; none turns it off.
    pub listen: Option<SocketAddr>,
    /// Seconds between samples of the store (size, records by kind and status) and of
    /// the matching index.
    pub sample_interval_secs: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            listen: None,
            sample_interval_secs: 30,
        }
    }
}

/// Transport and abuse limits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request message, bytes.
    pub max_message_bytes: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Seconds before a request is cut off.
    pub request_timeout_secs: u64,
    /// Sustained requests per second allowed per principal.
    pub rate_per_principal: u32,
    /// Burst allowance per principal.
    pub burst_per_principal: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1024 * 1024,
            max_concurrent_streams: 256,
            request_timeout_secs: 30,
            rate_per_principal: 2000,
            burst_per_principal: 4000,
        }
    }
}

/// TCP connection handling. Every accepted socket counts against `max_connections` until
/// it closes; a socket that has not sent the HTTP/2 preface (or an HTTP/1 request line)
/// and its first request within `handshake_timeout_ms`, or that has had no call in flight
/// for `idle_timeout_ms`, is closed.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Connections {
    /// Open connections at most (handshaking ones included); past it the server stops
    /// accepting until one closes. Keep it below the process's open-file limit.
    pub max_connections: usize,
    /// Milliseconds a new connection has to send the HTTP/2 preface or an HTTP/1 request
    /// line, and then again to start its first call.
    pub handshake_timeout_ms: u64,
    /// Milliseconds a connection may stay with no call in flight before it is closed.
    pub idle_timeout_ms: u64,
    /// Milliseconds between HTTP/2 PINGs the server sends on an open connection.
    pub http2_keepalive_interval_ms: u64,
    /// Milliseconds to wait for a PING's acknowledgement before closing the connection.
    pub http2_keepalive_timeout_ms: u64,
    /// Seconds of silence before the kernel starts TCP keepalive probes (0: off).
    pub tcp_keepalive_secs: u64,
    /// Seconds between TCP keepalive probes.
    pub tcp_keepalive_interval_secs: u64,
    /// Unanswered TCP keepalive probes before the kernel drops the connection.
    pub tcp_keepalive_retries: u32,
    /// Longest pause, in milliseconds, after `accept` fails for lack of resources (such as
    /// file descriptors); pauses double from 5 ms up to this.
    pub accept_backoff_max_ms: u64,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            max_connections: 4096,
            handshake_timeout_ms: 10_000,
            idle_timeout_ms: 300_000,
            http2_keepalive_interval_ms: 30_000,
            http2_keepalive_timeout_ms: 20_000,
            tcp_keepalive_secs: 60,
            tcp_keepalive_interval_secs: 10,
            tcp_keepalive_retries: 5,
            accept_backoff_max_ms: 1_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("./clearinghouse-data"),
            cache_capacity_mib: 256,
            log_format: "text".to_owned(),
            index_save_secs: 30,
            limits: Limits::default(),
            connections: Connections::default(),
            tls: Tls::default(),
            metrics: Metrics::default(),
            storage: Storage::default(),
        }
    }
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies `CLEARINGHOUSE_*` environment overrides from `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        let mut problems = Vec::new();
        if let Some(v) = get("CLEARINGHOUSE_LISTEN") {
            match v.parse() {
                Ok(a) => self.listen = a,
                Err(e) => problems.push(format!("CLEARINGHOUSE_LISTEN={v}: {e}")),
            }
        }
        if let Some(v) = get("CLEARINGHOUSE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("CLEARINGHOUSE_CACHE_CAPACITY_MIB") {
            match v.parse() {
                Ok(n) => self.cache_capacity_mib = n,
                Err(e) => problems.push(format!("CLEARINGHOUSE_CACHE_CAPACITY_MIB={v}: {e}")),
            }
        }
        if let Some(v) = get("CLEARINGHOUSE_LOG_FORMAT") {
            self.log_format = v;
        }
        for (var, slot) in [
            ("CLEARINGHOUSE_TLS_CERT", &mut self.tls.cert),
            ("CLEARINGHOUSE_TLS_KEY", &mut self.tls.key),
            ("CLEARINGHOUSE_TLS_CLIENT_CA", &mut self.tls.client_ca),
        ] {
            if let Some(v) = get(var) {
                // An empty value turns the setting off.
                *slot = (!v.is_empty()).then(|| PathBuf::from(v));
            }
        }
        if let Some(v) = get("CLEARINGHOUSE_TLS_CLIENT_AUTH") {
            match v.as_str() {
                "" => self.tls.client_auth = None,
                "optional" => self.tls.client_auth = Some(ClientAuth::Optional),
                "required" => self.tls.client_auth = Some(ClientAuth::Required),
                _ => problems.push(format!(
                    "CLEARINGHOUSE_TLS_CLIENT_AUTH={v}: use optional or required"
                )),
            }
        }
        if let Some(v) = get("CLEARINGHOUSE_METRICS_LISTEN") {
            if v.is_empty() {
                self.metrics.listen = None;
            } else {
                match v.parse() {
                    Ok(a) => self.metrics.listen = Some(a),
                    Err(e) => problems.push(format!("CLEARINGHOUSE_METRICS_LISTEN={v}: {e}")),
                }
            }
        }
        self.storage.apply_env(&get, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Checks every setting, listing each problem.
    pub fn validate(&self) -> Result<(), String> {
        let mut p = Vec::new();
        if self.cache_capacity_mib < 8 {
            p.push("cache_capacity_mib must be at least 8".to_owned());
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            p.push(format!(
                "log_format is '{}'; use text or json",
                self.log_format
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            p.push("data_dir must not be empty".to_owned());
        }
        let l = &self.limits;
        if !(64 * 1024..=16 * 1024 * 1024).contains(&l.max_message_bytes) {
            p.push("limits.max_message_bytes must be between 65536 and 16777216".to_owned());
        }
        if l.max_concurrent_streams == 0 {
            p.push("limits.max_concurrent_streams must be positive".to_owned());
        }
        if l.request_timeout_secs == 0 {
            p.push("limits.request_timeout_secs must be positive".to_owned());
        }
        if l.rate_per_principal == 0 || l.burst_per_principal == 0 {
            p.push("limits.rate_per_principal and burst_per_principal must be positive".to_owned());
        }
        self.connections.check(&mut p);
        self.tls.check(&mut p);
        self.storage.check(&mut p);
        if !(1..=86_400).contains(&self.metrics.sample_interval_secs) {
            p.push("metrics.sample_interval_secs must be between 1 and 86400".to_owned());
        }
        if self
            .metrics
            .listen
            .is_some_and(|m| m == self.listen && m.port() != 0)
        {
            p.push("metrics.listen must differ from listen".to_owned());
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(p.join("; "))
        }
    }
}

impl Connections {
    fn check(&self, p: &mut Vec<String>) {
        if self.max_connections == 0 {
            p.push("connections.max_connections must be positive".to_owned());
        }
        const DAY_MS: u64 = 86_400_000;
        for (name, ms) in [
            ("handshake_timeout_ms", self.handshake_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            (
                "http2_keepalive_interval_ms",
                self.http2_keepalive_interval_ms,
            ),
            (
                "http2_keepalive_timeout_ms",
                self.http2_keepalive_timeout_ms,
            ),
        ] {
            if !(1..=DAY_MS).contains(&ms) {
                p.push(format!(
                    "connections.{name} must be positive and at most {DAY_MS} (one day)"
                ));
            }
        }
        if self.tcp_keepalive_secs > 86_400 || self.tcp_keepalive_interval_secs > 86_400 {
            p.push(
                "connections.tcp_keepalive_secs and tcp_keepalive_interval_secs must be at most 86400"
                    .to_owned(),
            );
        }
        if self.tcp_keepalive_secs > 0
            && (self.tcp_keepalive_interval_secs == 0 || self.tcp_keepalive_retries == 0)
        {
            p.push(
                "connections.tcp_keepalive_interval_secs and tcp_keepalive_retries must be positive when tcp_keepalive_secs is set"
                    .to_owned(),
            );
        }
        if !(5..=60_000).contains(&self.accept_backoff_max_ms) {
            p.push("connections.accept_backoff_max_ms must be between 5 and 60000".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_validates() {
        let text = include_str!("../deploy/config.example.toml");
        let cfg = Config::from_toml(text).expect("example parses");
        cfg.validate().expect("example is valid");
        assert_eq!(cfg.listen.port(), 50051);
        assert!(
            !cfg.tls.enabled(),
            "the example serves plain text on loopback"
        );
        assert_eq!(cfg.metrics.listen, None, "the example leaves metrics off");
    }

    #[test]
    fn env_overrides_and_every_problem_is_listed() {
        let mut cfg = Config::default();
        cfg.apply_env(|k| match k {
            "CLEARINGHOUSE_LISTEN" => Some("127.0.0.1:6000".into()),
            "CLEARINGHOUSE_LOG_FORMAT" => Some("xml".into()),
            _ => None,
        })
        .expect("env");
        assert_eq!(cfg.listen.port(), 6000);
        cfg.cache_capacity_mib = 1;
        let err = cfg.validate().expect_err("two problems");
        assert!(err.contains("cache_capacity_mib") && err.contains("log_format"));
        assert!(Config::from_toml("nonsense = 1").is_err());
    }

    #[test]
    fn tls_half_configured_is_refused_naming_the_missing_half() {
        let cert_only = Config::from_toml("[tls]\ncert = \"/etc/ch/cert.pem\"").expect("parses");
        let err = cert_only.validate().expect_err("no key");
        assert!(err.contains("tls.cert is set without tls.key"), "{err}");
        let key_only = Config::from_toml("[tls]\nkey = \"/etc/ch/key.pem\"").expect("parses");
        let err = key_only.validate().expect_err("no cert");
        assert!(err.contains("tls.key is set without tls.cert"), "{err}");
        let ca_only = Config::from_toml("[tls]\nclient_ca = \"/etc/ch/ca.pem\"").expect("parses");
        let err = ca_only.validate().expect_err("no server TLS");
        assert!(
            err.contains("tls.client_ca is set without tls.cert"),
            "{err}"
        );
        let auth_only = Config::from_toml(
            "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nclient_auth = \"optional\"",
        )
        .expect("parses");
        let err = auth_only.validate().expect_err("no client CA");
        assert!(
            err.contains("tls.client_auth is set without tls.client_ca"),
            "{err}"
        );
        assert!(
            Config::from_toml("[tls]\nclient_auth = \"sometimes\"").is_err(),
            "only optional and required"
        );
        let full = Config::from_toml(
            "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nclient_ca = \"ca.pem\"\nclient_auth = \"required\"",
        )
        .expect("parses");
        full.validate().expect("complete TLS settings are valid");
        assert!(full.tls.enabled());
        assert_eq!(full.tls.client_auth, Some(ClientAuth::Required));
    }

    #[test]
    fn tls_and_metrics_settings_come_from_the_environment_too() {
        let mut cfg = Config::default();
        cfg.apply_env(|k| match k {
            "CLEARINGHOUSE_TLS_CERT" => Some("/run/tls/cert.pem".into()),
            "CLEARINGHOUSE_TLS_KEY" => Some("/run/tls/key.pem".into()),
            "CLEARINGHOUSE_TLS_CLIENT_CA" => Some("/run/tls/ca.pem".into()),
            "CLEARINGHOUSE_TLS_CLIENT_AUTH" => Some("optional".into()),
            "CLEARINGHOUSE_METRICS_LISTEN" => Some("127.0.0.1:9464".into()),
            _ => None,
        })
        .expect("env");
        assert_eq!(cfg.tls.cert, Some(PathBuf::from("/run/tls/cert.pem")));
        assert_eq!(cfg.tls.key, Some(PathBuf::from("/run/tls/key.pem")));
        assert_eq!(cfg.tls.client_ca, Some(PathBuf::from("/run/tls/ca.pem")));
        assert_eq!(cfg.tls.client_auth, Some(ClientAuth::Optional));
        assert_eq!(cfg.metrics.listen.map(|a| a.port()), Some(9464));
        cfg.validate().expect("valid");
        let err = cfg
            .apply_env(|k| (k == "CLEARINGHOUSE_TLS_CLIENT_AUTH").then(|| "always".into()))
            .expect_err("bad value");
        assert!(err.contains("CLEARINGHOUSE_TLS_CLIENT_AUTH"), "{err}");
        cfg.apply_env(|k| (k == "CLEARINGHOUSE_METRICS_LISTEN").then(String::new))
            .expect("empty turns it off");
        assert_eq!(cfg.metrics.listen, None);
    }

    #[test]
    fn connection_settings_parse_and_zero_limits_are_refused() {
        let cfg = Config::from_toml(
            "[connections]\nmax_connections = 8\nhandshake_timeout_ms = 200\nidle_timeout_ms = 300",
        )
        .expect("parses");
        assert_eq!(cfg.connections.max_connections, 8);
        assert_eq!(cfg.connections.handshake_timeout_ms, 200);
        assert_eq!(
            cfg.connections.http2_keepalive_interval_ms,
            Connections::default().http2_keepalive_interval_ms
        );
        cfg.validate().expect("valid");
        let mut bad = cfg;
        bad.connections.max_connections = 0;
        bad.connections.idle_timeout_ms = 0;
        let err = bad.validate().expect_err("two problems");
        assert!(err.contains("max_connections") && err.contains("idle_timeout_ms"));
    }
}
