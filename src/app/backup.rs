//! `ExportBackup`: a backup of the whole store as of one moment, streamed in chunks.
//!
//! The backup is written on the blocking pool by [`Store::backup`] into a writer that
//! cuts it into [`CHUNK_BYTES`] chunks and hands each to a bounded channel: a slow client
//! holds back the export (at most [`CHUNKS_IN_FLIGHT`] chunks wait), never the writers
//! (the engine fixes the moment before the first chunk leaves). The export stops at the
//! next chunk when the server starts shutting down, or when the client goes away.

use std::{
    io::{self, Write},
    time::Instant,
};

use tokio::{
    runtime::Handle,
    sync::{mpsc, watch},
};

use clearinghouse_domain::Principal;
use clearinghouse_storage::{BackupError, BackupSummary, Store};

use super::{App, clock};
use crate::error::ApiError;

/// Largest chunk of a backup stream.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks a stream buffers before the export waits for its client.
pub const CHUNKS_IN_FLIGHT: usize = 4;

/// Capacity of a backup stream's channel: the chunks in flight and one slot kept for the
/// last message (the checksum, or why the backup stopped), so it never waits for room.
pub const CHANNEL_CAPACITY: usize = CHUNKS_IN_FLIGHT + 1;

/// One message of a backup stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupPart {
    /// The next bytes of the file.
    Chunk(Vec<u8>),
    /// The last bytes of the file and what the file holds.
    Last {
        /// The last bytes (possibly none).
        data: Vec<u8>,
        /// Entries, size and checksum of the whole file.
        summary: BackupSummary,
    },
}

/// Why a backup stream ends without its last part.
#[derive(Debug)]
pub enum ExportFailure {
    /// The server started shutting down.
    ShuttingDown,
    /// The export failed.
    Failed(ApiError),
}

/// What a backup stream carries.
pub type BackupItem = Result<BackupPart, ExportFailure>;

/// Cuts the backup into chunks and sends each through the bounded channel, waiting for
/// room, for the client to leave, or for shutdown.
struct ChunkSender {
    tx: mpsc::Sender<BackupItem>,
    buf: Vec<u8>,
    handle: Handle,
    stopping: watch::Receiver<bool>,
}

/// Error text of a chunk refused because the server is shutting down.
const SHUTTING_DOWN: &str = "the server is shutting down";

impl ChunkSender {
    fn send(&mut self, item: BackupItem) -> io::Result<()> {
        let (tx, mut stopping) = (self.tx.clone(), self.stopping.clone());
        self.handle.block_on(async move {
            tokio::select! {
                biased;
                _ = stopping.wait_for(|s| *s) => Err(io::Error::other(SHUTTING_DOWN)),
                sent = tx.send(item) => sent.map_err(|_| {
                    io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")
                }),
            }
        })
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        while self.buf.len() >= CHUNK_BYTES {
            let rest = self.buf.split_off(CHUNK_BYTES);
            let chunk = std::mem::replace(&mut self.buf, rest);
            self.send(Ok(BackupPart::Chunk(chunk)))?;
        }
        Ok(data.len())
    }

    /// Chunks leave when full; the remainder goes with the last part.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn export(store: &Store, sender: &mut ChunkSender) -> Result<BackupSummary, BackupError> {
    store.backup(&mut *sender, clock::now())
}

impl App {
    /// Streams a backup of the store into `tx` (see the module docs), on behalf of `who`.
    /// `tx` should have [`CHANNEL_CAPACITY`]: one slot is reserved at once for the last
    /// message, which therefore always follows the chunks already sent.
    pub async fn export_backup(&self, who: Principal, tx: mpsc::Sender<BackupItem>) {
        let Ok(last_slot) = tx.clone().reserve_owned().await else {
            return; // the client left before anything was sent
        };
        let stopping = self.live.stopping();
        let store = std::sync::Arc::clone(&self.store);
        let handle = Handle::current();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            let _call = span.enter();
            let started = Instant::now();
            tracing::info!(principal_id = %who.id, "backup started");
            let mut sender = ChunkSender {
                tx,
                buf: Vec::with_capacity(CHUNK_BYTES),
                handle,
                stopping: stopping.clone(),
            };
            let failure = match export(&store, &mut sender) {
                Ok(summary) => {
                    let data = std::mem::take(&mut sender.buf);
                    last_slot.send(Ok(BackupPart::Last { data, summary }));
                    tracing::info!(
                        principal_id = %who.id,
                        entries = summary.entries,
                        bytes = summary.bytes,
                        audit_sequence = summary.header.audit_watermark,
                        elapsed_ms = started.elapsed().as_millis(),
                        "backup sent"
                    );
                    return;
                }
                Err(e) => e,
            };
            let end = match failure {
                _ if *stopping.borrow() => ExportFailure::ShuttingDown,
                BackupError::Io(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    tracing::info!(principal_id = %who.id, "backup abandoned by the client");
                    return;
                }
                BackupError::Store(e) => ExportFailure::Failed(ApiError::Store(e)),
                other => {
                    ExportFailure::Failed(ApiError::Internal(format!("backup failed: {other}")))
                }
            };
            tracing::warn!(principal_id = %who.id, outcome = ?end, "backup ended early");
            last_slot.send(Err(end));
        });
        if let Err(e) = task.await {
            tracing::error!(error = %e, "backup task failed");
        }
    }
}
