//! Group commit: a write is acknowledged only after a sync that started after it.
//!
//! One committer thread waits for requests, takes every ticket issued so far as one batch,
//! runs the [`Syncer`] once (for sled: `flush()` then `fsync` of the `db` file) and then
//! releases the whole batch. Concurrent writers therefore share one fsync. A failed sync is
//! fatal: every waiter of that batch and every later caller gets
//! [`DurabilityError`], and the barrier never reports success again.
//!
//! Each sync is reported to a [`SyncObserver`] (writes in the batch, duration, outcome):
//! the one given to [`GroupCommit::start_observed`], else the process-wide one set with
//! [`observe_syncs`] (the service's metrics), so this crate depends on no metrics crate.

use std::{
    io,
    sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock},
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// What one sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    /// Writes the sync made durable (or failed): tickets issued since the previous one.
    pub writes: u64,
    /// Time the sync took (flush and fsync).
    pub took: Duration,
    /// Whether it succeeded.
    pub ok: bool,
}

/// Receives a [`SyncReport`] after every sync, on the committer thread: keep it quick.
pub trait SyncObserver: Send + Sync + std::fmt::Debug {
    /// Called once per sync.
    fn synced(&self, report: &SyncReport);
}

static PROCESS_OBSERVER: OnceLock<Arc<dyn SyncObserver>> = OnceLock::new();

/// Sets the observer of every barrier in the process that was started without its own;
/// only the first call takes effect (returns whether this one did).
pub fn observe_syncs(observer: Arc<dyn SyncObserver>) -> bool {
    PROCESS_OBSERVER.set(observer).is_ok()
}

/// Makes everything written so far durable.
pub trait Syncer: Send + 'static {
    /// Flushes and fsyncs. An error is treated as permanent.
    fn sync(&mut self) -> io::Result<()>;
}

/// The store can no longer promise durability; restart the process so recovery runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage sync failed ({0}); the store refuses writes until the service restarts")]
pub struct DurabilityError(pub String);

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out.
    requested: u64,
    /// Highest ticket known durable.
    durable: u64,
    /// Set forever after the first failed sync.
    failed: Option<String>,
    /// Number of completed syncs.
    syncs: u64,
    /// Stop the committer.
    stopping: bool,
    /// Transactions between [`GroupCommit::writing`] and the end of their commit: writes
    /// about to ask for a sync.
    writing: usize,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Longest a pending sync waits for transactions in progress ([`GATHER`]).
    gather: Duration,
    /// Wakes the committer.
    work: Condvar,
    /// Wakes waiters.
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave State half-updated (every update is
        // a few plain assignments), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Counters of the barrier, for benchmarks and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierStats {
    /// Writes acknowledged or failed through the barrier.
    pub tickets: u64,
    /// Syncs run.
    pub syncs: u64,
    /// Whether a sync has failed.
    pub failed: bool,
}

