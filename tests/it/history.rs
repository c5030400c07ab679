//! Concurrent etag-checked writes on a few needs, with the whole history checked
//! (quality.md T5). In each seeded round, 16 tasks run reads, title and description
//! updates with the etag they read, submissions, withdrawals and feedback against 4
//! needs, recording every call: when it was invoked and when it returned (a logical
//! clock, never wall time), what it sent, and what came back (the version and body, or
//! the error code). The checker then proves, per need:
//!
//! - no two acknowledged writes produced the same version, and a write sent with etag
//!   `e` produced `e + 1`;
//! - nothing lost and nothing phantom: the need's audit trail holds exactly one entry per
//!   acknowledged write, at its version and with its action, and none for a failed call;
//! - every ABORTED (stale etag) had a stale etag: a write producing `e + 1` was invoked
//!   before the refusal returned;
//! - real-time order: a write acknowledged before another was invoked has the lower
//!   version, and a read invoked after a write was acknowledged sees it or later;
//! - replaying the acknowledged writes in version order from the created need gives
//!   every acknowledged body, every read body, and the final record (which is the last
//!   acknowledged write's body). One allowance: feedback is kept in records of its own
//!   and read after the need, outside its transaction, so a body of version `v` may list
//!   the feedback of a later version (counted and printed, never missing any, never
//!   showing any that was not acknowledged).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use tonic::{Code, Status};

use clearinghouse::pb;

use crate::support::{self, Clients, TestServer, need};

const ROUNDS: u64 = 16;
const TASKS: usize = 16;
const NEEDS: usize = 4;
const OPS_PER_TASK: usize = 6;
const SEED: u64 = 0x7155_0000;

/// What a call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Read,
    Title(String),
    Description(String),
    Submit,
    Withdraw,
    Feedback(String),
}

impl Op {
    fn action(&self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Title(_) | Op::Description(_) => "need.update",
            Op::Submit => "need.submit",
            Op::Withdraw => "need.withdraw",
            Op::Feedback(_) => "need.add_feedback",
        }
    }
}

/// What came back.
#[derive(Debug, Clone)]
enum Outcome {
    Ok { version: u64, body: Box<pb::Need> },
    Err { code: Code, reason: String },
}

/// One recorded call.
#[derive(Debug, Clone)]
struct Call {
    task: usize,
    need: usize,
    op: Op,
    etag: Option<u64>,
    invoked: u64,
    returned: u64,
    outcome: Outcome,
}

impl Call {
    fn acked(&self) -> Option<(u64, &pb::Need)> {
        match &self.outcome {
            Outcome::Ok { version, body } => Some((*version, body)),
            Outcome::Err { .. } => None,
        }
    }
}

/// The part of a need this history changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    title: String,
    description: String,
    status: i32,
    feedback: Vec<String>,
}

impl Model {
    fn of(n: &pb::Need) -> Model {
        Model {
            title: n.title.clone(),
            description: n.description.clone(),
            status: n.status,
            feedback: n.feedback.iter().map(|f| f.text.clone()).collect(),
        }
    }

    /// Applies an acknowledged write; `Err` when the service should have refused it.
    fn apply(&mut self, op: &Op) -> Result<(), String> {
        let draft = pb::NeedStatus::Draft as i32;
        let submitted = pb::NeedStatus::Submitted as i32;
        let editable = self.status == draft || self.status == submitted;
        match op {
            Op::Read => return Err("a read is not a write".into()),
            Op::Title(t) if editable => self.title.clone_from(t),
            Op::Description(d) if editable => self.description.clone_from(d),
            Op::Submit if self.status == draft => self.status = submitted,
            Op::Withdraw if editable => self.status = pb::NeedStatus::Withdrawn as i32,
            Op::Feedback(f) if self.status != draft => self.feedback.push(f.clone()),
            _ => return Err(format!("{op:?} was accepted in status {}", self.status)),
        }
        Ok(())
    }
}

fn version(n: &pb::Need) -> u64 {
    n.etag.parse().expect("etag is a version")
}

fn mask(path: &str) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: vec![path.to_owned()],
    })
}

