//! Group commit: a write is acknowledged only after a sync that started after it.
//!
//! One committer thread waits for requests, takes every ticket issued so far as one batch,
//! runs the [`Syncer`] once (for sled: `flush()` then `fsync` of the `db` file) and then
//! releases the whole batch. Concurrent writers therefore share one fsync. A failed sync is
//! fatal: every waiter of that batch and every later caller gets
//! [`DurabilityError`], and the barrier never reports success again.

use std::{
    io,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::JoinHandle,
};

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
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
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
    /// Starts the committer thread around `syncer`.
    pub fn start(mut syncer: Box<dyn Syncer>) -> io::Result<GroupCommit> {
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("storage-committer".into())
            .spawn(move || committer_loop(&s, syncer.as_mut()))?;
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
        st.requested += 1;
        let ticket = st.requested;
        self.shared.work.notify_one();
        loop {
            if let Some(e) = &st.failed {
                return Err(DurabilityError(e.clone()));
            }
            if st.durable >= ticket {
                return Ok(());
            }
            st = self
                .shared
                .done
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Fails fast if an earlier sync failed.
    pub fn check(&self) -> Result<(), DurabilityError> {
        match &self.shared.lock().failed {
            Some(e) => Err(DurabilityError(e.clone())),
            None => Ok(()),
        }
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

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn committer_loop(shared: &Shared, syncer: &mut dyn Syncer) {
    loop {
        let target = {
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
            st.requested
        };
        let result = syncer.sync();
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
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            atomic::{AtomicU64, Ordering},
            mpsc,
        },
        time::Duration,
    };

    use super::*;

    /// A syncer that waits for a go-ahead per sync and can be told to fail.
    struct Gate {
        go: mpsc::Receiver<io::Result<()>>,
        started: mpsc::Sender<()>,
    }

    impl Syncer for Gate {
        fn sync(&mut self) -> io::Result<()> {
            let _ = self.started.send(());
            self.go
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("test ended")))
        }
    }

    fn gated() -> (
        GroupCommit,
        mpsc::Sender<io::Result<()>>,
        mpsc::Receiver<()>,
    ) {
        let (go_tx, go_rx) = mpsc::channel();
        let (st_tx, st_rx) = mpsc::channel();
        let gc = GroupCommit::start(Box::new(Gate {
            go: go_rx,
            started: st_tx,
        }))
        .expect("start");
        (gc, go_tx, st_rx)
    }

    #[test]
    fn no_waiter_is_answered_before_the_sync_completes() {
        let (gc, go, started) = gated();
        let gc = Arc::new(gc);
        let answered = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::new();
        for _ in 0..4 {
            let gc = Arc::clone(&gc);
            let answered = Arc::clone(&answered);
            handles.push(std::thread::spawn(move || {
                let r = gc.wait();
                answered.fetch_add(1, Ordering::SeqCst);
                r
            }));
        }
        // The committer is inside sync; hold it there and check nobody was answered.
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("sync started");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(answered.load(Ordering::SeqCst), 0);
        // Release syncs until every waiter is answered (late arrivals form a second batch).
        let mut released = 0;
        while answered.load(Ordering::SeqCst) < 4 {
            go.send(Ok(())).expect("go");
            released += 1;
            let _ = started.recv_timeout(Duration::from_millis(200));
        }
        for h in handles {
            assert_eq!(h.join().expect("join"), Ok(()));
        }
        assert!(released <= 4);
        assert!(gc.stats().syncs <= 4);
    }

    #[test]
    fn a_failed_sync_fails_every_waiter_of_the_batch_and_later_writes() {
        let (gc, go, started) = gated();
        let gc = Arc::new(gc);
        let first = {
            let gc = Arc::clone(&gc);
            std::thread::spawn(move || gc.wait())
        };
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("sync started");
        // Two more waiters queue while the first sync is held; they form the next batch.
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let gc = Arc::clone(&gc);
                std::thread::spawn(move || gc.wait())
            })
            .collect();
        while gc.stats().tickets < 3 {
            std::thread::yield_now();
        }
        go.send(Ok(())).expect("go");
        assert_eq!(first.join().expect("join"), Ok(()));
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("second sync");
        go.send(Err(io::Error::other("disk on fire"))).expect("go");
        for h in queued {
            let err = h.join().expect("join").expect_err("must fail");
            assert!(err.0.contains("disk on fire"));
        }
        assert!(gc.wait().is_err(), "later writes are refused");
        assert!(gc.check().is_err());
        assert!(gc.stats().failed);
    }

    #[test]
    fn concurrent_writers_share_syncs() {
        struct Slow(Arc<AtomicU64>);
        impl Syncer for Slow {
            fn sync(&mut self) -> io::Result<()> {
                self.0.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            }
        }
        let count = Arc::new(AtomicU64::new(0));
        let gc = Arc::new(GroupCommit::start(Box::new(Slow(Arc::clone(&count)))).expect("start"));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let gc = Arc::clone(&gc);
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        gc.wait().expect("ok");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("join");
        }
        let syncs = count.load(Ordering::SeqCst);
        assert!(
            syncs < 160,
            "160 writes took {syncs} syncs; expected batching"
        );
    }
}
