//! Whether the database answered lately: every round trip that succeeds or loses its
//! connection reports here, so that `check_writable` answers from memory while the
//! database keeps answering, and asks the server again once it has been quiet for the
//! probe interval or after a failure (and so recovers by itself when the database is
//! back).

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

#[derive(Debug, Default)]
struct State {
    last_ok: Option<Instant>,
    down: Option<String>,
}

/// The database's reachability as last seen.
#[derive(Debug, Default)]
pub(crate) struct Health {
    state: Mutex<State>,
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A round trip succeeded.
    pub(crate) fn ok(&self) {
        let mut s = self.lock();
        s.last_ok = Some(Instant::now());
        s.down = None;
    }

    /// The database could not be reached.
    pub(crate) fn lost(&self, why: &str) {
        self.lock().down = Some(why.to_owned());
    }

    /// Whether a success within `interval`, and no failure since, vouches for the
    /// database without asking it.
    pub(crate) fn fresh(&self, interval: Duration) -> bool {
        let s = self.lock();
        s.down.is_none() && s.last_ok.is_some_and(|t| t.elapsed() < interval)
    }
}
