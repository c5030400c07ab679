//! The model-based conformance test over every kind of record the store keeps (parties,
//! needs, offers, principals, matching settings, matches, feedback and decisions): random
//! creates with request ids, versioned updates, cross-kind transactions, short pages and
//! close-and-reopen cycles are run against the store and against a plain in-memory model,
//! and after every reopen and at the end the two must agree on records, versions, every
//! index value ever used (by ids, in creation order, and its newest record), unique keys,
//! counts, each record's audit trail and the principal generation.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Debug,
};

use proptest::{prelude::*, test_runner::TestRunner};

use clearinghouse_domain::{
    CurrencyCode, FeedbackEntry, FundingMode, Match, MatchStatus, MatchingSettings, Money, Need,
    NeedFeedback, NeedId, NeedStatus, Offer, OfferId, OfferStatus, Party, PartyId, PartyKind,
    Principal, PrincipalId, Role,
    matches::{Acceptance, Contribution, ContributionRole, Origin, Proposal, ReasonCode},
    transition::Actor,
};
use clearinghouse_storage::{
    AuditFilter, Created, Error, IdempotencyKey, ListQuery, Resource, Store, TxError, Txn,
    UpdateError, WriteMeta,
    decision::{Answer, Decision, DecisionEvent, Shown},
};

use crate::support::{Harness, fixtures::*, meta};

// ------------------------------------------------------------------ the kinds

/// A kind the model drives: how to build a valid record and how to change one.
trait Kind: Resource + PartialEq + Debug {
    /// Id of record number `i` (ids carry the kind, so audit filters by id are exact).
    fn id_of(i: u8) -> String;
    /// A valid record numbered `i`, variant `v` of its indexed and unique fields.
    fn make(i: u8, v: u8) -> Self;
    /// The record after change `v` (indexed fields, unique key, status or plain text).
    fn change(&self, v: u8) -> Self;
}

const COUNTRIES: [&str; 4] = ["KEN", "PER", "UGA", "FRA"];

fn country(v: u8) -> &'static str {
    COUNTRIES[usize::from(v) % COUNTRIES.len()]
}

/// A small set of external ids, so that unique keys collide often.
fn external(v: u8) -> String {
    match v % 3 {
        0 => String::new(),
        n => format!("x{n}"),
    }
}