/// The group-commit barrier. Dropping it stops the committer thread.
#[derive(Debug)]
pub struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the committer thread around `syncer`, reporting to the process-wide
    /// observer if one is set.
    pub fn start(syncer: Box<dyn Syncer>) -> io::Result<GroupCommit> {
        GroupCommit::start_observed(syncer, None)
    }

    /// Starts the committer thread around `syncer`, reporting each sync to `observer`
    /// (or, when `None`, to the process-wide observer).
    pub fn start_observed(
        syncer: Box<dyn Syncer>,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> io::Result<GroupCommit> {
        GroupCommit::start_with(syncer, observer, GATHER)
    }

    fn start_with(
        mut syncer: Box<dyn Syncer>,
        observer: Option<Arc<dyn SyncObserver>>,
        gather: Duration,
    ) -> io::Result<GroupCommit> {
        let shared = Arc::new(Shared {
            gather,
            ..Shared::default()
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("storage-committer".into())
            .spawn(move || committer_loop(&s, syncer.as_mut(), observer.as_deref()))?;
        Ok(GroupCommit {
            shared,
            thread: Some(thread),
        })
    }

    /// Blocks until everything written before this call is durable.
    pub fn wait(&self) -> Result<(), DurabilityError> {
        let mut st = self.shared.lock();
        if let Some(e) = &st.failed {
            return Err(DurabilityError(e.clone()));
        }
        // The committer waits for work only while every ticket is durable; otherwise it
        // is syncing (and loops back to this ticket) or gathering (which tickets do not
        // end), so waking it for every ticket would only cost it a context switch.
        let idle = st.requested == st.durable;
        st.requested += 1;
        let ticket = st.requested;
        if idle {
            self.shared.work.notify_one();
        }
        loop {
            // Durable first: a later batch's failure does not undo this one.
            if st.durable >= ticket {
                return Ok(());
            }
            if let Some(e) = &st.failed {
                return Err(DurabilityError(e.clone()));
            }
            st = self
                .shared
                .done
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Marks a transaction in progress until the guard drops. While any is, the committer
    /// holds a pending sync back for up to [`GATHER`], so the writes about to commit share
    /// it instead of each paying a flush and an fsync of its own; with none in progress
    /// (a lone writer) it syncs at once.
    pub fn writing(&self) -> Writing<'_> {
        self.shared.lock().writing += 1;
        Writing(self)
    }

    /// Fails fast if an earlier sync failed.
    pub fn check(&self) -> Result<(), DurabilityError> {
        match &self.shared.lock().failed {
            Some(e) => Err(DurabilityError(e.clone())),
            None => Ok(()),
        }
    }

    /// Marks the store failed (e.g. a commit whose outcome is unknown): every waiter and
    /// every later caller gets [`DurabilityError`].
    pub fn fail(&self, why: &str) {
        let mut st = self.shared.lock();
        if st.failed.is_none() {
            tracing::error!(error = %why, "storage failed; refusing further writes");
            st.failed = Some(why.to_owned());
        }
        self.shared.work.notify_all();
        self.shared.done.notify_all();
    }

    /// Current counters.
    pub fn stats(&self) -> BarrierStats {
        let st = self.shared.lock();
        BarrierStats {
            tickets: st.requested,
            syncs: st.syncs,
            failed: st.failed.is_some(),
        }
    }
}

/// A transaction in progress ([`GroupCommit::writing`]).
#[derive(Debug)]
pub struct Writing<'a>(&'a GroupCommit);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut st = self.0.shared.lock();
        st.writing = st.writing.saturating_sub(1);
        if st.writing == 0 && st.requested > st.durable {
            self.0.shared.work.notify_one();
        }
    }
}