/// Runs one call and returns its outcome.
async fn run(c: &mut Clients, id: &str, op: &Op, etag: Option<u64>) -> Result<pb::Need, Status> {
    let etag = etag.map(|e| e.to_string()).unwrap_or_default();
    let need = match op {
        Op::Read => {
            c.needs
                .get_need(pb::GetNeedRequest { id: id.to_owned() })
                .await?
                .into_inner()
                .need
        }
        Op::Title(t) => {
            c.needs
                .update_need(pb::UpdateNeedRequest {
                    need: Some(pb::Need {
                        id: id.to_owned(),
                        etag,
                        title: t.clone(),
                        ..Default::default()
                    }),
                    update_mask: mask("title"),
                })
                .await?
                .into_inner()
                .need
        }
        Op::Description(d) => {
            c.needs
                .update_need(pb::UpdateNeedRequest {
                    need: Some(pb::Need {
                        id: id.to_owned(),
                        etag,
                        description: d.clone(),
                        ..Default::default()
                    }),
                    update_mask: mask("description"),
                })
                .await?
                .into_inner()
                .need
        }
        Op::Submit => {
            c.needs
                .submit_need(pb::SubmitNeedRequest {
                    id: id.to_owned(),
                    etag,
                })
                .await?
                .into_inner()
                .need
        }
        Op::Withdraw => {
            c.needs
                .withdraw_need(pb::WithdrawNeedRequest {
                    id: id.to_owned(),
                    etag,
                    reason: "no longer needed".to_owned(),
                })
                .await?
                .into_inner()
                .need
        }
        Op::Feedback(f) => {
            c.needs
                .add_need_feedback(pb::AddNeedFeedbackRequest {
                    id: id.to_owned(),
                    etag,
                    text: f.clone(),
                })
                .await?
                .into_inner()
                .need
        }
    };
    need.ok_or_else(|| Status::internal("a response without its need"))
}

/// The shared record of one round.
struct Recorder {
    clock: AtomicU64,
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    async fn call(
        &self,
        c: &mut Clients,
        task: usize,
        need: (usize, &str),
        op: Op,
        etag: Option<u64>,
    ) -> Option<pb::Need> {
        let invoked = self.clock.fetch_add(1, Ordering::SeqCst);
        let r = run(c, need.1, &op, etag).await;
        let returned = self.clock.fetch_add(1, Ordering::SeqCst);
        let (outcome, body) = match r {
            Ok(n) => (
                Outcome::Ok {
                    version: version(&n),
                    body: Box::new(n.clone()),
                },
                Some(n),
            ),
            Err(s) => (
                Outcome::Err {
                    code: s.code(),
                    reason: support::reason(&s),
                },
                None,
            ),
        };
        self.calls.lock().expect("calls").push(Call {
            task,
            need: need.0,
            op,
            etag,
            invoked,
            returned,
            outcome,
        });
        body
    }
}

/// One task: reads and writes chosen by its own seeded generator, each write with the
/// etag of the task's last read of that need (updates always carry one, transitions
/// mostly).
async fn task(mut c: Clients, ids: Arc<Vec<String>>, rec: Arc<Recorder>, seed: u64, task: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut last_read: BTreeMap<usize, u64> = BTreeMap::new();
    for k in 0..OPS_PER_TASK {
        let i = rng.random_range(0..ids.len());
        let id = (i, ids[i].as_str());
        let tag = format!("t{task}-{k}");
        let op = match rng.random_range(0..100) {
            0..20 => Op::Read,
            20..45 => Op::Title(format!("Title {tag}")),
            45..65 => Op::Description(format!("Description {tag}")),
            65..77 => Op::Submit,
            77..95 => Op::Feedback(format!("Feedback {tag}")),
            _ => Op::Withdraw,
        };
        if op == Op::Read {
            if let Some(n) = rec.call(&mut c, task, id, op, None).await {
                last_read.insert(i, version(&n));
            }
            continue;
        }
        let etag = match last_read.get(&i) {
            Some(v) if rng.random_bool(0.7) => Some(*v),
            _ => {
                let n = rec.call(&mut c, task, id, Op::Read, None).await;
                n.map(|n| version(&n))
            }
        };
        let is_update = matches!(op, Op::Title(_) | Op::Description(_));
        let etag = if is_update || rng.random_bool(0.8) {
            etag
        } else {
            None
        };
        if let Some(n) = rec.call(&mut c, task, id, op, etag).await {
            last_read.insert(i, version(&n));
        }
    }
}

