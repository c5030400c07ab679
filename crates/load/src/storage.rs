//! The storage-only workload (`storage-create`): the same durable write as `CreateNeed`
//! (need record, id map, index entries, counters, audit entry, idempotency record, one
//! group-commit fsync) through `Store::create` in this process, with no server, gRPC,
//! authentication or matching index. Run beside the RPC workloads on the same
//! filesystem, it is the ceiling the RPC path is compared with (quality.md P1).
//!
//! Each caller is an OS thread looping on `Store::create`; the store lives in a fresh
//! directory under `--probe-dir` (else the system's temporary directory), removed after
//! the run.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;

use clearinghouse::app::new_id;
use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, FundingMode, Money, Need, NeedFields, NeedId, Party,
    PartyFields, PartyId, PartyKind, PrincipalId, SubArea, Timestamp, need::NeedContext,
};
use clearinghouse_storage::{Embedded, IdempotencyKey, Store, StoreOptions, WriteMeta};
use tonic::Code;

use crate::{
    error::LoadError,
    stats::{Recorder, Shared, Window},
};

/// The method name the report uses for these writes.
pub const METHOD: &str = "Store::create(need)";

const NOW: Timestamp = Timestamp(1_795_000_000_000);

fn party() -> Result<Party, LoadError> {
    Party::new(
        PartyId(new_id()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: "Kenya".into(),
            short_name: "KEN".into(),
            country_code: "KEN".into(),
            external_id: String::new(),
            description: String::new(),
        },
        NOW,
        PrincipalId::system(),
    )
    .map_err(|e| LoadError::Storage(format!("party: {e}")))
}

/// A need of the size the RPC workload sends (title, a two-sentence description, area,
/// two sub-areas, two kinds of help, a budget, two languages).
fn need(requester: &Party, n: u64) -> Result<Need, LoadError> {
    Need::new(
        NeedContext {
            id: NeedId(new_id()),
            requester,
            now: NOW,
            actor: PrincipalId::system(),
        },
        NeedFields {
            title: format!("Training of licensing officers #{n}"),
            description: "Two-week course on dual-use control lists for 25 licensing and \
                          customs officers, with a national workshop and translated lists as \
                          the expected outcome."
                .into(),
            area: Some(Area::ExportTransshipment),
            sub_areas: vec![SubArea::ControlLists, SubArea::ExportLicensing],
            assistance_kinds: vec![
                AssistanceKind::Training,
                AssistanceKind::TranslationDocumentation,
            ],
            accepted_funding_modes: vec![FundingMode::SingleDonor, FundingMode::JointlyFunded],
            estimated_budget: CurrencyCode::parse("USD").map(|currency| Money {
                currency,
                minor_units: 25_000_000,
            }),
            languages: vec!["en".into(), "fr".into()],
            ..NeedFields::default()
        },
    )
    .map_err(|e| LoadError::Storage(format!("need: {e}")))
}

fn meta(caller: usize, rng: &mut StdRng) -> WriteMeta {
    let payload_hash: [u8; 32] = rng.random();
    WriteMeta {
        actor: PrincipalId(format!("load-{caller}")),
        action: "need.create".to_owned(),
        now: NOW,
        idempotency: Some(IdempotencyKey {
            scope: format!("load-{caller}"),
            request_id: new_id(),
            payload_hash,
        }),
    }
}

