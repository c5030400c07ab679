//! The PostgreSQL engine: every tree in one table `kv (tree, k, v)` of a schema, each
//! transaction a SERIALIZABLE one, each commit durable when the server answers
//! (`synchronous_commit = on`, `fsync = on`, both checked). Several processes may share
//! one database: the server serializes their transactions.
//!
//! Entry point: [`PostgresEngine::open`] with [`PostgresOptions`]. The API is
//! synchronous (the `postgres` client, which runs its own small runtime per
//! connection): call it from plain or blocking threads, never from an async worker.
//!
//! A transaction runs its body against the server through an overlay of its own writes
//! ([`tx`]), sends the writes in two statements and commits. A serialization failure
//! (40001), a deadlock (40P01) or [`Error::Conflict`] from the body runs the body again
//! on a fresh snapshot: optimistically at first and, after
//! [`PostgresOptions::optimistic_attempts`] conflicts, under the table's writer lock
//! (`SHARE ROW EXCLUSIVE`, taken before the snapshot): no concurrent writer can then
//! invalidate it, so a transaction that kept losing gets through however hot its rows
//! are (SSI's bookkeeping still fails one such attempt in a few thousand under heavy
//! contention; it runs again under the lock). A connection lost
//! before `COMMIT` was sent runs the body again on another connection; one lost during
//! `COMMIT` leaves the outcome unknown and is reported as such (never retried). Reads
//! outside transactions are single statements at READ COMMITTED: committed state only.

mod conn;
mod failure;
mod health;
mod options;
mod schema;
mod sql;
mod tls;
mod tx;

use std::{
    path::Path,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use postgres::config::SslMode;
use r2d2::{Pool, PooledConnection};
use scheduled_thread_pool::ScheduledThreadPool;

pub use options::PostgresOptions;
pub use schema::ENGINE_SCHEMA_VERSION;

use super::{Body, Engine, Entry, TreeName, Visit};
use crate::{barrier::BarrierStats, error::Error, trees};
use conn::{LogErrors, Manager, PgConn};
use failure::{Failure, describe};
use health::Health;
use sql::{Sql, prefix_end, sql_limit};
use tx::PgTx;

/// Two helper threads for every pool in the process (r2d2 opens connections and reaps
/// idle ones on them), instead of three per pool.
fn pool_threads() -> Arc<ScheduledThreadPool> {
    static THREADS: OnceLock<Arc<ScheduledThreadPool>> = OnceLock::new();
    Arc::clone(THREADS.get_or_init(|| {
        Arc::new(
            ScheduledThreadPool::builder()
                .num_threads(2)
                .thread_name_pattern("clearinghouse-pg-{}")
                .build(),
        )
    }))
}

/// Attempts after which a transaction gives up (a safety net: under the writer lock an
/// attempt fails only rarely, or when the body itself keeps reporting
/// [`Error::Conflict`]).
const MAX_ATTEMPTS: u32 = 1_000;

/// How one attempt at a transaction ended.
enum Attempt {
    /// Committed, or failed for good.
    Done(Result<(), Error>),
    /// Lost to a concurrent transaction: run the body again.
    Conflict,
    /// The connection died before `COMMIT` was sent: nothing was written.
    Lost(String),
}

/// The PostgreSQL engine.
pub struct PostgresEngine {
    pool: ClosingPool,
    /// Makes connections outside the pool (checks, LISTEN).
    direct: Manager,
    opts: PostgresOptions,
    health: Health,
    conflicts: AtomicU64,
    exclusive: AtomicU64,
    reconnects: AtomicU64,
    commits: AtomicU64,
}

impl std::fmt::Debug for PostgresEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresEngine")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// The connection pool, closed on a thread of its own when the engine goes. A
/// `postgres::Client` closes by running its own small runtime, which panics on a thread
/// that drives async tasks; the last handle on the engine can go on one (a server task
/// ending after the database restarted), and closing the pool there would abort the
/// process.
struct ClosingPool(Option<Pool<Manager>>);

impl ClosingPool {
    /// A connection, waiting up to the pool's acquire timeout.
    fn get(&self) -> Result<PooledConnection<Manager>, String> {
        match &self.0 {
            Some(pool) => pool.get().map_err(|e| e.to_string()),
            None => Err("the engine is closing".to_owned()),
        }
    }

    /// An idle connection, if one is ready now.
    fn try_get(&self) -> Option<PooledConnection<Manager>> {
        self.0.as_ref()?.try_get()
    }
}

impl Drop for ClosingPool {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            // A plain thread is never inside a runtime; joining it keeps the close
            // finished when the engine's drop returns, as before.
            std::thread::scope(|s| {
                s.spawn(move || drop(pool));
            });
        }
    }
}

