//! Offline storage commands: `clearinghouse migrate` (apply the PostgreSQL engine's and
//! the store's schema migrations, refusing a newer schema) and `clearinghouse
//! migrate-store` (copy a whole store between sled and PostgreSQL, either way).
//!
//! `migrate-store` streams a backup of the source (the backup format of
//! `clearinghouse_storage::backup`: every tree as of one moment, so every record, index
//! entry, unique key, counter, idempotency record and audit entry) through a pipe into a
//! restore on the target, which refuses a target holding anything. It then compares the
//! two engines entry by entry, tree by tree, runs the store check on the target (id maps,
//! indexes, unique keys, counters, the audit hash chain) and prints the counts. Writers
//! must be stopped while it runs: a source that changes during the copy fails the
//! comparison.
//!
//! The PostgreSQL client must not run on a thread that drives async tasks, so both
//! commands do their work on a thread of their own.

use std::{
    fs,
    io::{self, BufWriter, Read, Write},
    path::PathBuf,
    sync::{Arc, mpsc},
    thread,
};

use anyhow::{Context, bail};

use clearinghouse_domain::Timestamp;
use clearinghouse_storage::{
    Embedded, Engine, PostgresEngine, PostgresOptions, SCHEMA_VERSION, Store, StoreOptions, check,
    engine::postgres::ENGINE_SCHEMA_VERSION, trees,
};

use crate::config::redact_url;

/// Flags of `clearinghouse migrate`.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// PostgreSQL URL (or CLEARINGHOUSE_DATABASE_URL).
    #[arg(long, env = "CLEARINGHOUSE_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Schema holding the engine's tables.
    #[arg(long, default_value = "clearinghouse")]
    pub schema: String,
    /// PEM roots trusted for TLS to the database (the system's roots by default).
    #[arg(long)]
    pub tls_ca_file: Option<PathBuf>,
}

/// Flags of `clearinghouse migrate-store`.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateStoreArgs {
    /// The store to copy: a data directory (sled or redb) or a postgres:// URL.
    #[arg(long, value_name = "DIR|URL")]
    pub from: String,
    /// Where to copy it: a new or empty directory, or a postgres:// URL whose schema is
    /// empty.
    #[arg(long, value_name = "DIR|URL")]
    pub to: String,
    /// Schema of the PostgreSQL side.
    #[arg(long, default_value = "clearinghouse")]
    pub schema: String,
    /// PEM roots trusted for TLS to the database (the system's roots by default).
    #[arg(long)]
    pub tls_ca_file: Option<PathBuf>,
    /// Embedded engine of a directory target (`sled` or `redb`); a directory source
    /// opens in the engine it holds.
    #[arg(long, default_value = "sled")]
    pub engine: Embedded,
}

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Dir(PathBuf),
    Postgres(String),
}

impl Location {
    fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_owned())
        } else {
            Location::Dir(PathBuf::from(s))
        }
    }

    fn shown(&self) -> String {
        match self {
            Location::Dir(d) => d.display().to_string(),
            Location::Postgres(u) => redact_url(u),
        }
    }
}

fn postgres_options(url: &str, schema: &str, tls_ca_file: Option<&PathBuf>) -> PostgresOptions {
    PostgresOptions {
        schema: schema.to_owned(),
        min_idle_connections: 1,
        tls_ca_file: tls_ca_file.cloned(),
        ..PostgresOptions::new(url)
    }
}

/// Runs `f` on a thread of its own (no async runtime there).
fn on_own_thread<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    thread::Builder::new()
        .name("clearinghouse-migrate".into())
        .spawn(f)
        .context("cannot start a thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the migration thread panicked"))?
}

