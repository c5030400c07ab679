//! Service configuration: TOML file, then environment overrides, then flags.
//! [`Config::validate`] reports every problem at once.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

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
    /// Transport and abuse limits.
    pub limits: Limits,
    /// TCP connection handling: how many, how long they may stay silent or idle.
    pub connections: Connections,
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
            limits: Limits::default(),
            connections: Connections::default(),
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