impl PostgresEngine {
    /// Connects, checks that the server makes commits durable, creates the schema or
    /// migrates it (refusing one newer than this build), and starts the pool.
    pub fn open(opts: &PostgresOptions) -> Result<PostgresEngine, Error> {
        opts.validate()?;
        let config = opts.client_config()?;
        let tls = tls::connector(opts, config.get_ssl_mode() != SslMode::Disable)?;
        let sql = Arc::new(Sql::new(&opts.schema));
        let direct = Manager {
            config: config.clone(),
            tls: tls.clone(),
            sql: Arc::clone(&sql),
        };
        let mut client = direct
            .client()
            .map_err(|e| Error::Engine(format!("cannot connect to PostgreSQL: {e}")))?;
        schema::check_server(&mut client)?;
        let version = schema::migrate(&mut client, &opts.schema, &sql)?;
        drop(client);
        let pool = Pool::builder()
            .max_size(opts.max_connections)
            .min_idle(Some(opts.min_idle_connections))
            .test_on_check_out(false)
            .connection_timeout(opts.acquire_timeout)
            .thread_pool(pool_threads())
            .error_handler(Box::new(LogErrors))
            .build(Manager { config, tls, sql })
            .map_err(|e| Error::Engine(format!("cannot fill the connection pool: {e}")))?;
        tracing::info!(
            schema = %opts.schema,
            engine_schema_version = version,
            max_connections = opts.max_connections,
            "PostgreSQL engine open"
        );
        let engine = PostgresEngine {
            pool: ClosingPool(Some(pool)),
            direct,
            opts: opts.clone(),
            health: Health::default(),
            conflicts: AtomicU64::new(0),
            exclusive: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        };
        engine.health.ok();
        Ok(engine)
    }

    /// How many times a transaction ran again after a serialization failure, a deadlock
    /// or a conflict reported by its body.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// How many attempts ran under the writer lock after too many conflicts.
    pub fn exclusive_attempts(&self) -> u64 {
        self.exclusive.load(Ordering::Relaxed)
    }

