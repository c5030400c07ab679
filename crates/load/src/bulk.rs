//! The `bulk` workload: fills a new data directory with many realistic records, fast,
//! for the measurements that need a large store (RSS, restart time, bytes on disk).
//!
//! It writes through `clearinghouse_storage::Store` what the service writes for the same
//! calls — the payloads of the RPC workloads ([`crate::payload`]) converted as
//! `CreateNeed` / `CreateOffer` convert them, the record, id map, index entries,
//! counters, idempotency record and audit entry of each create, then the lifecycle
//! transitions (`need.submit`, `need.authenticate`, `need.circulate`, `offer.activate`)
//! as versioned updates with their own audit entries — except that each transaction
//! carries a batch of records of one kind and action instead of one. The reference
//! parties and the bootstrap admin key are created first, as `clearinghouse serve` does
//! on an empty directory, so the server starts on the result as on its own data.
//!
//! `--update-pass` then changes the contact of every need and offer once (`need.update`,
//! `offer.update`, a field editable in every status the loader leaves), so the store's
//! footprint can be measured after updates too.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;

use clearinghouse::{
    api,
    app::{clock, new_id, seed},
    convert,
};
use clearinghouse_domain::{
    Need, NeedField, NeedId, Offer, OfferField, OfferId, Party, PartyId, Principal, PrincipalId,
    Timestamp, geo, need::NeedContext, offer::OfferContext, transition::Actor,
    validation::Violations,
};
use clearinghouse_storage::{
    Embedded, IdempotencyKey, Resource, Store, StoreOptions, TxError, Txn, UpdateError, WriteMeta,
    engine::sled::create_with_segment_size,
};

use crate::{
    error::LoadError,
    payload::{self, Taxonomy},
    storage::{Footprint, TreeBytes, footprint},
};

/// What to load and where.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The data directory (absent or empty).
    pub dir: PathBuf,
    /// Needs plus offers to create.
    pub records: u64,
    /// Records per transaction.
    pub batch: usize,
    /// Share of offers among the records, in percent.
    pub offers_pct: u64,
    /// Seed of the payloads and the lifecycle mix.
    pub seed: u64,
    /// Whether to update the contact of every record once after loading.
    pub update_pass: bool,
    /// Print a progress line to stderr this often (zero: never).
    pub progress: Duration,
    /// sled segment size (KiB) to create the store with, instead of the store's own.
    pub segment_kib: Option<usize>,
    /// The embedded engine of the new store.
    pub engine: Embedded,
}

/// Where a need's lifecycle stops: the shares (percent) of needs left in DRAFT,
/// SUBMITTED, AUTHENTICATED and CIRCULATED.
const NEED_STAGES: [(u64, usize); 4] = [(20, 0), (10, 1), (5, 2), (65, 3)];
/// The transitions, in order, that bring a need to stage 1, 2 and 3.
const NEED_STEPS: [&str; 3] = ["need.submit", "need.authenticate", "need.circulate"];
/// Share (percent) of offers activated; the others stay in DRAFT.
const OFFERS_ACTIVE_PCT: u64 = 85;

/// What a load did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Needs created.
    pub needs: u64,
    /// Offers created.
    pub offers: u64,
    /// Needs brought to CIRCULATED.
    pub needs_circulated: u64,
    /// Offers brought to ACTIVE.
    pub offers_active: u64,
    /// Transactions committed (each one durable before the next).
    pub transactions: u64,
    /// Seconds spent loading (creates and transitions).
    pub load_seconds: f64,
    /// The store after loading.
    pub after_load: FootprintReport,
    /// Seconds spent on the update pass, if it ran.
    pub update_seconds: Option<f64>,
    /// The store after the update pass, if it ran.
    pub after_updates: Option<FootprintReport>,
}

