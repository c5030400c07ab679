//! `[storage]`: which engine the server opens. Without `database_url` it is the embedded
//! store in `data_dir` (one process; `engine`: sled, the default, or redb); with one, the shared PostgreSQL engine, so
//! that several stateless replicas can serve one database. The URL may carry a password:
//! it is never shown whole ([`redact_url`], the `Debug` of [`Storage`]).

use std::{fmt, path::PathBuf, time::Duration};

use serde::Deserialize;

use clearinghouse_storage::{Embedded, PostgresOptions};

/// The storage engine and, for PostgreSQL, how to reach it.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    /// The embedded engine of `data_dir` when no database URL is set: `sled` (the
    /// default) or `redb`. A data directory holding the other engine's store is refused.
    pub engine: String,
    /// `postgres://user:password@host:port/db?sslmode=disable|prefer|require` (or the
    /// libpq `key=value` form); none keeps the embedded sled store.
    pub database_url: Option<String>,
    /// Schema holding the engine's tables (several deployments may share a database).
    pub schema: String,
    /// Most pooled connections per replica (each is one server backend).
    pub pool_size: u32,
    /// Idle connections each replica keeps open.
    pub min_idle_connections: u32,
    /// Milliseconds to establish one connection.
    pub connect_timeout_ms: u64,
    /// Milliseconds a call waits for a pooled connection before failing UNAVAILABLE.
    pub acquire_timeout_ms: u64,
    /// PEM roots trusted for TLS to the database (the system's roots when unset); the
    /// URL's `sslmode` decides whether TLS is used.
    pub tls_ca_file: Option<PathBuf>,
    /// Milliseconds between catch-up reads of the audit trail when no notification
    /// arrives (the bound on how late a missed notification makes a replica).
    pub feed_poll_ms: u64,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            engine: Embedded::default().name().to_owned(),
            database_url: None,
            schema: "clearinghouse".to_owned(),
            pool_size: 16,
            min_idle_connections: 2,
            connect_timeout_ms: 5_000,
            acquire_timeout_ms: 5_000,
            tls_ca_file: None,
            feed_poll_ms: 1_000,
        }
    }
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("engine", &self.engine)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("min_idle_connections", &self.min_idle_connections)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("feed_poll_ms", &self.feed_poll_ms)
            .finish()
    }
}

impl Storage {
    /// The embedded engine `engine` names (sled when it names none: [`Storage::check`]
    /// reports that).
    pub fn embedded(&self) -> Embedded {
        Embedded::parse(&self.engine).unwrap_or_default()
    }

    /// Whether the server opens the shared PostgreSQL engine.
    pub fn is_postgres(&self) -> bool {
        self.database_url.is_some()
    }

    /// The PostgreSQL engine's options, when a database URL is set.
    pub fn postgres_options(&self) -> Option<PostgresOptions> {
        let url = self.database_url.as_ref()?;
        Some(PostgresOptions {
            schema: self.schema.clone(),
            max_connections: self.pool_size,
            min_idle_connections: self.min_idle_connections,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
            tls_ca_file: self.tls_ca_file.clone(),
            ..PostgresOptions::new(url.clone())
        })
    }

