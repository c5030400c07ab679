//! The planner: one thread of its own, at a lower scheduling priority, that runs the long
//! matching computations (allocation plans) one at a time.
//!
//! A plan of thousands of needs and offers keeps a core busy for hundreds of milliseconds.
//! On the blocking pool it competes with every write and read at the same priority (on a
//! two-core machine it takes half the machine away from them), and several plans asked at
//! once would take every core. Here plans queue behind each other on one thread that the
//! kernel schedules after the calls' threads, so writes keep their latency while a plan
//! runs, and the plan uses whatever the calls leave.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::mpsc,
    thread,
};

use crate::error::ApiError;

/// Niceness of the planner thread (0 is normal, 19 the lowest priority).
const PLANNER_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// Handle of the planner thread; dropping the last handle lets the thread end.
#[derive(Debug)]
pub struct Planner {
    jobs: mpsc::Sender<Job>,
}

impl Planner {
    /// Starts the planner thread.
    pub fn start() -> Result<Planner, ApiError> {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("clearinghouse-planner".into())
            .spawn(move || {
                if let Err(e) = lower_priority(PLANNER_NICENESS) {
                    tracing::warn!(error = %e, "the planner runs at normal priority");
                }
                for job in rx {
                    // A panicking plan fails its own call (its reply channel is dropped),
                    // not the planner.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                }
            })
            .map_err(|e| ApiError::Internal(format!("cannot start the planner thread: {e}")))?;
        Ok(Planner { jobs: tx })
    }

    /// Runs `f` on the planner thread after the plans queued before it, and returns its
    /// result.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let _ = tx.send(span.in_scope(f));
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::Internal("the planner thread has stopped".into()))?;
        rx.await.map_err(|_| {
            ApiError::Internal("the plan failed; the server log has the details".into())
        })?
    }
}

/// Lowers the calling thread's scheduling priority to `niceness`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_priority(niceness: i32) -> std::io::Result<()> {
    // SAFETY: `gettid` takes no arguments and cannot fail. `setpriority` takes three
    // integers and touches no memory of this process; with `PRIO_PROCESS` and a thread id
    // Linux applies the niceness to that one thread (setpriority(2), NOTES). Neither
    // call can violate memory safety whatever it returns.
    let rc = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, niceness)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Lowers the calling thread's scheduling priority (Linux only; elsewhere plans run at
/// normal priority).
#[cfg(not(target_os = "linux"))]
fn lower_priority(_niceness: i32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plans run on the planner thread, one after the other, and a panicking one fails
    /// only its own call.
    #[tokio::test]
    async fn plans_run_in_turn_on_the_planner_thread_and_a_panic_fails_only_its_call() {
        let planner = Planner::start().expect("planner");
        let name = planner
            .run(|| Ok(thread::current().name().map(str::to_owned)))
            .await
            .expect("run");
        assert_eq!(name.as_deref(), Some("clearinghouse-planner"));
        let failed = planner
            .run(|| -> Result<(), ApiError> { panic!("a plan that panics") })
            .await;
        assert!(matches!(failed, Err(ApiError::Internal(_))), "{failed:?}");
        assert_eq!(planner.run(|| Ok(2 + 2)).await.expect("still serving"), 4);
    }

    /// On Linux the planner thread runs at a lower priority than the calls' threads.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_planner_thread_runs_at_a_lower_priority() {
        fn niceness() -> i64 {
            let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
            // Field 19 (niceness), counted after the parenthesised command name.
            let after = stat.rsplit_once(')').expect("comm").1;
            after
                .split_whitespace()
                .nth(16)
                .expect("niceness field")
                .parse()
                .expect("number")
        }
        let planner = Planner::start().expect("planner");
        let inside = planner.run(|| Ok(niceness())).await.expect("run");
        assert!(
            inside > niceness(),
            "planner niceness {inside}, caller {}",
            niceness()
        );
    }
}