impl Kind for Party {
    fn id_of(i: u8) -> String {
        format!("party-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        let mut p = state(country(v));
        p.id = PartyId(Self::id_of(i));
        p.fields.external_id = external(v);
        p
    }
    fn change(&self, v: u8) -> Self {
        let mut p = self.clone();
        match v % 4 {
            0 => p.fields.display_name = format!("State {v}"),
            1 => p.fields.external_id = external(v / 4),
            2 => p.fields.country_code = country(v / 4).into(),
            _ => {
                // Changes the kind index and drops the country and region entries.
                p.kind = PartyKind::InternationalOrganization;
                p.fields.kind = Some(PartyKind::InternationalOrganization);
                p.fields.country_code = String::new();
            }
        }
        p
    }
}

impl Kind for Need {
    fn id_of(i: u8) -> String {
        format!("need-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        let mut n = need(&Self::id_of(i), &state(country(v)), "t");
        n.fields.external_id = external(v);
        n
    }
    fn change(&self, v: u8) -> Self {
        let mut n = self.clone();
        match v % 4 {
            0 => n.fields.title = format!("t{v}"),
            1 => n.fields.external_id = external(v / 4),
            2 if n.status == NeedStatus::Draft => {
                n = n
                    .submit(Actor::Requester, &actor(), T0)
                    .expect("a draft can be submitted");
            }
            2 => n.fields.public_summary = format!("s{v}"),
            _ => n.fields.country_code = country(v / 4).into(),
        }
        n
    }
}

impl Kind for Offer {
    fn id_of(i: u8) -> String {
        format!("offer-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        let mut o = offer(&Self::id_of(i), &format!("org-{}", v % 2));
        o.fields.external_id = external(v);
        o
    }
    fn change(&self, v: u8) -> Self {
        let mut o = self.clone();
        match v % 4 {
            0 => o.fields.description = format!("d{v}"),
            1 => o.fields.external_id = external(v / 4),
            2 if o.status == OfferStatus::Draft => {
                o = o
                    .activate(Actor::Provider, &actor(), T0)
                    .expect("a draft can be activated");
            }
            2 => o.fields.description = format!("active {v}"),
            _ => o.fields.scope.countries = vec![country(v / 4).into()],
        }
        o
    }
}

impl Kind for Principal {
    fn id_of(i: u8) -> String {
        format!("principal-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        let role = [Role::Admin, Role::Broker, Role::Requester, Role::Provider][usize::from(v % 4)];
        Principal {
            id: PrincipalId(Self::id_of(i)),
            version: 1,
            display_name: format!("principal {i}"),
            role,
            party: role
                .needs_party()
                .then(|| PartyId(format!("party-{}", v % 3))),
            key_hash: [v; 32],
            expires_at: None,
            revoked_at: None,
            created_at: T0,
            created_by: actor(),
        }
    }
    fn change(&self, v: u8) -> Self {
        let mut p = self.clone();
        match v % 3 {
            0 => {
                p.revoked_at = if p.revoked_at.is_some() {
                    None
                } else {
                    Some(T0)
                }
            }
            1 if p.party.is_some() => p.party = Some(PartyId(format!("party-{}", v % 3))),
            _ => p.display_name = format!("renamed {v}"),
        }
        p
    }
}

impl Kind for MatchingSettings {
    fn id_of(_: u8) -> String {
        MatchingSettings::ID.to_owned()
    }
    fn make(_: u8, v: u8) -> Self {
        MatchingSettings {
            version: 1,
            weights: [0.24, 0.1, 0.07, 0.1, 0.08, 0.03, 0.12, 0.08, 0.18],
            gates: [0.6, 0.5, 0.6],
            top_k: 10 + u32::from(v),
            exact_consortium_max: 16,
            base_currency: CurrencyCode::USD,
            rates: Vec::new(),
            updated_at: T0,
        }
    }
    fn change(&self, v: u8) -> Self {
        let mut s = self.clone();
        s.top_k = 20 + u32::from(v);
        s.rates = vec![(
            CurrencyCode::parse("EUR").expect("eur"),
            100 + u64::from(v),
            100,
        )];
        s
    }
}

fn contribution(offer: u8, provider: u8) -> Contribution {
    Contribution {
        offer: OfferId(format!("offer-{offer}")),
        provider: PartyId(format!("org-{provider}")),
        role: ContributionRole::Funding,
        amount: Some(Money {
            currency: CurrencyCode::USD,
            minor_units: 100_000,
        }),
        in_kind: String::new(),
        acceptance: Acceptance::Pending,
        decline_reason: None,
    }
}

impl Kind for Match {
    fn id_of(i: u8) -> String {
        format!("match-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        Match::propose(
            Proposal {
                id: Self::id_of(i),
                need: NeedId(format!("need-{}", v % 3)),
                requester: PartyId(format!("party-{}", v % 2)),
                funding_mode: FundingMode::JointlyFunded,
                contributions: vec![contribution(v % 3, v % 2)],
                score_milli: 500 + u32::from(v),
                explanation: vec![format!("variant {v}")],
                origin: Origin::Broker,
            },
            T0,
            actor(),
        )
        .expect("valid match")
    }
    fn change(&self, v: u8) -> Self {
        let mut m = self.clone();
        match v % 3 {
            0 => {
                m.status = [
                    MatchStatus::AcceptedByRequester,
                    MatchStatus::Agreed,
                    MatchStatus::Declined,
                ][usize::from(v / 3 % 3)];
            }
            1 if m.contributions.len() < 3 => {
                m.contributions.push(contribution(3 + v % 3, 2 + v % 2));
            }
            _ => m.score_milli = 100 + u32::from(v),
        }
        m
    }
}

impl Kind for FeedbackEntry {
    fn id_of(i: u8) -> String {
        format!("feedback-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        FeedbackEntry {
            id: Self::id_of(i),
            version: 1,
            need: NeedId(format!("need-{}", v % 3)),
            feedback: NeedFeedback {
                text: format!("entry {i}"),
                at: T0,
                author: actor(),
            },
        }
    }
    fn change(&self, v: u8) -> Self {
        let mut f = self.clone();
        f.need = NeedId(format!("need-{}", v % 3));
        f.feedback.text = format!("changed {v}");
        f
    }
}

fn shown(offer: u8) -> Shown {
    Shown {
        offer: format!("offer-{offer}"),
        rank: 1,
        score_milli: 700,
        factors: [1.0, 0.85, 0.6, 0.5, 1.0, 1.0, 0.7, 0.25, 0.5],
        shortfalls: [0.0, 0.0, 0.5],
    }
}

fn event(v: u8) -> DecisionEvent {
    if v.is_multiple_of(2) {
        DecisionEvent::Viewed {
            candidates: vec![shown(v % 3)],
        }
    } else {
        DecisionEvent::Answered {
            match_id: format!("match-{}", v % 3),
            answer: Answer::Decline,
            reason: Some((ReasonCode::NoCapacity, "budget spent".into())),
            status: MatchStatus::Declined,
        }
    }
}

impl Kind for Decision {
    fn id_of(i: u8) -> String {
        format!("decision-{i}")
    }
    fn make(i: u8, v: u8) -> Self {
        Decision {
            id: Self::id_of(i),
            version: 1,
            at: T0,
            actor: PrincipalId(format!("p{}", v % 2)),
            role: Role::Broker,
            need: NeedId(format!("need-{}", v % 3)),
            event: event(v),
        }
    }
    fn change(&self, v: u8) -> Self {
        let mut d = self.clone();
        d.need = NeedId(format!("need-{}", v % 3));
        d.event = event(v / 3);
        d
    }
}

// ------------------------------------------------------------------ the model

/// What a write is expected to do.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Written,
    NotFound,
    AlreadyExists,
    /// The unique value is held by this id.
    UniqueTaken(String),
    Stale,
    /// An update of an append-only kind.
    AppendOnly,
}

fn outcome_of(e: &Error) -> Option<Outcome> {
    match e {
        Error::NotFound { .. } => Some(Outcome::NotFound),
        Error::AlreadyExists { .. } => Some(Outcome::AlreadyExists),
        Error::UniqueTaken { existing_id, .. } => Some(Outcome::UniqueTaken(existing_id.clone())),
        Error::StaleVersion { .. } => Some(Outcome::Stale),
        Error::AppendOnly { .. } => Some(Outcome::AppendOnly),
        _ => None,
    }
}

/// The model of one kind: records, their creation order, unique values and every index
/// entry any version ever had (so a stale entry left behind by an update is looked for).
#[derive(Clone)]
struct KindModel<R> {
    recs: BTreeMap<String, R>,
    order: Vec<String>,
    unique: BTreeMap<String, String>,
    seen: BTreeSet<(&'static str, String)>,
}

impl<R: Kind> KindModel<R> {
    fn new() -> Self {
        KindModel {
            recs: BTreeMap::new(),
            order: Vec::new(),
            unique: BTreeMap::new(),
            seen: BTreeSet::new(),
        }
    }

