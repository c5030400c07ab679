//! How to reach PostgreSQL: the connection URL (or libpq key=value string), the schema
//! that holds the engine's tables, pool limits, timeouts and TLS roots. Parsing and
//! validation only; nothing here connects.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use crate::error::Error;

/// Options of the PostgreSQL engine.
#[derive(Clone)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/dbname?sslmode=disable|prefer|require`, or the
    /// libpq `key=value` form. A host that is a path (`%2Frun%2Fpostgresql` in a URL,
    /// `host=/run/postgresql`) is a unix socket directory. With `prefer` (the default)
    /// and `require`, the server's certificate is verified against
    /// [`PostgresOptions::tls_ca_file`] or the system's roots, and its name against the
    /// host (like libpq's `verify-full`).
    pub url: String,
    /// Schema holding the engine's tables, created if missing. Several stores can share
    /// one database under different schemas.
    pub schema: String,
    /// Most pooled connections (each is one server backend).
    pub max_connections: u32,
    /// Idle connections the pool keeps ready (opened before [`PostgresEngine::open`]
    /// returns), so that a burst of transactions does not wait for connects.
    ///
    /// [`PostgresEngine::open`]: super::PostgresEngine::open
    pub min_idle_connections: u32,
    /// How long a caller waits for a pooled connection (or a new one) before failing.
    pub acquire_timeout: Duration,
    /// Timeout of establishing one connection.
    pub connect_timeout: Duration,
    /// How long a success keeps [`Engine::check_writable`](crate::Engine::check_writable)
    /// from asking the server again. `Duration::ZERO` asks every time.
    pub probe_interval: Duration,
    /// PEM file with the root certificates to trust for TLS (the system's roots when
    /// `None`).
    pub tls_ca_file: Option<PathBuf>,
    /// Attempts a transaction makes optimistically (concurrently with others) before its
    /// next attempts take the table's writer lock, under which no concurrent writer can
    /// invalidate it (so it gets through). 0 serializes every writer.
    pub optimistic_attempts: u32,
}

impl PostgresOptions {
    /// Defaults for `url`: schema `clearinghouse`, 16 connections (2 kept idle), 5 s to
    /// acquire one,
    /// 5 s to connect, probe at most once a second, system TLS roots, 3 optimistic
    /// attempts.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            schema: "clearinghouse".into(),
            max_connections: 16,
            min_idle_connections: 2,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            probe_interval: Duration::from_secs(1),
            tls_ca_file: None,
            optimistic_attempts: 3,
        }
    }

    /// The parsed connection settings, with the session settings the engine depends on
    /// added to the startup options.
    pub(crate) fn client_config(&self) -> Result<postgres::Config, Error> {
        let mut config = postgres::Config::from_str(&self.url)
            .map_err(|e| Error::Engine(format!("invalid PostgreSQL connection string: {e}")))?;
        let session = SESSION_SETTINGS
            .iter()
            .map(|(k, v)| format!("-c {k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} {session}"),
            _ => session,
        };
        config.options(&options);
        if config.get_application_name().is_none() {
            config.application_name("clearinghouse");
        }
        config.connect_timeout(self.connect_timeout);
        Ok(config)
    }

    /// Checks everything that can be checked without connecting (the connection string
    /// parses, the schema is a plain identifier, the limits make sense); lists every
    /// problem.
    pub fn check(&self) -> Result<(), Error> {
        self.validate()
    }

    /// Checks everything that can be checked without connecting; lists every problem.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if let Err(e) = self.client_config() {
            problems.push(e.to_string());
        }
        if !is_identifier(&self.schema) {
            problems.push(format!(
                "schema {:?} must be 1 to 63 characters of a-z, 0-9 and _, not starting with a digit",
                self.schema
            ));
        }
        if self.max_connections == 0 {
            problems.push("max_connections must be at least 1".into());
        }
        if self.min_idle_connections > self.max_connections {
            problems.push("min_idle_connections must not exceed max_connections".into());
        }
        if self.acquire_timeout.is_zero() {
            problems.push("acquire_timeout must be above zero".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Engine(format!(
                "invalid PostgreSQL options: {}",
                problems.join("; ")
            )))
        }
    }
}

/// Session settings of every pooled connection, passed as startup options so that they
/// override database and role defaults: commits wait for the WAL flush; single reads
/// outside transactions see committed state; the planner uses the primary key index
/// for every statement (a sequential or bitmap scan would take relation- or page-wide
/// predicate locks under SERIALIZABLE and make unrelated transactions conflict).
pub(crate) const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("synchronous_commit", "on"),
    ("default_transaction_isolation", "read\\ committed"),
    ("enable_seqscan", "off"),
    ("enable_bitmapscan", "off"),
];

/// Whether `s` is a plain lower-case SQL identifier (so it needs no escaping beyond
/// double quotes).
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show the parsed settings, which redact it.
        let target = match postgres::Config::from_str(&self.url) {
            Ok(c) => format!(
                "hosts {:?} ports {:?} db {:?} user {:?}",
                c.get_hosts(),
                c.get_ports(),
                c.get_dbname(),
                c.get_user()
            ),
            Err(_) => "<unparsable>".into(),
        };
        f.debug_struct("PostgresOptions")
            .field("target", &target)
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("min_idle_connections", &self.min_idle_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("probe_interval", &self.probe_interval)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("optimistic_attempts", &self.optimistic_attempts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_settings_are_appended_to_the_url_options() {
        let o = PostgresOptions::new(
            "postgres://u:secret@db.example:5433/reg?sslmode=disable&options=-c%20statement_timeout%3D5s",
        );
        let c = o.client_config().expect("parses");
        let opts = c.get_options().expect("options");
        assert!(opts.starts_with("-c statement_timeout=5s "), "{opts}");
        assert!(opts.contains("-c synchronous_commit=on"), "{opts}");
        assert!(opts.contains("-c enable_seqscan=off"), "{opts}");
        assert_eq!(c.get_ssl_mode(), postgres::config::SslMode::Disable);
        assert_eq!(c.get_dbname(), Some("reg"));
        assert_eq!(c.get_application_name(), Some("clearinghouse"));
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let o = PostgresOptions::new("postgres://u:hunter2@db.example/reg");
        let shown = format!("{o:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.example"), "{shown}");
    }

    #[test]
    fn every_problem_is_listed() {
        let o = PostgresOptions {
            schema: "Bad-Name".into(),
            max_connections: 0,
            ..PostgresOptions::new("postgres://u@h/db?sslmode=bogus")
        };
        let msg = o.validate().expect_err("invalid").to_string();
        for want in ["connection string", "schema", "max_connections"] {
            assert!(msg.contains(want), "{want} missing from {msg}");
        }
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["clearinghouse", "t_1", "_x"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1abc", "a-b", "A", "a\"b", &"x".repeat(64)] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