/// A [`Footprint`] with its per-record figures.
#[derive(Debug, Clone, Serialize)]
pub struct FootprintReport {
    /// Needs plus offers.
    pub records: u64,
    /// Bytes on disk, as the engine reports them.
    pub disk_bytes: u64,
    /// Sum of the lengths of every key and value in every tree.
    pub logical_bytes: u64,
    /// Bytes on disk per record.
    pub disk_per_record: f64,
    /// Logical bytes per record.
    pub logical_per_record: f64,
    /// Bytes on disk over logical bytes.
    pub ratio: f64,
    /// Per tree: entries and logical bytes.
    pub trees: BTreeMap<String, TreeBytes>,
}

impl FootprintReport {
    fn of(f: Footprint, records: u64) -> FootprintReport {
        let per = |x: u64| x as f64 / records.max(1) as f64;
        FootprintReport {
            records,
            disk_bytes: f.disk,
            logical_bytes: f.logical,
            disk_per_record: per(f.disk),
            logical_per_record: per(f.logical),
            ratio: f.disk as f64 / f.logical.max(1) as f64,
            trees: f.trees,
        }
    }

    /// One line for people.
    pub fn line(&self) -> String {
        format!(
            "{} records; {} bytes on disk, {} logical bytes; {:.0} on disk and {:.0} logical \
             bytes per record, ratio {:.2}",
            self.records,
            self.disk_bytes,
            self.logical_bytes,
            self.disk_per_record,
            self.logical_per_record,
            self.ratio
        )
    }
}

/// Measures the store in `dir` (opened with the default options) and reports it per
/// record (needs plus offers).
pub fn measure(dir: &Path) -> Result<FootprintReport, LoadError> {
    let store = open(dir, Embedded::found_in(dir).unwrap_or_default())?;
    report(&store)
}

fn report(store: &Store) -> Result<FootprintReport, LoadError> {
    let f = footprint(store).map_err(storage_err("measure the store"))?;
    let offers = store
        .count::<Offer>()
        .map_err(storage_err("count offers"))?;
    let records = f.needs + offers;
    Ok(FootprintReport::of(f, records))
}

fn open(dir: &Path, engine: Embedded) -> Result<Store, LoadError> {
    Store::open_embedded(dir, engine, &StoreOptions::default())
        .map_err(storage_err("open the store"))
}

fn storage_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> LoadError {
    move |e| LoadError::Storage(format!("{what}: {e}"))
}

fn update_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(UpdateError<E>) -> LoadError {
    move |e| match e {
        UpdateError::Store(e) => LoadError::Storage(format!("{what}: {e}")),
        UpdateError::Rejected(e) => LoadError::Storage(format!("{what}: refused: {e}")),
    }
}

/// One generated record before it is written: the record and its idempotency key.
struct Fresh<R> {
    rec: R,
    key: Option<IdempotencyKey>,
}

/// The loader's state: the store, who acts, the requesters and the generator.
struct Loader<'a> {
    store: &'a Store,
    admin: Principal,
    states: Vec<Party>,
    tax: Taxonomy,
    rng: StdRng,
    transactions: u64,
}

