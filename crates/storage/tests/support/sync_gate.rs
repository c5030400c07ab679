//! A sync fault that holds every sync while closed, for the tests of what an engine shows
//! before a write is durable.

use std::{
    io,
    sync::{
        Condvar, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use clearinghouse_storage::SyncFault;

/// Holds every sync until the test lets it go.
#[derive(Debug, Default)]
pub struct SyncGate {
    held: Mutex<bool>,
    cond: Condvar,
    waiting: AtomicU64,
}

impl SyncGate {
    /// Holds the syncs that start from now on.
    pub fn close(&self) {
        *self.held.lock().expect("lock") = true;
    }

    /// Lets every held sync go, and the later ones through.
    pub fn open(&self) {
        *self.held.lock().expect("lock") = false;
        self.cond.notify_all();
    }

    /// Syncs being held now.
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::SeqCst)
    }
}

impl SyncFault for SyncGate {
    fn before_sync(&self) -> io::Result<()> {
        let mut held = self.held.lock().expect("lock");
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while *held {
            held = self.cond.wait(held).expect("wait");
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}
