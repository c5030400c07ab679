//! Pooled connections: each one is connected with the engine's session settings,
//! checked (`synchronous_commit` must be `on`), and has the engine's statements
//! prepared once, so that a read or a write is one round trip. A connection that saw
//! its transaction end in an unknown state is marked broken and never reused.

use std::sync::Arc;

use postgres::{Client, Statement};

use super::{failure::describe, sql::Sql, tls::Tls};

/// The engine's statements, prepared on one connection.
#[derive(Debug)]
pub(crate) struct Statements {
    pub get: Statement,
    pub scan_to: Statement,
    pub scan_open: Statement,
    pub upsert: Statement,
    pub delete: Statement,
}

/// A pooled connection.
pub(crate) struct PgConn {
    /// The client.
    pub client: Client,
    /// Its prepared statements.
    pub stmts: Statements,
    /// Set when the connection must not be reused.
    pub broken: bool,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("closed", &self.client.is_closed())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The client failed.
    #[error("{}", describe(.0))]
    Pg(#[from] postgres::Error),
    /// The session is not what the engine depends on.
    #[error("{0}")]
    Session(String),
}

/// Makes connections for the pool.
pub(crate) struct Manager {
    pub config: postgres::Config,
    pub tls: Tls,
    pub sql: Arc<Sql>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").finish_non_exhaustive()
    }
}

impl Manager {
    /// A connection outside the pool (migrations, checks, a future LISTEN).
    pub(crate) fn client(&self) -> Result<Client, ConnectError> {
        Ok(self.config.connect(self.tls.clone())?)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<PgConn, ConnectError> {
        let mut client = self.client()?;
        let row = client.query_one("SELECT current_setting('synchronous_commit')", &[])?;
        let sync_commit: String = row.get(0);
        if sync_commit != "on" {
            return Err(ConnectError::Session(format!(
                "synchronous_commit is {sync_commit} on a new connection; it must be on"
            )));
        }
        let stmts = Statements {
            get: client.prepare(&self.sql.get)?,
            scan_to: client.prepare(&self.sql.scan_to)?,
            scan_open: client.prepare(&self.sql.scan_open)?,
            upsert: client.prepare(&self.sql.upsert)?,
            delete: client.prepare(&self.sql.delete)?,
        };
        Ok(PgConn {
            client,
            stmts,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), ConnectError> {
        Ok(conn.client.simple_query("").map(drop)?)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// Reports connection failures of the pool's background connects to the log.
#[derive(Debug)]
pub(crate) struct LogErrors;

impl r2d2::HandleError<ConnectError> for LogErrors {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(error = %error, "cannot open a PostgreSQL connection");
    }
}