impl Loader<'_> {
    fn meta(&self, action: &str, now: Timestamp) -> WriteMeta {
        WriteMeta {
            actor: self.admin.id.clone(),
            action: action.to_owned(),
            now,
            idempotency: None,
        }
    }

    fn state(&mut self) -> Result<Party, LoadError> {
        let i = self.rng.random_range(0..self.states.len().max(1));
        self.states
            .get(i)
            .cloned()
            .ok_or_else(|| LoadError::Storage("no State parties were seeded".to_owned()))
    }

    fn need(&mut self, seq: u64, now: Timestamp) -> Result<Fresh<Need>, LoadError> {
        let requester = self.state()?;
        let mut msg = payload::need(&mut self.rng, &self.tax, seq);
        msg.requester_party_id = requester.id.0.clone();
        let request_id = payload::request_id(&mut self.rng);
        let key = api::idempotency(&self.admin, &request_id, &msg)
            .map_err(|e| LoadError::Storage(format!("idempotency key: {e}")))?;
        let mut v = Violations::new("need");
        let fields = convert::need::fields_in(&mut v, &msg);
        if let Some(e) = v.merge(None) {
            return Err(LoadError::Storage(format!("generated need: {e}")));
        }
        let rec = Need::new(
            NeedContext {
                id: NeedId(new_id()),
                requester: &requester,
                now,
                actor: self.admin.id.clone(),
            },
            fields,
        )
        .map_err(|e| LoadError::Storage(format!("generated need: {e}")))?;
        Ok(Fresh { rec, key })
    }

    fn offer(&mut self, seq: u64, now: Timestamp) -> Result<Fresh<Offer>, LoadError> {
        let provider = self.state()?;
        let mut msg = payload::offer(&mut self.rng, &self.tax, seq);
        msg.provider_party_id = provider.id.0.clone();
        let request_id = payload::request_id(&mut self.rng);
        let key = api::idempotency(&self.admin, &request_id, &msg)
            .map_err(|e| LoadError::Storage(format!("idempotency key: {e}")))?;
        let mut v = Violations::new("offer");
        let fields = convert::offer::fields_in(&mut v, &msg);
        if let Some(e) = v.merge(None) {
            return Err(LoadError::Storage(format!("generated offer: {e}")));
        }
        let rec = Offer::new(
            OfferContext {
                id: OfferId(new_id()),
                provider: provider.id.clone(),
                now,
                actor: self.admin.id.clone(),
            },
            fields,
        )
        .map_err(|e| LoadError::Storage(format!("generated offer: {e}")))?;
        Ok(Fresh { rec, key })
    }

    /// Creates `batch` in one transaction, as `Store::create` creates one record.
    fn create<R: Resource>(
        &mut self,
        action: &str,
        batch: &[Fresh<R>],
        now: Timestamp,
    ) -> Result<(), LoadError> {
        self.store
            .transaction::<(), String>(&self.meta(action, now), |txn| {
                for f in batch {
                    if let Some(k) = &f.key {
                        if txn.replay::<R, String>(k)?.is_some() {
                            return Err(TxError::rejected(format!(
                                "request {} was seen before",
                                k.request_id
                            )));
                        }
                        txn.remember::<R, String>(k, f.rec.id())?;
                    }
                    txn.create::<R, String>(&f.rec)?;
                }
                Ok(())
            })
            .map_err(update_err("create a batch"))?;
        self.transactions += 1;
        Ok(())
    }

    /// Applies `change` to each record of `ids` (at its current version) in one
    /// transaction audited as `action`.
    fn update<R: Resource>(
        &mut self,
        action: &str,
        ids: &[String],
        now: Timestamp,
        change: &dyn Fn(&R) -> Result<R, String>,
    ) -> Result<(), LoadError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.store
            .transaction::<(), String>(&self.meta(action, now), |txn: &mut Txn<'_>| {
                for id in ids {
                    txn.update::<R, String>(id, None, &|_| Ok(()), change)?;
                }
                Ok(())
            })
            .map_err(update_err("update a batch"))?;
        self.transactions += 1;
        Ok(())
    }
}

/// How far a need goes (0 DRAFT … 3 CIRCULATED).
fn need_stage(rng: &mut StdRng) -> usize {
    let mut x = rng.random_range(0..100u64);
    for (pct, stage) in NEED_STAGES {
        if x < pct {
            return stage;
        }
        x -= pct;
    }
    NEED_STAGES.len() - 1
}

fn transition(n: &Need, step: usize, who: &PrincipalId, now: Timestamp) -> Result<Need, String> {
    let r = match step {
        0 => n.submit(Actor::Broker, who, now),
        1 => n.authenticate(Actor::Broker, who, now),
        _ => n.circulate(Actor::Broker, who, now),
    };
    r.map_err(|e| e.to_string())
}

fn is_empty_dir(dir: &Path) -> Result<bool, LoadError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(LoadError::Storage(format!("{}: {e}", dir.display()))),
    }
}