    /// Applies `CLEARINGHOUSE_STORAGE_ENGINE`, `CLEARINGHOUSE_DATABASE_URL`, `CLEARINGHOUSE_DATABASE_SCHEMA`,
    /// `CLEARINGHOUSE_DATABASE_POOL_SIZE` and `CLEARINGHOUSE_DATABASE_TLS_CA_FILE` (an
    /// empty value unsets the URL and the CA file).
    pub(super) fn apply_env(&mut self, get: &impl Fn(&str) -> Option<String>, p: &mut Vec<String>) {
        if let Some(v) = get("CLEARINGHOUSE_STORAGE_ENGINE") {
            self.engine = v;
        }
        if let Some(v) = get("CLEARINGHOUSE_DATABASE_URL") {
            self.database_url = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = get("CLEARINGHOUSE_DATABASE_SCHEMA") {
            self.schema = v;
        }
        if let Some(v) = get("CLEARINGHOUSE_DATABASE_POOL_SIZE") {
            match v.parse() {
                Ok(n) => self.pool_size = n,
                Err(e) => p.push(format!("CLEARINGHOUSE_DATABASE_POOL_SIZE={v}: {e}")),
            }
        }
        if let Some(v) = get("CLEARINGHOUSE_DATABASE_TLS_CA_FILE") {
            self.tls_ca_file = (!v.is_empty()).then(|| PathBuf::from(v));
        }
    }

    /// Lists every problem of the section.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        if let Err(e) = self.engine.parse::<Embedded>() {
            p.push(format!("storage.engine: {e}"));
        }
        if self
            .database_url
            .as_ref()
            .is_some_and(|u| u.trim().is_empty())
        {
            p.push("storage.database_url must not be empty (leave it out for sled)".to_owned());
        }
        if self.pool_size == 0 || self.pool_size > 1_000 {
            p.push("storage.pool_size must be between 1 and 1000".to_owned());
        }
        if self.min_idle_connections > self.pool_size {
            p.push("storage.min_idle_connections must not exceed storage.pool_size".to_owned());
        }
        for (name, ms) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("acquire_timeout_ms", self.acquire_timeout_ms),
            ("feed_poll_ms", self.feed_poll_ms),
        ] {
            if !(1..=600_000).contains(&ms) {
                p.push(format!("storage.{name} must be between 1 and 600000"));
            }
        }
        if let Some(opts) = self.postgres_options()
            && let Err(e) = opts.check()
        {
            p.push(format!("storage: {}", redact_url(&e.to_string())));
        }
    }
}

/// `text` with the password of any connection URL (`scheme://user:password@`) or libpq
/// `password=` setting in it replaced by `***`, for logs and error messages.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '?')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    redact_keyword_password(&out)
}

/// Replaces the value of libpq's `password=` keyword (quoted or not).
fn redact_keyword_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("password=") {
        let (head, tail) = rest.split_at(i + "password=".len());
        out.push_str(head);
        out.push_str("***");
        let end = if let Some(quoted) = tail.strip_prefix('\'') {
            quoted.find('\'').map_or(tail.len(), |j| j + 2)
        } else {
            tail.find(|c: char| c.is_whitespace() || c == '&')
                .unwrap_or(tail.len())
        };
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_urls_or_keyword_strings() {
        assert_eq!(
            redact_url("postgres://ch:s3cret@db.example:5432/reg?sslmode=require"),
            "postgres://ch:***@db.example:5432/reg?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://ch@db/reg"),
            "postgres://ch@db/reg",
            "nothing to hide"
        );
        assert_eq!(
            redact_url("host=db user=ch password='a b' dbname=reg"),
            "host=db user=ch password=*** dbname=reg"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?password=x&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        let s = Storage {
            database_url: Some("postgresql://ch:hunter2@10.0.0.5/reg".into()),
            ..Storage::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("10.0.0.5"), "{shown}");
    }

    #[test]
    fn settings_come_from_the_environment_and_problems_are_listed() {
        let mut s = Storage::default();
        let mut p = Vec::new();
        s.apply_env(
            &|k| match k {
                "CLEARINGHOUSE_DATABASE_URL" => Some("postgres://ch@db/reg".into()),
                "CLEARINGHOUSE_DATABASE_POOL_SIZE" => Some("4".into()),
                "CLEARINGHOUSE_DATABASE_SCHEMA" => Some("Bad-Name".into()),
                _ => None,
            },
            &mut p,
        );
        assert!(p.is_empty(), "{p:?}");
        assert!(s.is_postgres());
        assert_eq!(s.pool_size, 4);
        s.check(&mut p);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("schema"), "{p:?}");
        let opts = Storage::default();
        assert!(opts.postgres_options().is_none(), "sled by default");
        assert_eq!(opts.embedded(), Embedded::Sled);
    }

    #[test]
    fn the_embedded_engine_is_named_in_the_file_or_the_environment() {
        let mut s: Storage = toml::from_str("engine = \"redb\"").expect("parse");
        assert_eq!(s.embedded(), Embedded::Redb);
        let mut p = Vec::new();
        s.apply_env(
            &|k| (k == "CLEARINGHOUSE_STORAGE_ENGINE").then(|| "rocksdb".to_owned()),
            &mut p,
        );
        s.check(&mut p);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("storage.engine") && p[0].contains("sled, redb"),
            "{p:?}"
        );
    }
}