/// Longest a pending sync waits for transactions still in progress to join it. A sync
/// that each of 64 concurrent writers' commits triggered on its own caught 1-3 writes and
/// spent the CPU the commits needed on flushes; 2 ms gathered 4-6 writes per sync at 64
/// callers over RPC, 6 ms gathers 13 at the same or a higher rate and a lower p99 at
/// 70% of the peak (BENCHMARKS.md, "Group commit"). The wait ends as soon as no
/// transaction is in progress, so a lone writer, or a few, never pay it.
pub const GATHER: Duration = Duration::from_millis(6);

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn committer_loop(shared: &Shared, syncer: &mut dyn Syncer, observer: Option<&dyn SyncObserver>) {
    loop {
        let (target, writes) = {
            let mut st = shared.lock();
            while st.requested == st.durable && !st.stopping && st.failed.is_none() {
                st = shared
                    .work
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if st.failed.is_some() || (st.stopping && st.requested == st.durable) {
                return;
            }
            let until = Instant::now() + shared.gather;
            while st.writing > 0 && !st.stopping && st.failed.is_none() {
                let Some(left) = until.checked_duration_since(Instant::now()) else {
                    break;
                };
                st = shared
                    .work
                    .wait_timeout(st, left)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
            if st.failed.is_some() {
                return;
            }
            (st.requested, st.requested - st.durable)
        };
        let started = Instant::now();
        // A panicking syncer is a failed sync: the waiters must hear about it rather
        // than wait for ever on a committer that is gone.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| syncer.sync()))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                Err(io::Error::other(format!("sync panicked: {what}")))
            });
        let report = SyncReport {
            writes,
            took: started.elapsed(),
            ok: result.is_ok(),
        };
        let mut st = shared.lock();
        st.syncs += 1;
        match result {
            Ok(()) => st.durable = st.durable.max(target),
            Err(e) => {
                tracing::error!(error = %e, "storage sync failed; refusing further writes");
                st.failed = Some(e.to_string());
            }
        }
        shared.done.notify_all();
        drop(st);
        // The process-wide observer is looked up per sync, so one set after this barrier
        // started still hears from it.
        let process = PROCESS_OBSERVER.get().map(|o| o.as_ref());
        if let Some(o) = observer.or(process) {
            o.synced(&report);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Synchronised on events (a sync started, a waiter answered, tickets issued), never
    //! on sleeps; nothing here measures time.

    use std::sync::mpsc;

    use super::*;

    enum Event {
        SyncStarted,
        Answered(Result<(), DurabilityError>),
    }

    /// A syncer that reports each sync and waits for the test's verdict on it.
    struct Gate {
        verdicts: mpsc::Receiver<io::Result<()>>,
        events: mpsc::Sender<Event>,
    }

    impl Syncer for Gate {
        fn sync(&mut self) -> io::Result<()> {
            let _ = self.events.send(Event::SyncStarted);
            self.verdicts
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("test ended")))
        }
    }

    type Gated = (
        Arc<GroupCommit>,
        mpsc::Sender<io::Result<()>>,
        mpsc::Sender<Event>,
        mpsc::Receiver<Event>,
    );

    fn gated() -> Gated {
        gated_with(GATHER)
    }

    fn gated_with(gather: Duration) -> Gated {
        let (verdict_tx, verdict_rx) = mpsc::channel();
        let (event_tx, event_rx) = mpsc::channel();
        let gc = GroupCommit::start_with(
            Box::new(Gate {
                verdicts: verdict_rx,
                events: event_tx.clone(),
            }),
            None,
            gather,
        )
        .expect("start");
        (Arc::new(gc), verdict_tx, event_tx, event_rx)
    }

    /// A gather longer than any test: only the end of the transactions in progress can
    /// release a pending sync.
    const FOREVER: Duration = Duration::from_secs(3600);

    #[test]
    fn a_lone_writer_is_synced_at_once() {
        let (gc, verdicts, events_tx, events) = gated_with(FOREVER);
        waiter(&gc, &events_tx);
        assert!(matches!(events.recv().expect("event"), Event::SyncStarted));
        verdicts.send(Ok(())).expect("verdict");
        assert!(matches!(
            events.recv().expect("event"),
            Event::Answered(Ok(()))
        ));
    }

    #[test]
    fn a_pending_sync_waits_for_the_transactions_in_progress_and_covers_them() {
        let (gc, verdicts, events_tx, events) = gated_with(FOREVER);
        let first = gc.writing();
        let second = gc.writing();
        waiter(&gc, &events_tx);
        wait_for_tickets(&gc, 1);
        drop(first);
        // One transaction is still in progress: no sync may start yet.
        waiter(&gc, &events_tx);
        wait_for_tickets(&gc, 2);
        drop(second);
        assert!(matches!(events.recv().expect("event"), Event::SyncStarted));
        verdicts.send(Ok(())).expect("verdict");
        for _ in 0..2 {
            assert!(matches!(
                events.recv().expect("event"),
                Event::Answered(Ok(()))
            ));
        }
        assert_eq!(gc.stats().syncs, 1, "both writes shared one sync");
    }

    fn waiter(gc: &Arc<GroupCommit>, events: &mpsc::Sender<Event>) {
        let (gc, events) = (Arc::clone(gc), events.clone());
        std::thread::spawn(move || {
            let _ = events.send(Event::Answered(gc.wait()));
        });
    }

    fn wait_for_tickets(gc: &GroupCommit, n: u64) {
        while gc.stats().tickets < n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn no_waiter_is_answered_before_the_sync_that_covers_it() {
        let (gc, verdicts, events_tx, events) = gated();
        for _ in 0..4 {
            waiter(&gc, &events_tx);
        }
        wait_for_tickets(&gc, 4);
        let mut answered = 0;
        let mut syncs_released = 0;
        let mut in_sync = false;
        while answered < 4 {
            match events.recv().expect("event") {
                Event::SyncStarted => {
                    in_sync = true;
                    // Everyone is waiting on a sync that has not finished: nobody may
                    // have been answered by it yet.
                    assert!(answered <= syncs_released * 4);
                    syncs_released += 1;
                    verdicts.send(Ok(())).expect("verdict");
                }
                Event::Answered(r) => {
                    assert!(in_sync, "answered before any sync ran");
                    assert_eq!(r, Ok(()));
                    answered += 1;
                }
            }
        }
        assert!(gc.stats().syncs <= 4);
        assert!(syncs_released <= 4);
    }

    #[test]
    fn a_failed_sync_fails_every_waiter_of_the_batch_and_later_writes() {
        let (gc, verdicts, events_tx, events) = gated();
        waiter(&gc, &events_tx);
        assert!(matches!(events.recv().expect("event"), Event::SyncStarted));
        // Two more waiters queue while the first sync is held; they form the next batch.
        waiter(&gc, &events_tx);
        waiter(&gc, &events_tx);
        wait_for_tickets(&gc, 3);
        verdicts.send(Ok(())).expect("verdict");
        let mut oks = 0;
        let mut failures = 0;
        while oks + failures < 3 {
            match events.recv().expect("event") {
                Event::SyncStarted => verdicts
                    .send(Err(io::Error::other("disk on fire")))
                    .expect("verdict"),
                Event::Answered(Ok(())) => oks += 1,
                Event::Answered(Err(e)) => {
                    assert!(e.0.contains("disk on fire"));
                    failures += 1;
                }
            }
        }
        assert_eq!((oks, failures), (1, 2));
        assert!(gc.wait().is_err(), "later writes are refused");
        assert!(gc.check().is_err());
        assert!(gc.stats().failed);
    }

    #[test]
    fn concurrent_writers_share_one_sync() {
        let (gc, verdicts, events_tx, events) = gated();
        for _ in 0..16 {
            waiter(&gc, &events_tx);
        }
        // Hold the first sync until every writer has its ticket: the next sync then
        // covers all that are left, so 16 writes take at most two syncs.
        wait_for_tickets(&gc, 16);
        let mut answered = 0;
        while answered < 16 {
            match events.recv().expect("event") {
                Event::SyncStarted => verdicts.send(Ok(())).expect("verdict"),
                Event::Answered(r) => {
                    assert_eq!(r, Ok(()));
                    answered += 1;
                }
            }
        }
        assert!(
            gc.stats().syncs <= 2,
            "16 writes took {} syncs",
            gc.stats().syncs
        );
    }

    /// Keeps every report it is given.
    #[derive(Debug, Default)]
    struct Reports(Mutex<Vec<SyncReport>>);

    impl Reports {
        /// The reports once there are at least `n` (all there are after 10 s).
        fn wait_for(&self, n: usize) -> Vec<SyncReport> {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = self.0.lock().expect("reports").clone();
                if got.len() >= n || Instant::now() > deadline {
                    return got;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    impl SyncObserver for Reports {
        fn synced(&self, report: &SyncReport) {
            self.0.lock().expect("reports").push(*report);
        }
    }

    #[test]
    fn every_sync_is_reported_with_the_writes_it_covered_and_its_outcome() {
        let (verdict_tx, verdict_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let reports = Arc::new(Reports::default());
        let gc = Arc::new(
            GroupCommit::start_observed(
                Box::new(Gate {
                    verdicts: verdict_rx,
                    events: event_tx.clone(),
                }),
                Some(Arc::clone(&reports) as Arc<dyn SyncObserver>),
            )
            .expect("start"),
        );
        // One write, then five queued behind its sync: two batches of 1 and 5.
        waiter(&gc, &event_tx);
        assert!(matches!(events.recv().expect("event"), Event::SyncStarted));
        for _ in 0..5 {
            waiter(&gc, &event_tx);
        }
        wait_for_tickets(&gc, 6);
        verdict_tx.send(Ok(())).expect("verdict");
        let mut answered = 0;
        while answered < 6 {
            match events.recv().expect("event") {
                Event::SyncStarted => verdict_tx.send(Ok(())).expect("verdict"),
                Event::Answered(r) => {
                    assert_eq!(r, Ok(()));
                    answered += 1;
                }
            }
        }
        // A failing sync is reported as failed.
        waiter(&gc, &event_tx);
        assert!(matches!(events.recv().expect("event"), Event::SyncStarted));
        verdict_tx
            .send(Err(io::Error::other("disk gone")))
            .expect("verdict");
        assert!(matches!(
            events.recv().expect("event"),
            Event::Answered(Err(_))
        ));
        drop(gc);
        // The committer reports a sync after it has answered its waiters: wait for the
        // third report rather than read the list as soon as the last answer arrived.
        let got = reports.wait_for(3);
        let writes: Vec<(u64, bool)> = got.iter().map(|r| (r.writes, r.ok)).collect();
        assert_eq!(writes, vec![(1, true), (5, true), (1, false)]);
    }

    #[test]
    fn a_failure_recorded_outside_a_sync_fails_waiters_and_later_writes() {
        let (gc, _verdicts, events_tx, events) = gated();
        waiter(&gc, &events_tx);
        assert!(matches!(events.recv().expect("event"), Event::SyncStarted));
        gc.fail("commit outcome unknown");
        match events.recv().expect("event") {
            Event::Answered(Err(e)) => assert!(e.0.contains("commit outcome unknown")),
            _ => panic!("the waiter must be failed"),
        }
        assert!(gc.check().is_err());
    }
}
