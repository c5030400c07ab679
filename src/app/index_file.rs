//! The matching index kept in a file beside the store (`<data_dir>/matching-index`), so
//! that a start reads the engine's slim records from one file and applies the audit
//! trail after the file's position, instead of reading and decoding every need and offer
//! in the store.
//!
//! The file is a cache of the store, never a source: [`read`] takes only a whole file
//! written by this build, and [`Matching::load_from`] only one whose anchor entry is the
//! store's own at that position and that is at most [`MAX_REPLAY`] entries behind.
//! Anything else and the index is rebuilt from the store, as without a file.
//!
//! [`save`] copies the engine a few thousand slots at a time, each under the engine's
//! read lock for about a millisecond, so writers and queries are never held for the whole
//! copy. The copy may mix moments, which is sound: the position written is the one the
//! engine had applied before the copy began, every record changed since has an audit
//! entry after it, and applying those entries again on load brings each such record to
//! its current version (the engine ignores versions it already holds). A compaction that
//! renumbers slots during the copy abandons it.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError, mpsc},
    time::{Duration, Instant},
};

use clearinghouse_domain::{Need, Offer};
use clearinghouse_matching::{
    Engine,
    index::{Packing, Postings, Prepared},
};
use clearinghouse_storage::{
    AuditFilter, Store,
    index_file::{
        self, Block, IndexFileEnd, IndexFileError, IndexFileHeader, IndexFileReader,
        IndexFileWriter, Kept,
    },
};

use super::matching::{Matching, packing};

/// Name of the file in the data directory.
pub const FILE_NAME: &str = "matching-index";

/// The build a file must come from: another version may keep other records or fields,
/// so its file is not taken (the index is rebuilt once, then saved again).
pub const LABEL: &str = concat!("clearinghouse ", env!("CARGO_PKG_VERSION"), " slim 1");

/// Most audit entries a start applies after a file's position. Further behind, reading
/// every record from the store is about as quick, so the file is left aside.
pub const MAX_REPLAY: u64 = 200_000;

/// Slots copied under one hold of the engine's read lock while saving.
const SAVE_CHUNK: u32 = 2_048;

/// Blocks in flight between the thread reading the file and those indexing it.
const READ_AHEAD: usize = 8;

/// Posting lists read from a file, with the position they cover.
#[derive(Debug)]
pub struct LoadedIndex {
    /// Open offers, indexed.
    pub offers: Postings<Offer>,
    /// Kept needs, indexed.
    pub needs: Postings<Need>,
    /// The position to apply the audit trail from.
    pub header: IndexFileHeader,
    /// The newest entry the records may hold, and its anchor.
    pub end: IndexFileEnd,
    /// How long reading and indexing took.
    pub elapsed: Duration,
}

/// Reads the file at `path` and indexes its records as the blocks come: for each kind,
/// one thread decodes blocks and another indexes what it decoded. Refuses a file of
/// another build, and any file that is not whole (checked block by block, then at the
/// trailer).
pub fn read(path: &Path) -> Result<LoadedIndex, IndexFileError> {
    let started = Instant::now();
    let mut reader = IndexFileReader::open(path, LABEL)?;
    let header = reader.header().clone();
    let (offers, needs) = std::thread::scope(|s| {
        let (offer_tx, offer_rx) = mpsc::sync_channel::<Block>(READ_AHEAD);
        let (need_tx, need_rx) = mpsc::sync_channel::<Block>(READ_AHEAD);
        let offers = s.spawn(move || index_blocks::<Offer>(offer_rx, Engine::prepare_offer));
        let needs = s.spawn(move || index_blocks::<Need>(need_rx, Engine::prepare_need));
        let fed = feed(&mut reader, &offer_tx, &need_tx);
        drop((offer_tx, need_tx));
        let offers = offers.join().unwrap_or_else(|_| Err(panicked("offers")));
        let needs = needs.join().unwrap_or_else(|_| Err(panicked("needs")));
        // An indexing thread's own error first: the feed then only saw it stop.
        let indexed = offers.and_then(|o| needs.map(|n| (o, n)))?;
        fed.map(|()| indexed)
    })?;
    let end = *reader
        .end()
        .ok_or_else(|| IndexFileError::Refused("no trailer".into()))?;
    Ok(LoadedIndex {
        offers,
        needs,
        header,
        end,
        elapsed: started.elapsed(),
    })
}