/// `clearinghouse migrate`: opens the database, which applies the engine's migrations
/// (once, under an advisory lock) and the store's, and prints the versions.
pub fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    let opts = postgres_options(&args.database_url, &args.schema, args.tls_ca_file.as_ref());
    let shown = redact_url(&args.database_url);
    on_own_thread(move || {
        let engine = PostgresEngine::open(&opts)
            .map_err(|e| anyhow::anyhow!("{}", redact_url(&e.to_string())))
            .with_context(|| format!("cannot migrate {shown}"))?;
        let store = Store::with_engine(Arc::new(engine))
            .map_err(|e| anyhow::anyhow!("{}", redact_url(&e.to_string())))
            .with_context(|| format!("cannot migrate the store in {shown}"))?;
        println!(
            "{shown} schema {}: engine schema version {ENGINE_SCHEMA_VERSION}, store schema version {SCHEMA_VERSION}, audit sequence {}",
            opts.schema,
            store.audit_watermark()?
        );
        Ok(())
    })
}

/// Opens one side's bare engine. A directory target must be new or empty; a source
/// directory must hold a store.
fn open_engine(
    at: &Location,
    args: &MigrateStoreArgs,
    target: bool,
) -> anyhow::Result<Arc<dyn Engine>> {
    match at {
        Location::Dir(dir) => {
            let empty = match fs::read_dir(dir) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
            };
            if target && !empty {
                bail!(
                    "{} is not empty; copy only into a new or empty directory",
                    dir.display()
                );
            }
            if !target && empty {
                bail!("{} holds no store", dir.display());
            }
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let kind = match Embedded::found_in(dir) {
                Some(found) if !target => found,
                _ => args.engine,
            };
            kind.open_engine(dir, &StoreOptions::default())
                .with_context(|| {
                    format!(
                        "cannot open the store in {} (is a server running on it?)",
                        dir.display()
                    )
                })
        }
        Location::Postgres(url) => {
            let opts = postgres_options(url, &args.schema, args.tls_ca_file.as_ref());
            let engine = PostgresEngine::open(&opts)
                .map_err(|e| anyhow::anyhow!("{}", redact_url(&e.to_string())))
                .with_context(|| format!("cannot open {}", redact_url(url)))?;
            Ok(Arc::new(engine))
        }
    }
}

/// Entries compared per round trip.
const COMPARE_PAGE: usize = 1_000;

/// Compares every tree of `a` and `b` entry by entry; returns the entries compared.
fn compare(a: &dyn Engine, b: &dyn Engine) -> anyhow::Result<u64> {
    let mut compared = 0;
    for tree in trees::all() {
        let mut from: Vec<u8> = Vec::new();
        loop {
            let left = a.scan(tree, &[], &from, COMPARE_PAGE)?;
            let right = b.scan(tree, &[], &from, COMPARE_PAGE)?;
            for (i, l) in left.iter().enumerate() {
                match right.get(i) {
                    Some(r) if r == l => compared += 1,
                    Some(r) if r.0 == l.0 => {
                        bail!(
                            "tree {tree}: the value of key {} differs",
                            hex::encode(&l.0)
                        )
                    }
                    _ => bail!(
                        "tree {tree}: key {} is missing from the target (or the source changed during the copy)",
                        hex::encode(&l.0)
                    ),
                }
            }
            if right.len() > left.len() {
                bail!(
                    "tree {tree}: the target holds key {} the source does not",
                    hex::encode(&right[left.len()].0)
                );
            }
            match left.last() {
                Some((k, _)) if left.len() == COMPARE_PAGE => {
                    from = k.clone();
                    from.push(0);
                }
                _ => break,
            }
        }
    }
    Ok(compared)
}

/// Chunks in flight between the export and the restore.
const PIPE_CHUNKS: usize = 16;

/// The writing end of [`pipe`]: each write sends one chunk, blocking while
/// [`PIPE_CHUNKS`] are waiting; fails once the reader is gone.
#[derive(Debug)]
struct PipeWriter(mpsc::SyncSender<Vec<u8>>);