    fn sim_create(&mut self, rec: R) -> Outcome {
        let id = rec.id().to_owned();
        if self.recs.contains_key(&id) {
            return Outcome::AlreadyExists;
        }
        if let Some(u) = rec.unique_value() {
            if let Some(holder) = self.unique.get(&u) {
                return Outcome::UniqueTaken(holder.clone());
            }
            self.unique.insert(u, id.clone());
        }
        self.seen.extend(rec.index_entries());
        self.order.push(id.clone());
        self.recs.insert(id, rec);
        Outcome::Written
    }

    fn sim_update(&mut self, id: &str, expected: Option<u64>, v: u8) -> Outcome {
        let Some(cur) = self.recs.get(id) else {
            return Outcome::NotFound;
        };
        if R::APPEND_ONLY {
            return Outcome::AppendOnly;
        }
        if expected.is_some_and(|e| e != cur.version()) {
            return Outcome::Stale;
        }
        let mut new = cur.change(v);
        new.set_version(cur.version() + 1);
        let (old_u, new_u) = (cur.unique_value(), new.unique_value());
        if old_u != new_u {
            if let Some(u) = &new_u
                && let Some(holder) = self.unique.get(u)
            {
                return Outcome::UniqueTaken(holder.clone());
            }
            if let Some(u) = old_u {
                self.unique.remove(&u);
            }
            if let Some(u) = new_u {
                self.unique.insert(u, id.to_owned());
            }
        }
        self.seen.extend(new.index_entries());
        self.recs.insert(id.to_owned(), new);
        Outcome::Written
    }