    /// How many times a statement or a transaction moved to another connection after
    /// losing one (a server restart leaves every pooled connection dead).
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// A connection of its own, outside the pool, with the engine's settings: for a
    /// session that must stay open, such as a `LISTEN` for commits made elsewhere.
    pub fn dedicated_client(&self) -> Result<postgres::Client, Error> {
        self.direct
            .client()
            .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))
    }

    /// The schema holding the engine's tables.
    pub fn schema(&self) -> &str {
        &self.opts.schema
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, Error> {
        self.pool.get().map_err(|e| {
            let msg = format!("PostgreSQL unreachable: {e}");
            self.health.lost(&msg);
            Error::Unavailable(msg)
        })
    }

    /// The `LISTEN` channel on which every transaction that writes audit entries
    /// notifies at commit (named after the schema, so stores sharing a database under
    /// different schemas do not hear each other). The payload is empty: a listener reads
    /// the audit trail after its own last sequence, so a lost notification only delays.
    pub fn feed_channel(&self) -> &str {
        &self.opts.schema
    }

    /// Runs one statement outside a transaction, moving to another connection when a
    /// pooled one turns out dead.
    fn read<T>(&self, f: impl Fn(&mut PgConn) -> Result<T, postgres::Error>) -> Result<T, Error> {
        let mut lost = 0;
        loop {
            let mut conn = self.conn()?;
            match f(&mut conn) {
                Ok(t) => {
                    self.health.ok();
                    return Ok(t);
                }
                Err(e) => match Failure::of(&e, conn.client.is_closed()) {
                    Failure::Lost(m) => {
                        conn.broken = true;
                        lost += 1;
                        if lost > self.opts.max_connections {
                            let msg = format!("PostgreSQL unreachable: {m}");
                            self.health.lost(&msg);
                            return Err(Error::Unavailable(msg));
                        }
                        self.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    Failure::Conflict | Failure::Other(_) => {
                        return Err(Error::Engine(describe(&e)));
                    }
                },
            }
        }
    }

    fn rollback(conn: &mut PgConn) {
        if conn.client.is_closed() || conn.client.batch_execute("ROLLBACK").is_err() {
            conn.broken = true;
        }
    }

    /// The outcome of a failed statement outside the body (BEGIN, the writes).
    fn failed(conn: &mut PgConn, e: &postgres::Error) -> Attempt {
        match Failure::of(e, conn.client.is_closed()) {
            Failure::Conflict => {
                Self::rollback(conn);
                Attempt::Conflict
            }
            Failure::Lost(m) => {
                conn.broken = true;
                Attempt::Lost(m)
            }
            Failure::Other(m) => {
                Self::rollback(conn);
                Attempt::Done(Err(Error::Engine(m)))
            }
        }
    }

    fn attempt(&self, conn: &mut PgConn, body: &mut Body<'_>, exclusive: bool) -> Attempt {
        let sql = &self.direct.sql;
        let begin = if exclusive {
            &sql.begin_exclusive
        } else {
            &sql.begin
        };
        if let Err(e) = conn.client.batch_execute(begin) {
            return Self::failed(conn, &e);
        }
        // Until the body returns, the connection counts as broken: a body that panics
        // leaves it inside a transaction, and it must not go back to the pool so.
        conn.broken = true;
        let mut tx = PgTx::new(conn);
        let result = body(&mut tx);
        let (writes, failure) = tx.finish();
        conn.broken = false;
        match (failure, result) {
            (Some(Failure::Lost(m)), _) => {
                conn.broken = true;
                return Attempt::Lost(m);
            }
            (Some(Failure::Conflict), _) | (None, Err(Error::Conflict)) => {
                Self::rollback(conn);
                return Attempt::Conflict;
            }
            (Some(Failure::Other(m)), Ok(())) => {
                // The body went on after a failed statement; the server has aborted
                // the transaction anyway.
                Self::rollback(conn);
                return Attempt::Done(Err(Error::Engine(m)));
            }
            (_, Err(e)) => {
                Self::rollback(conn);
                return Attempt::Done(Err(e));
            }
            (None, Ok(())) => {}
        }
        if let Err(e) = tx::flush(conn, &writes) {
            return Self::failed(conn, &e);
        }
        // A transaction that appended to the audit trail tells the replicas listening on
        // the feed channel; PostgreSQL delivers the notification only if it commits.
        let writes_audit = writes.get(trees::AUDIT).is_some_and(|w| !w.is_empty());
        let commit = if writes_audit {
            &sql.notify_commit
        } else {
            "COMMIT"
        };
        match conn.client.batch_execute(commit) {
            Ok(()) => {
                if !writes.is_empty() {
                    self.commits.fetch_add(1, Ordering::Relaxed);
                }
                self.health.ok();
                Attempt::Done(Ok(()))
            }
            Err(e) => match Failure::of(&e, conn.client.is_closed()) {
                // The server refused the commit: the transaction is rolled back.
                Failure::Conflict => Attempt::Conflict,
                Failure::Lost(m) => {
                    conn.broken = true;
                    self.health.lost(&m);
                    Attempt::Done(Err(Error::Unavailable(format!(
                        "PostgreSQL connection lost during COMMIT; the outcome is unknown: {m}"
                    ))))
                }
                Failure::Other(m) => {
                    conn.broken = true;
                    Attempt::Done(Err(Error::Engine(format!("COMMIT failed: {m}"))))
                }
            },
        }
    }

    fn probe(&self) -> Result<(), Error> {
        // An idle pooled connection if there is one (no waiting), else a new one: a
        // server that is down answers a connect at once.
        if let Some(mut conn) = self.pool.try_get() {
            match conn.client.batch_execute("SELECT 1") {
                Ok(()) => return Ok(()),
                Err(_) => conn.broken = true,
            }
        }
        let unreachable = |e: String| Error::Unavailable(format!("PostgreSQL unreachable: {e}"));
        let mut client = self
            .direct
            .client()
            .map_err(|e| unreachable(e.to_string()))?;
        client
            .batch_execute("SELECT 1")
            .map_err(|e| unreachable(describe(&e)))
    }
}

impl Engine for PostgresEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    /// Runs `body` optimistically up to `optimistic_attempts` times, then under the
    /// writer lock (see [`PostgresOptions::optimistic_attempts`]).
    fn transact(&self, body: &mut Body<'_>) -> Result<(), Error> {
        let mut conflicts = 0;
        let mut lost = 0;
        loop {
            let mut conn = self.conn()?;
            let exclusive = conflicts >= self.opts.optimistic_attempts;
            if exclusive {
                self.exclusive.fetch_add(1, Ordering::Relaxed);
            }
            match self.attempt(&mut conn, body, exclusive) {
                Attempt::Done(r) => return r,
                Attempt::Conflict => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    conflicts += 1;
                    if conflicts >= MAX_ATTEMPTS {
                        return Err(Error::Engine(format!(
                            "transaction gave up after {conflicts} serialization failures"
                        )));
                    }
                }
                Attempt::Lost(m) => {
                    lost += 1;
                    if lost > self.opts.max_connections {
                        let msg = format!("PostgreSQL unreachable: {m}");
                        self.health.lost(&msg);
                        return Err(Error::Unavailable(msg));
                    }
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.read(|c| {
            c.client
                .query_opt(&c.stmts.get, &[&tree, &key])
                .map(|row| row.map(|r| r.get(0)))
        })
    }

    fn scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        let start = super::window_start(prefix, from);
        let end = prefix_end(prefix);
        let limit = sql_limit(limit);
        self.read(|c| {
            let rows = match &end {
                Some(end) => c
                    .client
                    .query(&c.stmts.scan_to, &[&tree, &start, end, &limit])?,
                None => c
                    .client
                    .query(&c.stmts.scan_open, &[&tree, &start, &limit])?,
            };
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// One REPEATABLE READ, READ ONLY transaction: every tree as of its snapshot, read
    /// in key order a page at a time. Writers are never held back (MVCC).
    fn snapshot(&self, trees: &[TreeName], visit: &mut Visit<'_>) -> Result<(), Error> {
        const PAGE: i64 = 1_000;
        let mut conn = self.conn()?;
        let c: &mut PgConn = &mut conn;
        let fail = |e: postgres::Error| Error::Engine(describe(&e));
        let mut tx = c
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        for &tree in trees {
            let mut from: Vec<u8> = Vec::new();
            loop {
                let rows = tx
                    .query(&c.stmts.scan_open, &[&tree, &from, &PAGE])
                    .map_err(fail)?;
                let full = rows.len() >= usize::try_from(PAGE).unwrap_or(usize::MAX);
                let mut last = None;
                for r in rows {
                    let (k, v): (Vec<u8>, Vec<u8>) = (r.get(0), r.get(1));
                    visit(tree, &k, &v)?;
                    last = Some(k);
                }
                match last {
                    Some(mut k) if full => {
                        k.push(0);
                        from = k;
                    }
                    _ => break,
                }
            }
        }
        tx.commit().map_err(fail)
    }

    /// Commits are durable when the server acknowledges them: nothing to wait for.
    fn sync(&self) -> Result<(), Error> {
        Ok(())
    }

    fn commits_are_durable(&self) -> bool {
        true
    }
    /// Other replicas write the same database.
    fn exclusive(&self) -> bool {
        false
    }

    /// Fails while the database cannot be reached, and succeeds again once it can (no
    /// restart needed). Answers from memory while a round trip succeeded within the
    /// probe interval; otherwise asks the server on a thread of its own (the client
    /// cannot block inside an async runtime, and health checks run in one), waiting at
    /// most `connect_timeout`.
    fn check_writable(&self) -> Result<(), Error> {
        if self.health.fresh(self.opts.probe_interval) {
            return Ok(());
        }
        let probed = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("clearinghouse-pg-probe".into())
                .spawn_scoped(s, || self.probe())
                .map_err(|e| Error::Engine(format!("cannot start the probe thread: {e}")))?
                .join()
                .unwrap_or_else(|_| Err(Error::Engine("the probe panicked".into())))
        });
        match probed {
            Ok(()) => {
                self.health.ok();
                Ok(())
            }
            Err(e) => {
                self.health.lost(&e.to_string());
                Err(e)
            }
        }
    }

    /// Every committed write transaction counts as one durable commit.
    fn stats(&self) -> BarrierStats {
        let c = self.commits.load(Ordering::Relaxed);
        BarrierStats {
            tickets: c,
            syncs: c,
            failed: false,
        }
    }

    /// Bytes of the engine's tables and their indexes (`pg_total_relation_size`).
    fn size_on_disk(&self) -> Result<u64, Error> {
        let sql = &self.direct.sql.size;
        let bytes: i64 = self.read(|c| c.client.query_one(sql, &[]).map(|r| r.get(0)))?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    fn path(&self) -> Option<&Path> {
        None
    }
}