/// The reading end of [`pipe`]: ends when the writer is dropped.
#[derive(Debug)]
struct PipeReader {
    chunks: mpsc::Receiver<Vec<u8>>,
    current: io::Cursor<Vec<u8>>,
}

/// A bounded in-process pipe between two threads.
fn pipe() -> (PipeReader, PipeWriter) {
    let (tx, rx) = mpsc::sync_channel(PIPE_CHUNKS);
    (
        PipeReader {
            chunks: rx,
            current: io::Cursor::new(Vec::new()),
        },
        PipeWriter(tx),
    )
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the restore stopped"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.chunks.recv() {
                Ok(chunk) => self.current = io::Cursor::new(chunk),
                Err(_) => return Ok(0),
            }
        }
    }
}

/// `clearinghouse migrate-store`: see the module docs.
pub fn migrate_store(args: &MigrateStoreArgs) -> anyhow::Result<()> {
    let args = args.clone();
    on_own_thread(move || copy(&args))
}

fn copy(args: &MigrateStoreArgs) -> anyhow::Result<()> {
    let (from, to) = (Location::parse(&args.from), Location::parse(&args.to));
    if from == to {
        bail!("--from and --to name the same store");
    }
    let source_engine = open_engine(&from, args, false)?;
    let source = Arc::new(
        Store::with_engine(Arc::clone(&source_engine))
            .with_context(|| format!("cannot open the store in {}", from.shown()))?,
    );
    if source.audit_watermark()? == 0 {
        bail!("{} holds no store", from.shown());
    }
    let target = open_engine(&to, args, true)?;
    let (reader, writer) = pipe();
    let backup_store = Arc::clone(&source);
    let exporter = thread::Builder::new()
        .name("clearinghouse-export".into())
        .spawn(move || {
            let mut out = BufWriter::with_capacity(1 << 16, writer);
            let summary = backup_store.backup(&mut out, Timestamp(0))?;
            out.into_inner()
                .map_err(|e| clearinghouse_storage::BackupError::Io(e.into_error()))?;
            Ok::<_, clearinghouse_storage::BackupError>(summary)
        })
        .context("cannot start the export thread")?;
    let restored = Store::restore(&target, reader);
    let exported = exporter
        .join()
        .map_err(|_| anyhow::anyhow!("the export thread panicked"))?;
    let restored = restored.with_context(|| {
        format!(
            "copy into {} failed (a target that held anything is refused; a half-copied one will not open: empty it and try again)",
            to.shown()
        )
    })?;
    let exported = exported.with_context(|| format!("cannot read {}", from.shown()))?;
    let compared = compare(source_engine.as_ref(), target.as_ref())
        .context("the copy differs from the source")?;
    let store = Store::with_engine(target).context("the copied store does not open")?;
    let report = check::check(&store).context("the copied store is not consistent")?;
    store.close().context("cannot make the copy durable")?;
    println!(
        "copied {} entries from {} to {} (audit sequence {})",
        restored.entries,
        from.shown(),
        to.shown(),
        exported.header.audit_watermark
    );
    for (kind, n) in &report.records {
        println!("  {kind:<10} {n}");
    }
    println!("  {:<10} {}", "audit", report.audit_entries);
    println!(
        "verified: {compared} entries identical in both stores; id maps, {} index entries, unique keys, counters and the audit hash chain agree",
        report.index_entries
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_postgres_and_anything_else_a_directory() {
        assert_eq!(
            Location::parse("postgres://u@h/db"),
            Location::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            Location::parse("postgresql://u@h/db"),
            Location::Postgres("postgresql://u@h/db".into())
        );
        assert_eq!(
            Location::parse("/var/lib/clearinghouse"),
            Location::Dir(PathBuf::from("/var/lib/clearinghouse"))
        );
        assert_eq!(
            Location::parse("postgres://u:pw@h/db").shown(),
            "postgres://u:***@h/db"
        );
    }
}
