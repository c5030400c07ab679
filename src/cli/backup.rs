//! `clearinghouse backup` (through a running server's `ExportBackup`) and
//! `clearinghouse restore` (offline, into an empty data directory).
//!
//! A backup is written to a temporary file beside the output, checked while it arrives
//! (the SHA-256 of everything but the last 32 bytes must equal those bytes and the
//! checksum of the last message), read back through the format's reader, fsynced, and
//! only then renamed over the output: an interrupted or damaged download never leaves a
//! file under the chosen name.

use std::{
    fs,
    io::{BufReader, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use tonic::{
    Status,
    codegen::{Body, Bytes, StdError},
};

use clearinghouse_domain::Timestamp;
use clearinghouse_storage::{
    BackupSummary, Embedded, Engine, SCHEMA_VERSION, Store, StoreOptions, backup, check,
};

use super::{Ctx, failure::CliError};
use crate::pb::{self, admin_service_client::AdminServiceClient};

/// Flags of `clearinghouse backup`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// File to write the backup to (replaced only once the backup is whole and checked).
    #[arg(long = "to", value_name = "FILE")]
    pub file: PathBuf,
}

/// Flags of `clearinghouse restore`.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// Data directory to create the store in; must be missing or empty.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The backup file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Embedded engine of the new store (`sled` or `redb`); the server opens it with
    /// `[storage] engine` set the same.
    #[arg(long, default_value = "sled")]
    pub engine: Embedded,
}

/// SHA-256 of everything but the last 32 bytes seen, computed as bytes arrive.
#[derive(Debug, Default)]
struct TailHasher {
    hasher: Sha256,
    tail: Vec<u8>,
}

impl TailHasher {
    fn update(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        if self.tail.len() > 32 {
            let n = self.tail.len() - 32;
            self.hasher.update(&self.tail[..n]);
            self.tail.drain(..n);
        }
    }

    /// (hash of the body, the last 32 bytes).
    fn finish(self) -> ([u8; 32], Vec<u8>) {
        (self.hasher.finalize().into(), self.tail)
    }
}

/// A temporary file that is removed unless it was kept.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn partial_path(output: &Path) -> anyhow::Result<PathBuf> {
    let name = output
        .file_name()
        .with_context(|| format!("--output {} names no file", output.display()))?;
    let mut tmp = name.to_os_string();
    tmp.push(format!(".partial-{}", std::process::id()));
    Ok(output.with_file_name(tmp))
}

/// Downloads a backup through `client` into `output` (see the module docs) and returns
/// what it holds.
pub async fn download<T>(
    client: &mut AdminServiceClient<T>,
    output: &Path,
) -> anyhow::Result<BackupSummary>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let partial = Partial {
        path: partial_path(output)?,
        kept: false,
    };
    let mut file = fs::File::create(&partial.path)
        .with_context(|| format!("cannot create {}", partial.path.display()))?;
    let mut stream = client
        .export_backup(pb::ExportBackupRequest {})
        .await
        .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
        .into_inner();
    let mut hasher = TailHasher::default();
    let mut last = None;
    while let Some(msg) = stream
        .message()
        .await
        .map_err(|s| anyhow::anyhow!("the backup stopped: {}: {}", s.code(), s.message()))?
    {
        if last.is_some() {
            bail!("the server sent data after the last chunk");
        }
        hasher.update(&msg.data);
        file.write_all(&msg.data)
            .with_context(|| format!("cannot write {}", partial.path.display()))?;
        if msg.last {
            last = Some(msg);
        }
    }
    let Some(last) = last else {
        bail!("the stream ended before the last chunk; the backup is incomplete");
    };
    let (body_hash, trailer) = hasher.finish();
    let announced = hex::decode(&last.sha256).unwrap_or_default();
    if trailer != body_hash || announced != body_hash {
        bail!(
            "checksum mismatch: the file hashes to {}, its trailer says {} and the server said {}",
            hex::encode(body_hash),
            hex::encode(&trailer),
            last.sha256
        );
    }
    file.sync_all()
        .with_context(|| format!("cannot fsync {}", partial.path.display()))?;
    drop(file);
    let reader = fs::File::open(&partial.path)
        .with_context(|| format!("cannot read back {}", partial.path.display()))?;
    let summary = backup::verify(BufReader::new(reader), SCHEMA_VERSION)
        .context("the downloaded backup does not read back")?;
    if summary.entries != last.entry_count || summary.bytes != last.size_bytes {
        bail!(
            "the backup holds {} entries in {} bytes; the server announced {} in {}",
            summary.entries,
            summary.bytes,
            last.entry_count,
            last.size_bytes
        );
    }
    let mut partial = partial;
    fs::rename(&partial.path, output).with_context(|| {
        format!(
            "cannot rename {} to {}",
            partial.path.display(),
            output.display()
        )
    })?;
    partial.kept = true;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot fsync {}", dir.display()))?;
    }
    Ok(summary)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of an instant.