/// Checks one need's history; returns the violations found.
fn check_need(
    created: &pb::Need,
    calls: &[&Call],
    trail: &[pb::AuditEntry],
    final_need: &pb::Need,
) -> (Vec<String>, usize) {
    let mut v = Vec::new();
    let writes: Vec<&Call> = calls.iter().copied().filter(|c| c.op != Op::Read).collect();
    let mut acked: Vec<(u64, &Call, &pb::Need)> = writes
        .iter()
        .filter_map(|c| c.acked().map(|(ver, body)| (ver, *c, body)))
        .collect();
    acked.sort_by_key(|(ver, _, _)| *ver);

    // Unique versions; an etag-checked write produced the etag's successor.
    let mut by_version: BTreeMap<u64, &Call> = BTreeMap::new();
    for (ver, c, _) in &acked {
        if by_version.insert(*ver, c).is_some() {
            v.push(format!("two acknowledged writes produced version {ver}"));
        }
        if let Some(e) = c.etag
            && *ver != e + 1
        {
            v.push(format!(
                "{:?} with etag {e} was acknowledged at version {ver}",
                c.op
            ));
        }
    }

    // The audit trail: one entry per acknowledged write, nothing else, no gaps.
    let changes: Vec<&pb::AuditEntry> = trail.iter().filter(|e| e.before_version > 0).collect();
    let trail_versions: Vec<u64> = changes.iter().map(|e| e.after_version).collect();
    let expected: Vec<u64> = (2..=version(final_need)).collect();
    if trail_versions != expected {
        v.push(format!(
            "audit versions {trail_versions:?}, expected {expected:?} (final version {})",
            version(final_need)
        ));
    }
    for e in &changes {
        if e.before_version + 1 != e.after_version {
            v.push(format!("audit entry {} skips a version", e.sequence));
        }
        match by_version.get(&e.after_version) {
            Some(c) if c.op.action() == e.action => {}
            Some(c) => v.push(format!(
                "version {} is audited as {} but acknowledged as {:?}",
                e.after_version, e.action, c.op
            )),
            None => v.push(format!(
                "version {} ({}) is in the trail but no call was acknowledged for it",
                e.after_version, e.action
            )),
        }
    }
    for ver in by_version.keys() {
        if !trail_versions.contains(ver) {
            v.push(format!(
                "acknowledged version {ver} is missing from the audit trail: lost"
            ));
        }
    }

    // Refusals: ABORTED only for a stale etag; nothing but the expected codes.
    for c in &writes {
        let Outcome::Err { code, reason } = &c.outcome else {
            continue;
        };
        match code {
            Code::Aborted => {
                let Some(e) = c.etag else {
                    v.push(format!("{:?} without an etag was ABORTED", c.op));
                    continue;
                };
                let stale = by_version
                    .get(&(e + 1))
                    .is_some_and(|w| w.invoked < c.returned);
                if reason != "STALE_ETAG" || !stale {
                    v.push(format!(
                        "task {}: {:?} with etag {e} was ABORTED ({reason}) but no write producing {} began before it returned",
                        c.task,
                        c.op,
                        e + 1
                    ));
                }
            }
            Code::FailedPrecondition => {}
            other => v.push(format!("{:?} failed with {other:?} ({reason})", c.op)),
        }
    }
    for c in calls.iter().filter(|c| c.op == Op::Read) {
        if let Outcome::Err { code, .. } = &c.outcome {
            v.push(format!("a read failed with {code:?}"));
        }
    }

    // Real-time order between acknowledged writes, and reads after acknowledged writes.
    for (va, a, _) in &acked {
        for (vb, b, _) in &acked {
            if a.returned < b.invoked && va >= vb {
                v.push(format!(
                    "version {va} was acknowledged before the write of version {vb} began"
                ));
            }
        }
        for r in calls.iter().filter(|c| c.op == Op::Read) {
            if let Some((vr, _)) = r.acked()
                && a.returned < r.invoked
                && vr < *va
            {
                v.push(format!(
                    "a read began after version {va} was acknowledged and saw {vr}"
                ));
            }
        }
    }

    // Replay in version order from the created need. Feedback lives in records of its
    // own that are read after the need, outside its transaction, so a body of version
    // `v` may show the feedback of a later version `v'` (never less than `v`'s, never
    // any that was not acknowledged): everything else must be exactly `v`'s state.
    let mut model = Model::of(created);
    let mut states: BTreeMap<u64, Model> = BTreeMap::from([(1, model.clone())]);
    for (ver, c, _) in &acked {
        if let Err(e) = model.apply(&c.op) {
            v.push(format!("version {ver}: {e}"));
        }
        states.insert(*ver, model.clone());
    }
    let mut later_feedback = 0;
    let bodies = calls.iter().filter_map(|c| c.acked());
    for (ver, body) in bodies {
        let seen = Model::of(body);
        let Some(at) = states.get(&ver) else {
            v.push(format!(
                "version {ver} was returned but no acknowledged write produced it"
            ));
            continue;
        };
        let own = Model {
            feedback: at.feedback.clone(),
            ..seen.clone()
        };
        if own != *at {
            v.push(format!(
                "a body of version {ver} is {seen:?}, not the replayed {at:?}"
            ));
        } else if seen.feedback != at.feedback {
            if states
                .range(ver..)
                .any(|(_, m)| m.feedback == seen.feedback)
            {
                later_feedback += 1;
            } else {
                v.push(format!(
                    "a body of version {ver} shows feedback {:?} that no later version had",
                    seen.feedback
                ));
            }
        }
    }
    if Model::of(final_need) != model {
        v.push(format!(
            "the final record {:?} is not the replayed history {model:?}",
            Model::of(final_need)
        ));
    }
    match acked.last() {
        Some((ver, _, body)) if *ver == version(final_need) => {
            if *body != final_need {
                v.push(format!(
                    "the final record differs from the last acknowledged write (version {ver})"
                ));
            }
        }
        None if version(final_need) == 1 => {}
        _ => v.push(format!(
            "the final version {} is not the last acknowledged one",
            version(final_need)
        )),
    }
    (v, later_feedback)
}