/// The admin principal whose key `clearinghouse serve` would have written: its id is the
/// key's public part (`chk_<id>_<secret>`).
fn bootstrap_admin(store: &Store, dir: &Path) -> Result<Principal, LoadError> {
    let path = dir.join(seed::BOOTSTRAP_KEY_FILE);
    let key = std::fs::read_to_string(&path)
        .map_err(|e| LoadError::Storage(format!("read {}: {e}", path.display())))?;
    let id = key
        .trim()
        .strip_prefix("chk_")
        .and_then(|rest| rest.rsplit_once('_'))
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| LoadError::Storage(format!("{} holds no API key", path.display())))?;
    store
        .get::<Principal>(&id)
        .map_err(storage_err("read the bootstrap admin"))?
        .ok_or_else(|| LoadError::Storage(format!("no principal {id} for the bootstrap key")))
}

/// Loads `plan.records` records into the new store in `plan.dir`; the store is closed
/// (flushed) when this returns.
pub fn run(plan: &Plan) -> Result<Summary, LoadError> {
    if plan.records == 0 || plan.batch == 0 || plan.offers_pct > 100 {
        return Err(LoadError::Options(
            "--records and --batch must be at least 1, --offers-pct at most 100".to_owned(),
        ));
    }
    if !is_empty_dir(&plan.dir)? {
        return Err(LoadError::Options(format!(
            "{} is not empty; bulk loads into a new data directory",
            plan.dir.display()
        )));
    }
    std::fs::create_dir_all(&plan.dir)
        .map_err(|e| LoadError::Storage(format!("{}: {e}", plan.dir.display())))?;
    if let Some(kib) = plan.segment_kib {
        create_with_segment_size(&plan.dir, kib.saturating_mul(1024)).map_err(|e| {
            LoadError::Storage(format!("create the store with {kib} KiB segments: {e}"))
        })?;
    }
    let store = open(&plan.dir, plan.engine)?;
    seed::ensure_reference_data(&store, &plan.dir, clock::now())
        .map_err(|e| LoadError::Storage(format!("reference data: {e}")))?;
    let admin = bootstrap_admin(&store, &plan.dir)?;
    let states = geo::un_members()
        .map(|c| store.get::<Party>(&PartyId::for_state(c.iso3).0))
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage_err("read the State parties"))?;
    let mut loader = Loader {
        store: &store,
        admin,
        states,
        tax: Taxonomy::load(),
        rng: StdRng::seed_from_u64(plan.seed),
        transactions: 0,
    };
    let started = Instant::now();
    let mut last_note = started;
    let (mut needs, mut offers) = (Vec::new(), Vec::new());
    let (mut circulated, mut active) = (0u64, 0u64);
    let mut done = 0u64;
    while done < plan.records {
        let n = (plan.records - done).min(plan.batch as u64);
        let now = clock::now();
        // Offers get their share of each batch's worth of records, in batches of their own.
        let offers_due = (done + n) * plan.offers_pct / 100;
        if (offers.len() as u64) < offers_due {
            let k = (offers_due - offers.len() as u64).min(n);
            let batch = (0..k)
                .map(|i| loader.offer(done + i, now))
                .collect::<Result<Vec<_>, _>>()?;
            loader.create("offer.create", &batch, now)?;
            let to_activate: Vec<String> = batch
                .iter()
                .filter(|_| loader.rng.random_range(0..100) < OFFERS_ACTIVE_PCT)
                .map(|f| f.rec.id.0.clone())
                .collect();
            let who = loader.admin.id.clone();
            loader.update::<Offer>("offer.activate", &to_activate, now, &|o| {
                o.activate(Actor::Broker, &who, now)
                    .map_err(|e| e.to_string())
            })?;
            active += to_activate.len() as u64;
            offers.extend(batch.into_iter().map(|f| f.rec.id.0));
            done += k;
        } else {
            let batch = (0..n)
                .map(|i| loader.need(done + i, now))
                .collect::<Result<Vec<_>, _>>()?;
            loader.create("need.create", &batch, now)?;
            let stages: Vec<usize> = batch.iter().map(|_| need_stage(&mut loader.rng)).collect();
            let who = loader.admin.id.clone();
            for (step, action) in NEED_STEPS.iter().enumerate() {
                let ids: Vec<String> = batch
                    .iter()
                    .zip(&stages)
                    .filter(|(_, s)| **s > step)
                    .map(|(f, _)| f.rec.id.0.clone())
                    .collect();
                loader
                    .update::<Need>(action, &ids, now, &|need| transition(need, step, &who, now))?;
            }
            circulated += stages.iter().filter(|s| **s == 3).count() as u64;
            needs.extend(batch.into_iter().map(|f| f.rec.id.0));
            done += n;
        }
        if !plan.progress.is_zero() && last_note.elapsed() >= plan.progress {
            last_note = Instant::now();
            eprintln!(
                "bulk: {done} / {} records after {:.0} s",
                plan.records,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let after_load = report(&store)?;
    eprintln!("bulk: loaded in {load_seconds:.1} s; {}", after_load.line());
    let (update_seconds, after_updates) = if plan.update_pass {
        let started = Instant::now();
        update_contacts(&mut loader, &needs, &offers, plan.batch)?;
        let secs = started.elapsed().as_secs_f64();
        let after = report(&store)?;
        eprintln!("bulk: update pass in {secs:.1} s; {}", after.line());
        (Some(secs), Some(after))
    } else {
        (None, None)
    };
    let transactions = loader.transactions;
    store.close().map_err(storage_err("close the store"))?;
    Ok(Summary {
        needs: needs.len() as u64,
        offers: offers.len() as u64,
        needs_circulated: circulated,
        offers_active: active,
        transactions,
        load_seconds,
        after_load,
        update_seconds,
        after_updates,
    })
}

/// Changes the contact of every need and offer once, in batches, as `UpdateNeed` /
/// `UpdateOffer` with the mask `contact` would.
fn update_contacts(
    loader: &mut Loader<'_>,
    needs: &[String],
    offers: &[String],
    batch: usize,
) -> Result<(), LoadError> {
    let who = loader.admin.id.clone();
    let parties: HashMap<String, Party> = loader
        .states
        .iter()
        .map(|p| (p.id.0.clone(), p.clone()))
        .collect();
    for chunk in needs.chunks(batch) {
        let now = clock::now();
        loader.update::<Need>("need.update", chunk, now, &|n| {
            let requester = parties
                .get(&n.requester.0)
                .ok_or_else(|| format!("no requester {}", n.requester))?;
            let mut src = n.fields.clone();
            src.contact.name = "Deputy desk officer, Permanent Mission".to_owned();
            n.updated(requester, &src, &[NeedField::Contact], now, &who)
                .map_err(|e| e.to_string())
        })?;
    }
    for chunk in offers.chunks(batch) {
        let now = clock::now();
        loader.update::<Offer>("offer.update", chunk, now, &|o| {
            let mut src = o.fields.clone();
            src.contact.name = "Deputy programme manager".to_owned();
            o.updated(&src, &[OfferField::Contact], now, &who)
                .map_err(|e| e.to_string())
        })?;
    }
    Ok(())
}

/// Runs `bulk` or `footprint` as the options say; returns the JSON document to print
/// (the summary of a load, or the footprint).
pub fn run_args(args: &crate::Args) -> Result<String, LoadError> {
    let problems = args.problems();
    if !problems.is_empty() {
        return Err(LoadError::Options(problems.join("; ")));
    }
    let dir = args
        .data_dir
        .clone()
        .ok_or_else(|| LoadError::Options("--data-dir is required".to_owned()))?;
    let json = if args.workload == crate::Workload::Footprint {
        let f = measure(&dir)?;
        eprintln!("footprint: {}", f.line());
        serde_json::to_string_pretty(&f)
    } else {
        let summary = run(&Plan {
            dir,
            records: args.records,
            batch: args.batch,
            offers_pct: args.offers_pct,
            seed: args.seed,
            update_pass: args.update_pass,
            segment_kib: args.segment_kib,
            engine: args.engine,
            progress: args.progress,
        })?;
        serde_json::to_string_pretty(&summary)
    };
    json.map_err(|e| LoadError::Storage(format!("encode the summary: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_stages_cover_every_percent() {
        assert_eq!(NEED_STAGES.iter().map(|(p, _)| p).sum::<u64>(), 100);
    }
}