fn rfc3339(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.date(),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The failure of a backup or restore as the client reports it: a server's status keeps
/// its exit code, anything else is a local failure.
pub fn cli_error(e: anyhow::Error) -> CliError {
    match e.downcast::<Status>() {
        Ok(status) => CliError::Status { status },
        Err(e) => CliError::Io(format!("{e:#}")),
    }
}

/// Runs `clearinghouse backup`.
pub async fn run(ctx: &mut Ctx, args: BackupArgs) -> Result<(), CliError> {
    let s = download(&mut ctx.api.admin, &args.file)
        .await
        .map_err(cli_error)?;
    eprintln!(
        "backup written to {}: {} entries, {} bytes, audit sequence {}, schema version {}, taken {}",
        args.file.display(),
        s.entries,
        s.bytes,
        s.header.audit_watermark,
        s.header.schema_version,
        rfc3339(s.header.created_at)
    );
    eprintln!("sha256 {}", hex::encode(s.sha256));
    Ok(())
}

/// Runs `clearinghouse restore`: refuses a non-empty directory, loads the backup into a
/// new sled store there, makes it durable, checks it and prints what it holds.
pub fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let dir = &args.data_dir;
    if dir.exists() {
        let mut entries =
            fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty; restore only into a new or empty directory",
                dir.display()
            );
        }
    }
    let open = || {
        fs::File::open(&args.file)
            .map(BufReader::new)
            .with_context(|| format!("cannot open {}", args.file.display()))
    };
    // A file this build cannot restore is refused before anything is created.
    backup::BackupReader::open(open()?, SCHEMA_VERSION)
        .with_context(|| format!("cannot restore {}", args.file.display()))?;
    let input = open()?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let engine: Arc<dyn Engine> = args
        .engine
        .open_engine(dir, &StoreOptions::default())
        .with_context(|| format!("cannot create a store in {}", dir.display()))?;
    let restored = Store::restore(&engine, input).with_context(|| {
        format!(
            "restore failed; {} holds an unfinished store that will not open: delete it and try again",
            dir.display()
        )
    })?;
    let store = Store::with_engine(engine).context("the restored store does not open")?;
    let report = check::check(&store).context("the restored store is not consistent")?;
    store
        .close()
        .context("cannot make the restored store durable")?;
    let h = restored.header;
    println!(
        "restored {} entries into {} (backup taken {}, schema version {}, audit sequence {})",
        restored.entries,
        dir.display(),
        rfc3339(h.created_at),
        h.schema_version,
        h.audit_watermark
    );
    for (kind, n) in &report.records {
        println!("  {kind:<10} {n}");
    }
    println!("  {:<10} {}", "audit", report.audit_entries);
    println!(
        "checked: id maps, {} index entries, unique keys, counters and the audit hash chain agree",
        report.index_entries
    );
    println!("API keys are restored with their principals; key files are not part of a backup");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_hasher_hashes_all_but_the_last_32_bytes_whatever_the_chunking() {
        let data: Vec<u8> = (0..200u8).collect();
        let want: [u8; 32] = Sha256::digest(&data[..168]).into();
        for split in [1, 7, 32, 33, 100, 200] {
            let mut h = TailHasher::default();
            for chunk in data.chunks(split) {
                h.update(chunk);
            }
            let (hash, tail) = h.finish();
            assert_eq!(hash, want, "chunks of {split}");
            assert_eq!(tail, data[168..].to_vec());
        }
    }

    #[test]
    fn times_print_as_utc() {
        assert_eq!(
            rfc3339(Timestamp(1_795_000_000_000)),
            "2026-11-18T11:06:40Z"
        );
    }
}