    /// Ids of the records with index entry (`idx`, `val`), in creation order.
    fn ids_with(&self, idx: &str, val: &str) -> Vec<String> {
        self.order
            .iter()
            .filter(|id| {
                self.recs[*id]
                    .index_entries()
                    .iter()
                    .any(|(i, v)| *i == idx && v == val)
            })
            .cloned()
            .collect()
    }
}

/// Request id -> (kind, payload, id created).
type Requests = BTreeMap<u8, (&'static str, u8, String)>;

/// One kind's model behind a trait object, so an operation can pick its kind at random.
trait AnyModel {
    fn kind(&self) -> &'static str;
    fn boxed_clone(&self) -> Box<dyn AnyModel>;
    /// Creates record `i` through `Store::create`; whether something was written.
    fn create(
        &mut self,
        store: &Store,
        i: u8,
        v: u8,
        request: Option<(u8, u8)>,
        requests: &mut Requests,
    ) -> Result<bool, TestCaseError>;
    /// Changes record `i` through `Store::update`; whether something was written.
    fn update(&mut self, store: &Store, i: u8, v: u8, etag: Etag) -> Result<bool, TestCaseError>;
    /// Inside a transaction: change record `i`.
    fn txn_update(&self, txn: &mut Txn<'_>, i: u8, v: u8) -> Result<(), TxError<String>>;
    /// Inside a transaction: create record `i`.
    fn txn_create(&self, txn: &mut Txn<'_>, i: u8, v: u8) -> Result<(), TxError<String>>;
    fn sim_txn_update(&mut self, i: u8, v: u8) -> Outcome;
    fn sim_txn_create(&mut self, i: u8, v: u8) -> Outcome;
    /// Reads every page (of all records, or of one index value) and compares.
    fn pages(
        &self,
        store: &Store,
        size: u8,
        max_scan: u8,
        pick: Option<u8>,
    ) -> Result<(), TestCaseError>;
    /// Compares everything the store holds of this kind with the model.
    fn check(&self, store: &Store) -> Result<(), TestCaseError>;
    /// Sum of the versions of this kind's records: the number of audit entries written.
    fn audits(&self) -> u64;
}

#[derive(Debug, Clone, Copy)]
enum Etag {
    None,
    Current,
    Stale,
}

fn list_all<R: Resource>(store: &Store, index: Option<(&str, &str)>) -> Vec<R> {
    store
        .list::<R>(
            &ListQuery {
                index,
                after: None,
                limit: 10_000,
                max_scan: 100_000,
            },
            &|_| true,
        )
        .expect("list")
        .items
}

impl<R: Kind> AnyModel for KindModel<R> {
    fn kind(&self) -> &'static str {
        R::KIND
    }

    fn boxed_clone(&self) -> Box<dyn AnyModel> {
        Box::new(self.clone())
    }

    fn create(
        &mut self,
        store: &Store,
        i: u8,
        v: u8,
        request: Option<(u8, u8)>,
        requests: &mut Requests,
    ) -> Result<bool, TestCaseError> {
        let rec = R::make(i, v);
        let m = WriteMeta {
            idempotency: request.map(|(rid, payload)| IdempotencyKey {
                scope: "p".into(),
                request_id: format!("r{rid}"),
                payload_hash: [payload; 32],
            }),
            ..meta("create")
        };
        let got = store.create(rec.clone(), &m);
        if let Some((rid, payload)) = request
            && let Some((kind, p, first)) = requests.get(&rid)
        {
            if *kind == R::KIND && *p == payload {
                // A retry answers with what the first request created, as it is now.
                let want = self.recs.get(first).cloned();
                prop_assert!(
                    matches!(&got, Ok(Created::Replayed(r)) if Some(r) == want.as_ref()),
                    "a retry of {rid} must replay {first}: {got:?}"
                );
            } else {
                prop_assert!(
                    matches!(got, Err(Error::IdempotencyConflict { .. })),
                    "the same request id with another payload or kind: {got:?}"
                );
            }
            return Ok(false);
        }
        let want = self.sim_create(rec.clone());
        match got {
            Ok(Created::New(r)) => {
                prop_assert_eq!(&want, &Outcome::Written);
                prop_assert_eq!(&r, &rec);
                if let Some((rid, payload)) = request {
                    requests.insert(rid, (R::KIND, payload, rec.id().to_owned()));
                }
                Ok(true)
            }
            Ok(Created::Replayed(r)) => Err(TestCaseError::fail(format!(
                "a create without a known request id replayed {r:?}"
            ))),
            Err(e) => {
                prop_assert_eq!(outcome_of(&e), Some(want), "{}", e);
                Ok(false)
            }
        }
    }

    fn update(&mut self, store: &Store, i: u8, v: u8, etag: Etag) -> Result<bool, TestCaseError> {
        let id = R::id_of(i);
        let current = self.recs.get(&id).map_or(1, Resource::version);
        let expected = match etag {
            Etag::None => None,
            Etag::Current => Some(current),
            Etag::Stale => Some(current + 3),
        };
        let got = store.update::<R, ()>(
            &id,
            expected,
            &meta("update"),
            |_| Ok(()),
            |r| Ok(r.change(v)),
        );
        let want = self.sim_update(&id, expected, v);
        match got {
            Ok(r) => {
                prop_assert_eq!(&want, &Outcome::Written);
                prop_assert_eq!(Some(&r), self.recs.get(&id));
                Ok(true)
            }
            Err(UpdateError::Store(e)) => {
                prop_assert_eq!(outcome_of(&e), Some(want), "{}", e);
                Ok(false)
            }
            Err(UpdateError::Rejected(())) => {
                Err(TestCaseError::fail("the change never refuses".to_owned()))
            }
        }
    }

    fn txn_update(&self, txn: &mut Txn<'_>, i: u8, v: u8) -> Result<(), TxError<String>> {
        txn.update::<R, String>(&R::id_of(i), None, &|_| Ok(()), &|r| Ok(r.change(v)))
            .map(|_| ())
    }

    fn txn_create(&self, txn: &mut Txn<'_>, i: u8, v: u8) -> Result<(), TxError<String>> {
        txn.create::<R, String>(&R::make(i, v))
    }

    fn sim_txn_update(&mut self, i: u8, v: u8) -> Outcome {
        self.sim_update(&R::id_of(i), None, v)
    }

    fn sim_txn_create(&mut self, i: u8, v: u8) -> Outcome {
        self.sim_create(R::make(i, v))
    }

    fn pages(
        &self,
        store: &Store,
        size: u8,
        max_scan: u8,
        pick: Option<u8>,
    ) -> Result<(), TestCaseError> {
        let pair = pick.and_then(|p| {
            let n = self.seen.len();
            (n > 0).then(|| self.seen.iter().nth(usize::from(p) % n))?
        });
        let want = match pair {
            Some((idx, val)) => self.ids_with(idx, val),
            None => self.order.clone(),
        };
        let mut got = Vec::new();
        let mut after = None;
        for _ in 0..10_000 {
            let page = store
                .list::<R>(
                    &ListQuery {
                        index: pair.map(|(i, v)| (*i, v.as_str())),
                        after,
                        limit: usize::from(size),
                        max_scan: usize::from(max_scan),
                    },
                    &|_| true,
                )
                .expect("list");
            prop_assert!(page.items.len() <= usize::from(size));
            got.extend(page.items.iter().map(|r| r.id().to_owned()));
            match page.next {
                Some(c) => {
                    prop_assert!(after.is_none_or(|a| c > a), "the cursor moves on");
                    after = Some(c);
                }
                None => break,
            }
        }
        prop_assert_eq!(got, want, "{} pages through {:?}", R::KIND, pair);
        Ok(())
    }

    fn check(&self, store: &Store) -> Result<(), TestCaseError> {
        for (id, rec) in &self.recs {
            let stored = store.get::<R>(id).expect("get");
            prop_assert_eq!(stored.as_ref(), Some(rec));
            // The record's own audit trail: created, then one entry per version.
            let trail: Vec<(u64, u64)> = store
                .list_audit(
                    &AuditFilter {
                        resource_kind: Some(R::KIND.to_owned()),
                        resource_id: Some(id.clone()),
                        ..AuditFilter::default()
                    },
                    None,
                    1_000,
                )
                .expect("audit")
                .items
                .iter()
                .map(|e| (e.before_version, e.after_version))
                .collect();
            let want: Vec<(u64, u64)> = (0..rec.version()).map(|v| (v, v + 1)).collect();
            prop_assert_eq!(trail, want, "audit trail of {}", id);
        }
        let unknown = R::id_of(200);
        if !self.recs.contains_key(&unknown) {
            prop_assert!(store.get::<R>(&unknown).expect("get").is_none());
        }
        let all: Vec<String> = list_all::<R>(store, None)
            .iter()
            .map(|r| r.id().to_owned())
            .collect();
        prop_assert_eq!(&all, &self.order, "all {} in creation order", R::KIND);
        prop_assert_eq!(store.count::<R>().expect("count"), self.order.len() as u64);
        for (idx, val) in &self.seen {
            let want = self.ids_with(idx, val);
            let got: Vec<String> = list_all::<R>(store, Some((idx, val)))
                .iter()
                .map(|r| r.id().to_owned())
                .collect();
            prop_assert_eq!(&got, &want, "{} index {}={}", R::KIND, idx, val);
            let last = store.last_by_index::<R>(idx, val).expect("last");
            prop_assert_eq!(
                last.map(|r| r.id().to_owned()),
                want.last().cloned(),
                "newest {} with {}={}",
                R::KIND,
                idx,
                val
            );
        }
        Ok(())
    }

    fn audits(&self) -> u64 {
        self.recs.values().map(Resource::version).sum()
    }
}

fn models() -> Vec<Box<dyn AnyModel>> {
    vec![
        Box::new(KindModel::<Party>::new()),
        Box::new(KindModel::<Need>::new()),
        Box::new(KindModel::<Offer>::new()),
        Box::new(KindModel::<Principal>::new()),
        Box::new(KindModel::<MatchingSettings>::new()),
        Box::new(KindModel::<Match>::new()),
        Box::new(KindModel::<FeedbackEntry>::new()),
        Box::new(KindModel::<Decision>::new()),
    ]
}

const KINDS: u8 = 8;
const PRINCIPAL: usize = 3;

// ------------------------------------------------------------------ operations

#[derive(Debug, Clone)]
enum Op {
    Create {
        kind: u8,
        i: u8,
        v: u8,
        request: Option<(u8, u8)>,
    },
    Update {
        kind: u8,
        i: u8,
        v: u8,
        etag: Etag,
    },
    /// Change record `a` of one kind and create record `b` of another (or the same) in
    /// one transaction, committed or refused at the end.
    Transaction {
        a: (u8, u8, u8),
        b: (u8, u8, u8),
        commit: bool,
    },
    Pages {
        kind: u8,
        size: u8,
        max_scan: u8,
        pick: Option<u8>,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let etag = prop_oneof![Just(Etag::None), Just(Etag::Current), Just(Etag::Stale)];
    let rec = (0..KINDS, 0u8..5, 0u8..12);
    prop_oneof![
        5 => (rec.clone(), proptest::option::of((0u8..4, 0u8..2)))
            .prop_map(|((kind, i, v), request)| Op::Create { kind, i, v, request }),
        5 => (rec.clone(), etag).prop_map(|((kind, i, v), etag)| Op::Update { kind, i, v, etag }),
        2 => (rec.clone(), rec, any::<bool>()).prop_map(|(a, b, commit)| Op::Transaction { a, b, commit }),
        1 => (0..KINDS, 1u8..5, 1u8..7, proptest::option::of(any::<u8>()))
            .prop_map(|(kind, size, max_scan, pick)| Op::Pages { kind, size, max_scan, pick }),
        1 => Just(Op::Reopen),
    ]
}

/// Runs one operation on the store and the model; which kinds it wrote.
fn apply(
    store: &Store,
    models: &mut Vec<Box<dyn AnyModel>>,
    requests: &mut Requests,
    op: &Op,
) -> Result<Vec<usize>, TestCaseError> {
    Ok(match *op {
        Op::Create {
            kind,
            i,
            v,
            request,
        } => {
            let k = usize::from(kind);
            let wrote = models[k].create(store, i, v, request, requests)?;
            if wrote { vec![k] } else { Vec::new() }
        }
        Op::Update { kind, i, v, etag } => {
            let k = usize::from(kind);
            let wrote = models[k].update(store, i, v, etag)?;
            if wrote { vec![k] } else { Vec::new() }
        }
        Op::Transaction {
            a: (ka, ia, va),
            b: (kb, ib, vb),
            commit,
        } => {
            let (ka, kb) = (usize::from(ka), usize::from(kb));
            let got = store.transaction::<(), String>(&meta("both"), |txn| {
                models[ka].txn_update(txn, ia, va)?;
                models[kb].txn_create(txn, ib, vb)?;
                if commit {
                    Ok(())
                } else {
                    Err(TxError::rejected("refused".to_owned()))
                }
            });
            // The model of the same steps, on a copy kept only if everything succeeds.
            let mut next: Vec<Box<dyn AnyModel>> = models.iter().map(|m| m.boxed_clone()).collect();
            let first = next[ka].sim_txn_update(ia, va);
            let want = if first == Outcome::Written {
                next[kb].sim_txn_create(ib, vb)
            } else {
                first
            };
            match (got, want) {
                (Ok(()), Outcome::Written) => {
                    prop_assert!(commit);
                    *models = next;
                    vec![ka, kb]
                }
                (Err(UpdateError::Rejected(_)), Outcome::Written) => {
                    prop_assert!(!commit);
                    Vec::new()
                }
                (Err(UpdateError::Store(e)), want) => {
                    prop_assert_eq!(outcome_of(&e), Some(want), "{}", e);
                    Vec::new()
                }
                (got, want) => {
                    return Err(TestCaseError::fail(format!(
                        "transaction: store {got:?}, model {want:?}"
                    )));
                }
            }
        }
        Op::Pages {
            kind,
            size,
            max_scan,
            pick,
        } => {
            models[usize::from(kind)].pages(store, size, max_scan, pick)?;
            Vec::new()
        }
        Op::Reopen => Vec::new(),
    })
}

fn check_all(store: &Store, models: &[Box<dyn AnyModel>]) -> Result<(), TestCaseError> {
    for m in models {
        m.check(store)?;
    }
    let trail = store
        .list_audit(&AuditFilter::default(), None, 100_000)
        .expect("audit")
        .items;
    let want: u64 = models.iter().map(|m| m.audits()).sum();
    prop_assert_eq!(trail.len() as u64, want, "audit entries");
    prop_assert!(
        trail
            .iter()
            .enumerate()
            .all(|(n, e)| e.sequence == n as u64 + 1),
        "audit sequences run from 1 without a gap"
    );
    let kinds: BTreeSet<&str> = trail.iter().map(|e| e.resource_kind.as_str()).collect();
    let written: BTreeSet<&str> = models
        .iter()
        .filter(|m| m.audits() > 0)
        .map(|m| m.kind())
        .collect();
    prop_assert_eq!(kinds, written);
    Ok(())
}

/// Every kind agrees with the model through random operations and reopens.
pub fn every_kind_agrees_with_an_in_memory_model<H: Harness>(_: &mut H) {
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 40,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..80), |ops| {
            let mut h = H::fresh();
            let mut store = Some(h.open());
            let mut models = models();
            let mut requests = Requests::new();
            for op in &ops {
                if matches!(op, Op::Reopen) {
                    let s = store.take().expect("open");
                    check_all(&s, &models)?;
                    store = Some(h.reopen(s));
                }
                let s = store.as_ref().expect("open");
                let generation = s.principal_generation();
                let wrote = apply(s, &mut models, &mut requests, op)?;
                // The principal generation moves exactly when a principal was written.
                if let (Some(before), Some(after)) = (generation, s.principal_generation()) {
                    prop_assert_eq!(
                        after != before,
                        wrote.contains(&PRINCIPAL),
                        "principal generation {} -> {} after {:?}",
                        before,
                        after,
                        op
                    );
                }
            }
            check_all(store.as_ref().expect("open"), &models)
        })
        .expect("model");
}

crate::per_engine!(every_kind_agrees_with_an_in_memory_model);