/// Runs `callers` threads of durable need creates in a store under `dir` for `warmup`
/// plus `duration`; returns each caller's recorder.
pub fn run(
    dir: Option<&Path>,
    engine: Embedded,
    callers: usize,
    warmup: Duration,
    duration: Duration,
    seed: u64,
    progress: &Arc<Shared>,
) -> Result<Vec<Recorder>, LoadError> {
    let tmp = match dir {
        Some(d) => tempfile::Builder::new()
            .prefix("storage-only.")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("storage-only.").tempdir(),
    }
    .map_err(|e| LoadError::Storage(format!("temporary store directory: {e}")))?;
    let store = Store::open_embedded(tmp.path(), engine, &StoreOptions::default())
        .map_err(|e| LoadError::Storage(format!("open the store: {e}")))?;
    let store = Arc::new(store);
    let requester = party()?;
    store
        .create(
            requester.clone(),
            &meta(usize::MAX, &mut StdRng::seed_from_u64(seed)),
        )
        .map_err(|e| LoadError::Storage(format!("create the party: {e}")))?;
    let requester = Arc::new(requester);
    let start = Instant::now();
    let window = Window {
        from: start + warmup,
        until: start + warmup + duration,
    };
    let threads = (0..callers)
        .map(|i| {
            let (store, requester) = (Arc::clone(&store), Arc::clone(&requester));
            let mut rec = Recorder::new(window, Arc::clone(progress));
            let mut rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64 * 7919));
            thread::Builder::new()
                .name(format!("storage-caller-{i}"))
                .spawn(move || -> Result<Recorder, LoadError> {
                    let mut n = (i as u64) << 32;
                    while !rec.done() {
                        n += 1;
                        let record = need(&requester, n)?;
                        let m = meta(i, &mut rng);
                        let started = Instant::now();
                        let outcome = store.create(record, &m).map(|_| ()).map_err(|e| {
                            note_first_failure(&e);
                            Code::Internal
                        });
                        rec.record(METHOD, started, outcome);
                    }
                    Ok(rec)
                })
                .map_err(|e| LoadError::Storage(format!("start a storage caller: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut recorders = Vec::with_capacity(callers);
    for t in threads {
        let rec = t
            .join()
            .map_err(|_| LoadError::Task("a storage caller panicked".to_owned()))??;
        recorders.push(rec);
    }
    match footprint(&store) {
        Ok(f) => eprintln!(
            "storage-create: {} needs; {} bytes on disk, {} logical bytes (keys + values of every \
             tree: records, indexes, audit entries, idempotency records, counters); \
             {:.0} bytes on disk and {:.0} logical bytes per need, ratio {:.2}",
            f.needs,
            f.disk,
            f.logical,
            f.disk as f64 / f.needs.max(1) as f64,
            f.logical as f64 / f.needs.max(1) as f64,
            f.disk as f64 / f.logical.max(1) as f64,
        ),
        Err(e) => eprintln!("storage-create: no footprint: {e}"),
    }
    drop(store);
    Ok(recorders)
}

/// What the store holds after a run: needs, bytes on disk, bytes of keys and values.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// Needs in the store.
    pub needs: u64,
    /// Bytes on disk, as the engine reports them.
    pub disk: u64,
    /// Sum of the lengths of every key and value in every tree.
    pub logical: u64,
    /// Per tree: entries, and the sum of the lengths of their keys and values.
    pub trees: BTreeMap<String, TreeBytes>,
}

/// Entries of one tree and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TreeBytes {
    /// Key-value pairs.
    pub entries: u64,
    /// Sum of the lengths of the keys and values.
    pub bytes: u64,
}

/// Measures `store`'s [`Footprint`].
pub fn footprint(store: &Store) -> Result<Footprint, clearinghouse_storage::Error> {
    let mut trees: BTreeMap<String, TreeBytes> = BTreeMap::new();
    store
        .engine()
        .snapshot(&clearinghouse_storage::trees::all(), &mut |tree, k, v| {
            let t = trees.entry(tree.to_owned()).or_default();
            t.entries += 1;
            t.bytes += (k.len() + v.len()) as u64;
            Ok(())
        })?;
    Ok(Footprint {
        needs: store.count::<Need>()?,
        disk: store.size_on_disk()?,
        logical: trees.values().map(|t| t.bytes).sum(),
        trees,
    })
}

/// The first failed write is worth a line on stderr; the report counts them all.
fn note_first_failure(e: &clearinghouse_storage::Error) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprintln!("storage-create: a write failed: {e}");
    }
}