/// Totals over every round.
#[derive(Debug, Default)]
struct Totals {
    calls: usize,
    acked: usize,
    aborted: usize,
    refused: usize,
    reads: usize,
    later_feedback: usize,
}

async fn round(
    server: &TestServer,
    keys: &[String],
    seed: u64,
    totals: &mut Totals,
) -> Vec<String> {
    let mut owner = server.clients(Some(&keys[0])).await;
    let mut created = Vec::new();
    for i in 0..NEEDS {
        let n = owner
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(need(&format!("History {seed:x} need {i}"))),
                request_id: String::new(),
            })
            .await
            .expect("create")
            .into_inner()
            .need
            .expect("need");
        created.push(n);
    }
    let ids: Arc<Vec<String>> = Arc::new(created.iter().map(|n| n.id.clone()).collect());
    let rec = Arc::new(Recorder {
        clock: AtomicU64::new(0),
        calls: Mutex::new(Vec::new()),
    });
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let c = server.clients(Some(&keys[t % keys.len()])).await;
        tasks.push(tokio::spawn(task(
            c,
            Arc::clone(&ids),
            Arc::clone(&rec),
            seed.wrapping_mul(1_000).wrapping_add(t as u64),
            t,
        )));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let calls = rec.calls.lock().expect("calls").clone();
    let mut admin = server.admin().await;
    let mut violations = Vec::new();
    for (i, created) in created.iter().enumerate() {
        let final_need = owner
            .needs
            .get_need(pb::GetNeedRequest {
                id: created.id.clone(),
            })
            .await
            .expect("final read")
            .into_inner()
            .need
            .expect("need");
        let trail = admin
            .admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                page_size: 500,
                resource_id: created.id.clone(),
                ..Default::default()
            })
            .await
            .expect("audit")
            .into_inner()
            .entries;
        let mine: Vec<&Call> = calls.iter().filter(|c| c.need == i).collect();
        let (found, later_feedback) = check_need(created, &mine, &trail, &final_need);
        totals.later_feedback += later_feedback;
        for p in found {
            violations.push(format!("seed {seed:#x}, need {i}: {p}"));
        }
    }
    for c in &calls {
        totals.calls += 1;
        match (&c.op, &c.outcome) {
            (Op::Read, _) => totals.reads += 1,
            (_, Outcome::Ok { .. }) => totals.acked += 1,
            (
                _,
                Outcome::Err {
                    code: Code::Aborted,
                    ..
                },
            ) => totals.aborted += 1,
            (_, Outcome::Err { .. }) => totals.refused += 1,
        }
    }
    violations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_etag_writes_on_a_few_needs_lose_nothing_and_replay_to_the_final_state() {
    let (server, _dir) = support::start().await;
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(server.key(pb::Role::Requester, "state-KEN").await);
    }
    let mut totals = Totals::default();
    let mut violations = Vec::new();
    for r in 0..ROUNDS {
        violations.extend(round(&server, &keys, SEED + r, &mut totals).await);
    }
    eprintln!(
        "history: {ROUNDS} rounds x {TASKS} tasks x {NEEDS} needs: {} calls ({} reads, {} writes acknowledged, {} ABORTED on a stale etag, {} refused as illegal; {} bodies showed later feedback); {} violations",
        totals.calls,
        totals.reads,
        totals.acked,
        totals.aborted,
        totals.refused,
        totals.later_feedback,
        violations.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    assert!(totals.aborted > 0, "the rounds raced on etags");
    assert!(totals.acked > 0);
    server.stop().await;
}

