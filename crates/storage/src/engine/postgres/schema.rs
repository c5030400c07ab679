//! The engine's tables and their migrations, and the server checks made at open.
//!
//! `schema_version` records each migration applied; open applies the missing ones in
//! one transaction (under an advisory lock, so replicas opening together do it once)
//! and refuses a database whose version is newer than this build's. This versions the
//! engine's tables only; the store's record format has its own version in the `meta`
//! tree, migrated by the typed layer on every engine alike.

use postgres::Client;

use super::{failure::describe, sql::Sql};
use crate::error::Error;

/// Migrations in order: (version, statement with `{s}` for the quoted schema).
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE {s}.kv (\
         tree text COLLATE \"C\" NOT NULL, \
         k bytea NOT NULL, \
         v bytea NOT NULL, \
         PRIMARY KEY (tree, k))",
)];

/// The version of the engine's tables this build writes.
pub const ENGINE_SCHEMA_VERSION: i32 = 1;

/// Oldest server this engine is tested against (`server_version_num`).
const MIN_SERVER_VERSION: i32 = 12_00_00;

fn pg(what: &str) -> impl Fn(postgres::Error) -> Error + '_ {
    move |e| Error::Engine(format!("{what}: {}", describe(&e)))
}

/// Refuses a server on which commits would not be durable (`fsync` off, or the session's
/// `synchronous_commit` not `on`) or one older than the engine supports.
pub(crate) fn check_server(client: &mut Client) -> Result<(), Error> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, \
                    current_setting('fsync'), current_setting('synchronous_commit')",
            &[],
        )
        .map_err(pg("cannot read the server's settings"))?;
    let (version, fsync, sync_commit): (i32, String, String) = (row.get(0), row.get(1), row.get(2));
    let mut problems = Vec::new();
    if version < MIN_SERVER_VERSION {
        problems.push(format!(
            "server version {version} is older than {MIN_SERVER_VERSION}"
        ));
    }
    if fsync != "on" {
        problems.push(format!(
            "fsync is {fsync}: commits would not survive a crash; set fsync = on"
        ));
    }
    if sync_commit != "on" {
        problems.push(format!(
            "synchronous_commit is {sync_commit} on this connection; it must be on"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Engine(format!(
            "PostgreSQL refused: {}",
            problems.join("; ")
        )))
    }
}

/// Creates the schema and applies every missing migration; returns the version now in
/// force.
pub(crate) fn migrate(client: &mut Client, schema: &str, sql: &Sql) -> Result<i32, Error> {
    let s = &sql.schema;
    let mut tx = client
        .transaction()
        .map_err(pg("cannot start the migration"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        &[&format!("clearinghouse.schema:{schema}")],
    )
    .map_err(pg("cannot lock the schema for migration"))?;
    let exists = tx
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .map_err(pg("cannot look up the schema"))?
        .is_some();
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA {s}"))
            .map_err(pg("cannot create the schema"))?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {s}.schema_version (\
             version integer PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .map_err(pg("cannot create schema_version"))?;
    let current: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {s}.schema_version"),
            &[],
        )
        .map_err(pg("cannot read schema_version"))?
        .get(0);
    if current > ENGINE_SCHEMA_VERSION {
        return Err(Error::Engine(format!(
            "database schema {schema} is at engine version {current}, newer than this build's \
             {ENGINE_SCHEMA_VERSION}; run a newer clearinghouse"
        )));
    }
    for &(version, statement) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(&statement.replace("{s}", s))
            .map_err(pg(&format!("migration {version} failed")))?;
        tx.execute(
            &format!("INSERT INTO {s}.schema_version (version) VALUES ($1)"),
            &[&version],
        )
        .map_err(pg("cannot record the migration"))?;
    }
    tx.commit().map_err(pg("cannot commit the migration"))?;
    Ok(ENGINE_SCHEMA_VERSION)
}