fn panicked(what: &str) -> IndexFileError {
    IndexFileError::Refused(format!("indexing {what} panicked"))
}

/// Hands each block to the thread of its kind, until the trailer (or the first problem;
/// a consumer that stopped early ends the feed too).
fn feed(
    reader: &mut IndexFileReader,
    offers: &mpsc::SyncSender<Block>,
    needs: &mpsc::SyncSender<Block>,
) -> Result<(), IndexFileError> {
    while let Some(block) = reader.next_block()? {
        let to = if block.holds::<Offer>() {
            offers
        } else if block.holds::<Need>() {
            needs
        } else {
            return Err(IndexFileError::Refused("block of an unknown kind".into()));
        };
        if to.send(block).is_err() {
            return Err(IndexFileError::Refused("indexing stopped early".into()));
        }
    }
    Ok(())
}

/// Decodes `blocks` on this thread and indexes the records on another, block by block.
fn index_blocks<R>(
    blocks: mpsc::Receiver<Block>,
    prepare: fn(R, Vec<u8>, Packing<R>) -> Prepared<R>,
) -> Result<Postings<R>, IndexFileError>
where
    R: Kept + clearinghouse_matching::index::Indexed + Send,
    R::Features: Send,
{
    std::thread::scope(|s| {
        // Records are decoded and made ready (slim copy, keys, features) on this thread,
        // which also drops them: freeing memory where it was allocated keeps the two
        // threads off one allocator arena. A record's bytes are its stored encoding,
        // which is what the postings' packing keeps, so it is not encoded again.
        let (tx, rx) = mpsc::sync_channel::<Vec<Prepared<R>>>(READ_AHEAD);
        let indexer = s.spawn(move || {
            let mut postings = Postings::packed(packing::<R>());
            for prepared in rx {
                for p in prepared {
                    postings.upsert_prepared(p);
                }
            }
            postings.shrink_to_fit();
            postings
        });
        let decoded = (|| {
            for block in blocks {
                let mut prepared = Vec::new();
                block.decode_with_bytes::<R>(|r, bytes| {
                    prepared.push(prepare(r, bytes.to_vec(), packing::<R>()));
                })?;
                if tx.send(prepared).is_err() {
                    return Err(panicked(R::KIND));
                }
            }
            Ok(())
        })();
        drop(tx);
        let postings = indexer.join().map_err(|_| panicked(R::KIND))?;
        decoded.map(|()| postings)
    })
}

/// Whether the file read describes this store: its covered entry is durable here with
/// the anchor the file was written with (so the store holds every change its records
/// hold), and at most [`MAX_REPLAY`] entries follow its position. Says why not.
pub fn check_anchor(
    store: &Store,
    header: &IndexFileHeader,
    end: &IndexFileEnd,
) -> Result<(), String> {
    let durable = store.audit_watermark().map_err(|e| e.to_string())?;
    if end.covered > durable || header.position > end.covered {
        return Err(format!(
            "holds changes up to audit entry {}, the store ends at {durable}",
            end.covered.max(header.position)
        ));
    }
    if durable - header.position > MAX_REPLAY {
        return Err(format!(
            "{} audit entries behind (rebuilding is quicker past {MAX_REPLAY})",
            durable - header.position
        ));
    }
    let anchor = anchor_at(store, end.covered).map_err(|e| e.to_string())?;
    if anchor != Some(end.anchor) {
        return Err(format!(
            "audit entry {} of this store is not the one the file was written after",
            end.covered
        ));
    }
    Ok(())
}

/// The anchor of the audit entry at `position` (zeros at 0), if the store has it.
fn anchor_at(
    store: &Store,
    position: u64,
) -> Result<Option<[u8; 32]>, clearinghouse_storage::Error> {
    if position == 0 {
        return Ok(Some([0; 32]));
    }
    let page = store.list_audit(&AuditFilter::default(), Some(position - 1), 1)?;
    Ok(page
        .items
        .first()
        .filter(|e| e.sequence == position)
        .map(index_file::anchor_of))
}