/// The checker itself, on hand-written histories of one need: each defect is reported.
#[test]
fn the_checker_reports_lost_duplicate_phantom_and_wrongly_refused_writes() {
    let created = pb::Need {
        id: "N".into(),
        etag: "1".into(),
        title: "T0".into(),
        status: pb::NeedStatus::Draft as i32,
        ..Default::default()
    };
    let body = |v: u64, title: &str| pb::Need {
        etag: v.to_string(),
        title: title.into(),
        ..created.clone()
    };
    let call = |op: Op, etag: Option<u64>, t: (u64, u64), outcome: Outcome| Call {
        task: 0,
        need: 0,
        op,
        etag,
        invoked: t.0,
        returned: t.1,
        outcome,
    };
    let ok = |v: u64, title: &str| Outcome::Ok {
        version: v,
        body: Box::new(body(v, title)),
    };
    let entry = |seq: u64, before: u64| pb::AuditEntry {
        sequence: seq,
        action: "need.update".into(),
        before_version: before,
        after_version: before + 1,
        ..Default::default()
    };
    let a = call(Op::Title("A".into()), Some(1), (0, 1), ok(2, "A"));
    let b = call(Op::Title("B".into()), Some(2), (2, 3), ok(3, "B"));
    let trail = [entry(1, 0), entry(2, 1), entry(3, 2)];

    // A clean history passes.
    let (clean, _) = check_need(&created, &[&a, &b], &trail, &body(3, "B"));
    assert!(clean.is_empty(), "{clean:?}");

    // An acknowledged write missing from the trail and the final state: lost.
    let (lost, _) = check_need(&created, &[&a, &b], &trail[..2], &body(2, "A"));
    assert!(lost.iter().any(|p| p.contains("lost")), "{lost:?}");

    // Two acknowledged writes at one version.
    let twin = call(Op::Title("C".into()), Some(1), (0, 1), ok(2, "C"));
    let (dup, _) = check_need(&created, &[&a, &twin, &b], &trail, &body(3, "B"));
    assert!(
        dup.iter().any(|p| p.contains("two acknowledged writes")),
        "{dup:?}"
    );

    // A trail entry no acknowledged call explains (a refused call that wrote anyway).
    let refused = call(
        Op::Title("B".into()),
        Some(2),
        (2, 3),
        Outcome::Err {
            code: Code::FailedPrecondition,
            reason: "X".into(),
        },
    );
    let (phantom, _) = check_need(&created, &[&a, &refused], &trail, &body(3, "B"));
    assert!(
        phantom
            .iter()
            .any(|p| p.contains("no call was acknowledged")),
        "{phantom:?}"
    );

    // ABORTED with an etag that was current: the write producing 3 began only after.
    let aborted = call(
        Op::Title("Z".into()),
        Some(2),
        (1, 2),
        Outcome::Err {
            code: Code::Aborted,
            reason: "STALE_ETAG".into(),
        },
    );
    let late = call(Op::Title("B".into()), Some(2), (3, 4), ok(3, "B"));
    let (wrong, _) = check_need(&created, &[&a, &aborted, &late], &trail, &body(3, "B"));
    assert!(wrong.iter().any(|p| p.contains("was ABORTED")), "{wrong:?}");
}