/// What one save wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// The audit position the file covers.
    pub position: u64,
    /// Records written.
    pub records: u64,
    /// Size of the file.
    pub bytes: u64,
    /// How long the save took.
    pub elapsed: Duration,
}

/// How long a save waits for the writes its records may hold to be durable.
const DURABLE_WAIT: Duration = Duration::from_secs(10);

/// Writes the engine of `matching` to `path` (see the module docs). `Ok(None)` when a
/// compaction renumbered the slots during the copy (nothing replaced; try again later).
pub fn save(
    matching: &Matching,
    store: &Store,
    path: &Path,
) -> Result<Option<Saved>, IndexFileError> {
    save_with(matching, store, path, &mut || {})
}

/// [`save`], calling `between` after each chunk of slots is copied (outside the lock).
fn save_with(
    matching: &Matching,
    store: &Store,
    path: &Path,
    between: &mut dyn FnMut(),
) -> Result<Option<Saved>, IndexFileError> {
    let started = Instant::now();
    let header = IndexFileHeader {
        label: LABEL.to_owned(),
        position: matching.applied(),
    };
    let mut out = IndexFileWriter::create(path, &header)?;
    let generations = matching.engine_read().generations();
    let copied = copy_kind(matching, generations, &mut out, Engine::offers, between)?
        && copy_kind(matching, generations, &mut out, Engine::needs, between)?;
    if !copied {
        return Ok(None);
    }
    // The engine may hold records of writes committed but not yet synced (it reads the
    // current record of each entry it applies): the file is finished only once every
    // write up to the last committed one is durable, and names that entry.
    let covered = store.audit_committed()?;
    let deadline = Instant::now() + DURABLE_WAIT;
    while store.audit_watermark()? < covered {
        if !store.is_writable() {
            return Err(IndexFileError::Refused(
                "the store lost durability before the save's writes were synced".into(),
            ));
        }
        if Instant::now() >= deadline {
            return Err(IndexFileError::Refused(format!(
                "audit entry {covered} not durable after {DURABLE_WAIT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let anchor = anchor_at(store, covered)?.ok_or_else(|| {
        IndexFileError::Refused(format!("audit entry {covered} is not in the store"))
    })?;
    let (records, bytes) = out.finish(&IndexFileEnd { covered, anchor })?;
    Ok(Some(Saved {
        position: header.position,
        records,
        bytes,
        elapsed: started.elapsed(),
    }))
}

/// Copies every live slot of one kind, [`SAVE_CHUNK`] slots per hold of the read lock
/// (encoding only; the blocks are written after the lock is let go); `false` when the
/// slots were renumbered meanwhile.
fn copy_kind<R: Kept + clearinghouse_matching::index::Indexed>(
    matching: &Matching,
    generations: (u64, u64),
    out: &mut IndexFileWriter,
    postings: fn(&Engine) -> &Postings<R>,
    between: &mut dyn FnMut(),
) -> Result<bool, IndexFileError> {
    let mut slot = 0u32;
    loop {
        {
            let engine = matching.engine_read();
            if engine.generations() != generations {
                return Ok(false);
            }
            let p = postings(&engine);
            let end = u32::try_from(p.slot_features().len()).unwrap_or(u32::MAX);
            if slot >= end {
                return Ok(true);
            }
            let upto = end.min(slot.saturating_add(SAVE_CHUNK));
            for s in slot..upto {
                // A packed record is already in its stored encoding (`packing`).
                if let Some(bytes) = p.packed_at(s) {
                    out.push_encoded::<R>(bytes)?;
                } else if let Some(rec) = p.record(s) {
                    out.push(&*rec)?;
                }
            }
            slot = upto;
        }
        out.write_pending()?;
        between();
    }
}

/// When to save the index: at once after a start without a usable file, then whenever
/// the engine has applied entries the file lacks and `interval` has passed since the last
/// save, and at shutdown.
#[derive(Debug)]
pub struct Saver {
    path: PathBuf,
    interval: Duration,
    /// The position of the file on disk (none: no usable file) and when this saver last
    /// wrote or tried to (none: not yet); held for the whole of a save, so saves never
    /// overlap.
    state: Mutex<(Option<u64>, Option<Instant>)>,
}

impl Saver {
    /// A saver writing `path` every `interval` at most; `loaded` is the position of the
    /// file the index was loaded from, if it was (without one, the first save is due at
    /// once).
    pub fn new(path: PathBuf, interval: Duration, loaded: Option<u64>) -> Saver {
        let last = loaded.map(|_| Instant::now());
        Saver {
            path,
            interval,
            state: Mutex::new((loaded, last)),
        }
    }

    /// Saves when the engine has applied entries the file lacks and the interval has
    /// passed; skips when another save is running.
    pub fn save_if_due(&self, matching: &Matching, store: &Store) {
        match self.state.try_lock() {
            Ok(mut s) => self.save_with(&mut s, matching, store, false),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                self.save_with(&mut p.into_inner(), matching, store, false);
            }
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
    }

    /// Saves unless the file already covers what the engine applied (at shutdown),
    /// after any save still running.
    pub fn save_now(&self, matching: &Matching, store: &Store) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.save_with(&mut state, matching, store, true);
    }

    fn save_with(
        &self,
        state: &mut (Option<u64>, Option<Instant>),
        matching: &Matching,
        store: &Store,
        now: bool,
    ) {
        let (saved, at) = *state;
        let applied = matching.applied();
        let due = saved.is_none_or(|p| p < applied)
            && (now || at.is_none_or(|t| t.elapsed() >= self.interval));
        if !due {
            return;
        }
        match save(matching, store, &self.path) {
            Ok(Some(s)) => {
                tracing::info!(
                    position = s.position,
                    records = s.records,
                    bytes = s.bytes,
                    elapsed_ms = u64::try_from(s.elapsed.as_millis()).unwrap_or(u64::MAX),
                    "matching index saved"
                );
                *state = (Some(s.position), Some(Instant::now()));
            }
            Ok(None) => tracing::info!("matching index renumbered while saving; saving later"),
            Err(e) => {
                tracing::warn!(error = %e, path = %self.path.display(), "matching index not saved");
                *state = (saved, Some(Instant::now()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clearinghouse_domain::{PrincipalId, transition::Actor};

    use super::*;
    use crate::{
        app::{
            matching::Origin,
            test_support::{NOW, active_offer, app_on_temp_store, circulated_need, system_meta},
        },
        error::ApiError,
    };

    /// The engine's records, by id: the whole slim copies, so any field that differs shows.
    fn records(m: &Matching) -> (Vec<Offer>, Vec<Need>) {
        let e = m.engine_read();
        let mut offers: Vec<Offer> = e.offers().iter().map(|r| r.into_owned()).collect();
        let mut needs: Vec<Need> = e.needs().iter().map(|r| r.into_owned()).collect();
        offers.sort_by(|a, b| a.id.0.cmp(&b.id.0));
        needs.sort_by(|a, b| a.id.0.cmp(&b.id.0));
        (offers, needs)
    }

    /// Asserts that two engines hold the same records: first by id and version (a short
    /// message), then field by field.
    fn assert_same_engine(a: &Matching, b: &Matching) {
        let (ra, rb) = (records(a), records(b));
        let keys = |r: &(Vec<Offer>, Vec<Need>)| {
            (
                r.0.iter()
                    .map(|o| (o.id.0.clone(), o.version))
                    .collect::<Vec<_>>(),
                r.1.iter()
                    .map(|n| (n.id.0.clone(), n.version))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(keys(&ra), keys(&rb), "ids and versions");
        assert!(ra == rb, "same ids and versions, other fields");
    }

    fn create(store: &Store, i: usize) {
        store
            .create(active_offer(&format!("O{i}")), &system_meta("offer.create"))
            .expect("offer");
        store
            .create(
                circulated_need(&format!("N{i}")),
                &system_meta("need.create"),
            )
            .expect("need");
    }

    /// A store holding offers `O0..On` and needs `N0..Nn` (see [`create`]), indexed, and
    /// the path of its index file.
    fn indexed_store(n: usize) -> (tempfile::TempDir, crate::app::App, Arc<Store>, PathBuf) {
        let (dir, app) = app_on_temp_store();
        let store = Arc::clone(&app.store);
        for i in 0..n {
            create(&store, i);
        }
        app.matching.follow(&store);
        let path = dir.path().join(FILE_NAME);
        (dir, app, store, path)
    }

    fn withdraw_offer(store: &Store, id: &str) {
        store
            .update_unchecked::<Offer, ApiError>(id, None, &system_meta("offer.withdraw"), |o| {
                Ok(o.withdraw(Actor::Provider, &PrincipalId::system(), NOW, "gone")?)
            })
            .expect("withdraw offer");
    }

    fn withdraw_need(store: &Store, id: &str) {
        store
            .update_unchecked::<Need, ApiError>(id, None, &system_meta("need.withdraw"), |n| {
                Ok(n.withdraw(Actor::Requester, &PrincipalId::system(), NOW, "met")?)
            })
            .expect("withdraw need");
    }

    /// A start from the file applies the writes made after it was saved (creates and
    /// withdrawals of both kinds) and ends with exactly the engine a rebuild gives.
    #[test]
    fn a_start_from_the_file_applies_the_later_writes_and_equals_a_rebuild() {
        let (_dir, app, store, path) = indexed_store(40);
        withdraw_offer(&store, "O3");
        app.matching.follow(&store);
        let saved = save(&app.matching, &store, &path)
            .expect("save")
            .expect("not renumbered");
        assert_eq!(saved.position, store.audit_watermark().expect("watermark"));
        assert_eq!(saved.records, 39 + 40);
        for i in 40..50 {
            create(&store, i);
        }
        withdraw_offer(&store, "O7");
        withdraw_need(&store, "N8");
        withdraw_need(&store, "N45");

        let loaded = read(&path).expect("read");
        assert_eq!(loaded.header.position, saved.position);
        let (from_file, origin) =
            Matching::load_from(&store, NOW, Some(loaded)).expect("load from the file");
        assert_eq!(
            origin,
            Origin::File {
                position: saved.position
            }
        );
        assert_eq!(
            from_file.applied(),
            store.audit_watermark().expect("watermark")
        );
        let (rebuilt, origin) = Matching::load_from(&store, NOW, None).expect("rebuild");
        assert_eq!(origin, Origin::Store);
        let (offers, needs) = records(&from_file);
        assert_eq!((offers.len(), needs.len()), (48, 48));
        assert!(offers.iter().all(|o| o.id.0 != "O7") && needs.iter().all(|n| n.id.0 != "N45"));
        assert_same_engine(&from_file, &rebuilt);
    }

    /// A file written over another store's history (a data directory restored from a
    /// backup of elsewhere, a file copied in) is left aside: the index is rebuilt from
    /// this store and holds none of the other's records.
    #[test]
    fn a_file_of_another_store_is_left_aside() {
        let (dir_a, a) = app_on_temp_store();
        create(&a.store, 1);
        create(&a.store, 2);
        a.matching.follow(&a.store);
        let path = dir_a.path().join(FILE_NAME);
        save(&a.matching, &a.store, &path)
            .expect("save")
            .expect("saved");

        let (_dir_b, b) = app_on_temp_store();
        // Same number of entries, other records: only the anchor tells them apart.
        create(&b.store, 7);
        create(&b.store, 8);
        assert_eq!(
            a.store.audit_watermark().expect("a"),
            b.store.audit_watermark().expect("b")
        );
        let (m, origin) =
            Matching::load_from(&b.store, NOW, Some(read(&path).expect("read"))).expect("load");
        assert_eq!(origin, Origin::Store);
        let (offers, _) = records(&m);
        let ids: Vec<&str> = offers.iter().map(|o| o.id.0.as_str()).collect();
        assert_eq!(ids, ["O7", "O8"]);
    }

    /// A record that does not decode refuses the file with the decoding's own error,
    /// even while the reader still has blocks to hand over (then it only sees the
    /// indexing stop).
    #[test]
    fn a_record_that_does_not_decode_refuses_the_file_with_its_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        let header = IndexFileHeader {
            label: LABEL.to_owned(),
            position: 0,
        };
        let mut out = IndexFileWriter::create(&path, &header).expect("create");
        // Many more blocks than are let in flight.
        for i in 0..20_000 {
            out.push(&active_offer(&format!("O{i}"))).expect("push");
        }
        out.finish(&IndexFileEnd {
            covered: 0,
            anchor: [0; 32],
        })
        .expect("finish");
        let mut bytes = std::fs::read(&path).expect("read");
        // The first block: tag, count, length, CRC, then records (a length, then the
        // version byte, made unknown here).
        let block = 8 + 2 + 1 + LABEL.len() + 8 + 4;
        let body = block + 13;
        bytes[body + 4] = 99;
        let len = u32::from_be_bytes(bytes[block + 5..block + 9].try_into().expect("4"));
        let crc = crc32fast::hash(&bytes[body..body + len as usize]).to_be_bytes();
        bytes[block + 9..block + 13].copy_from_slice(&crc);
        std::fs::write(&path, &bytes).expect("write");
        let err = read(&path).expect_err("refused").to_string();
        assert!(!err.contains("stopped early"), "{err}");
        assert!(err.contains("offer") || err.contains("version"), "{err}");
    }

    /// A file holding changes this store has not got (a store rolled back to an older
    /// backup, a tail lost) is left aside, with the reason.
    #[test]
    fn a_file_ahead_of_the_store_is_left_aside() {
        let (_dir, app, store, path) = indexed_store(1);
        save(&app.matching, &store, &path)
            .expect("save")
            .expect("saved");
        let loaded = read(&path).expect("read");
        assert_eq!(
            check_anchor(&app.store, &loaded.header, &loaded.end),
            Ok(())
        );
        let mut end = loaded.end;
        end.covered += 5;
        let why = check_anchor(&app.store, &loaded.header, &end).expect_err("ahead");
        assert!(why.contains("the store ends at"), "{why}");
        // The store's entry at the covered position is another one: its anchor differs.
        let mut end = loaded.end;
        end.anchor[0] ^= 1;
        let why = check_anchor(&app.store, &loaded.header, &end).expect_err("other entry");
        assert!(why.contains("not the one"), "{why}");
    }

    /// Records change between the chunks a save copies: a withdrawal of an offer already
    /// copied, and of one not yet copied. The file holds the first at its old version,
    /// and a start from it must still end with the rebuilt engine (the position written
    /// is the one applied before the copy, so both withdrawals are applied again).
    #[test]
    fn records_changed_between_the_chunks_of_a_save_come_right_at_load() {
        let (dir, app) = app_on_temp_store();
        let store = Arc::clone(&app.store);
        for i in 0..(SAVE_CHUNK as usize + 100) {
            store
                .create(active_offer(&format!("O{i}")), &system_meta("offer.create"))
                .expect("offer");
        }
        app.matching.follow(&store);
        let path = dir.path().join(FILE_NAME);
        let mut chunks = 0;
        let saved = save_with(&app.matching, &store, &path, &mut || {
            chunks += 1;
            if chunks == 1 {
                withdraw_offer(&store, "O0");
                withdraw_offer(&store, &format!("O{}", SAVE_CHUNK + 50));
                create(&store, 9_999);
                app.matching.follow(&store);
            }
        })
        .expect("save")
        .expect("not renumbered");
        assert!(chunks >= 2, "the offers took {chunks} chunks");
        let loaded = read(&path).expect("read");
        assert!(loaded.offers.get("O0").is_some(), "copied before it left");
        assert!(loaded.end.covered > saved.position);
        let (from_file, origin) = Matching::load_from(&store, NOW, Some(loaded)).expect("load");
        assert!(matches!(origin, Origin::File { .. }));
        let (rebuilt, _) = Matching::load_from(&store, NOW, None).expect("rebuild");
        assert_same_engine(&from_file, &rebuilt);
        assert!(from_file.engine_read().offers().get("O0").is_none());
    }

    /// A compaction renumbering the slots while a save copies them abandons the save and
    /// leaves the file there was.
    #[test]
    fn a_save_during_a_compaction_is_given_up() {
        let (dir, app) = app_on_temp_store();
        let store = Arc::clone(&app.store);
        // Offers compact once over half their slots, and over COMPACT_AFTER, are dead.
        let n = SAVE_CHUNK as usize + 200;
        let withdrawn = n / 2 + 100;
        assert!(withdrawn > clearinghouse_matching::index::COMPACT_AFTER);
        for i in 0..n {
            store
                .create(active_offer(&format!("O{i}")), &system_meta("offer.create"))
                .expect("offer");
        }
        app.matching.follow(&store);
        let path = dir.path().join(FILE_NAME);
        let before = save(&app.matching, &store, &path)
            .expect("save")
            .expect("saved");
        let generations = app.matching.engine_read().generations();
        let mut chunks = 0;
        let again = save_with(&app.matching, &store, &path, &mut || {
            chunks += 1;
            if chunks == 1 {
                for i in 0..withdrawn {
                    withdraw_offer(&store, &format!("O{i}"));
                }
                app.matching.follow(&store);
            }
        })
        .expect("save");
        assert_ne!(
            app.matching.engine_read().generations(),
            generations,
            "the withdrawals compacted the offers"
        );
        assert_eq!(again, None, "given up");
        assert_eq!(read(&path).expect("read").header.position, before.position);
        assert!(!dir.path().join(format!("{FILE_NAME}.tmp")).exists());
    }

    /// Saves taken while writers change records (each write followed by the index, as
    /// the service does) mix moments, yet a start from any of them ends with the
    /// rebuilt engine.
    #[test]
    fn saves_taken_during_writes_load_to_the_store() {
        let (_dir, app, store, path) = indexed_store(200);
        std::thread::scope(|s| {
            let writer = s.spawn(|| {
                for i in 200..400 {
                    create(&store, i);
                    if i % 3 == 0 {
                        withdraw_offer(&store, &format!("O{}", i - 150));
                    }
                    if i % 4 == 0 {
                        withdraw_need(&store, &format!("N{}", i - 190));
                    }
                    app.matching.follow(&store);
                }
            });
            let mut saved = 0;
            while !writer.is_finished() {
                if save(&app.matching, &store, &path).expect("save").is_some() {
                    saved += 1;
                }
            }
            assert!(saved > 0, "no save completed");
        });
        let (from_file, origin) =
            Matching::load_from(&store, NOW, Some(read(&path).expect("read"))).expect("load");
        assert!(matches!(origin, Origin::File { .. }));
        let (rebuilt, _) = Matching::load_from(&store, NOW, None).expect("rebuild");
        assert_same_engine(&from_file, &rebuilt);
    }

    /// The saver writes at once when the index was rebuilt, then only when the engine
    /// has applied entries the file lacks and the interval has passed; at shutdown only
    /// when the file lacks entries.
    #[test]
    fn the_saver_saves_when_due() {
        let (_dir, app, store, path) = indexed_store(1);
        let saver = Saver::new(path.clone(), Duration::from_secs(3600), None);
        saver.save_if_due(&app.matching, &store);
        let first = read(&path).expect("saved at once").header.position;
        create(&store, 2);
        app.matching.follow(&store);
        saver.save_if_due(&app.matching, &store);
        assert_eq!(
            read(&path).expect("read").header.position,
            first,
            "not due yet"
        );
        saver.save_now(&app.matching, &store);
        let second = read(&path).expect("read").header.position;
        assert!(second > first);
        // Every save renames a new file into place: the inode tells whether one ran.
        let inode = || {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(&path).expect("metadata").ino()
        };
        let saved_inode = inode();
        saver.save_now(&app.matching, &store);
        assert_eq!(inode(), saved_inode, "nothing new: not written again");
        create(&store, 3);
        app.matching.follow(&store);
        saver.save_now(&app.matching, &store);
        assert_ne!(inode(), saved_inode, "new entries: written");
    }
}
