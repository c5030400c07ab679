//! The change feed of a replica over PostgreSQL: how writes made through other replicas
//! reach this one's matching index and its `WatchMatches` streams.
//!
//! The audit trail is the truth; notifications only say when to read it. One thread per
//! replica holds a connection outside the pool in `LISTEN` on the engine's feed channel
//! (every transaction that writes audit entries notifies it at commit). On each
//! notification, after each (re)connect, and every `poll` without one, it runs
//! [`Matching::follow`](crate::app::matching::Matching::follow) — a catch-up read of the
//! audit trail after the last sequence this replica applied — and, when that moved past
//! what it last announced, wakes the live streams, which read the match entries after
//! their own sequence. A lost notification or a dropped connection therefore only
//! delays: by at most `poll` (plus the read itself); a lost connection is
//! replaced every half second until the database answers, and then read from.

use std::{
    sync::{Arc, mpsc},
    thread,
    time::Duration,
};

use postgres::fallible_iterator::FallibleIterator;
use tracing::{info, warn};

use clearinghouse_storage::PostgresEngine;

use crate::app::App;

/// Pause between attempts to listen again after the connection was lost.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// A running feed; dropping it (or [`Feed::stop`]) ends the thread within one `poll`.
#[derive(Debug)]
pub struct Feed {
    stop: mpsc::Sender<()>,
}

impl Feed {
    /// Starts the feed thread of `app` over `engine`, reading at least every `poll`.
    pub fn start(engine: Arc<PostgresEngine>, app: App, poll: Duration) -> std::io::Result<Feed> {
        let (stop, stopped) = mpsc::channel();
        thread::Builder::new()
            .name("clearinghouse-feed".into())
            .spawn(move || run(&engine, &app, poll, &stopped))?;
        Ok(Feed { stop })
    }

    /// Asks the thread to end.
    pub fn stop(self) {
        let _ = self.stop.send(());
    }
}

/// Whether the feed was told to stop (or its owner went away).
fn stopping(stopped: &mpsc::Receiver<()>) -> bool {
    !matches!(stopped.try_recv(), Err(mpsc::TryRecvError::Empty))
}

/// Brings the index up to the store and wakes the live streams when it moved.
fn catch_up(app: &App, announced: &mut u64) {
    app.matching.follow(&app.store);
    let applied = app.matching.applied();
    if applied != *announced {
        *announced = applied;
        app.live.notify();
    }
}

fn listen(engine: &PostgresEngine) -> Result<postgres::Client, String> {
    let mut client = engine.dedicated_client().map_err(|e| e.to_string())?;
    client
        .batch_execute(&format!("LISTEN \"{}\"", engine.feed_channel()))
        .map_err(|e| e.to_string())?;
    Ok(client)
}

fn run(engine: &PostgresEngine, app: &App, poll: Duration, stopped: &mpsc::Receiver<()>) {
    let mut announced = app.matching.applied();
    let mut client: Option<postgres::Client> = None;
    let mut down_logged = false;
    while !stopping(stopped) {
        let Some(c) = client.as_mut() else {
            match listen(engine) {
                Ok(c) => {
                    info!(channel = engine.feed_channel(), "change feed listening");
                    client = Some(c);
                    down_logged = false;
                    // After a (re)connect: whatever was missed is read now.
                    catch_up(app, &mut announced);
                }
                Err(e) => {
                    if !down_logged {
                        warn!(error = %e, "change feed cannot listen; reading the audit trail on a timer until it can");
                        down_logged = true;
                    }
                    // Waits before trying again, less when told to stop.
                    let pause = RECONNECT_PAUSE.min(poll);
                    if !matches!(
                        stopped.recv_timeout(pause),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    ) {
                        return;
                    }
                }
            }
            continue;
        };
        let waited = c
            .notifications()
            .timeout_iter(poll)
            .next()
            .map(|n| n.is_some());
        match waited {
            Ok(notified) => {
                if notified {
                    // Several commits may have notified; one read covers them all.
                    let mut notes = c.notifications();
                    let mut pending = notes.iter();
                    while let Ok(Some(_)) = pending.next() {}
                }
                catch_up(app, &mut announced);
            }
            Err(e) => {
                warn!(error = %e, "change feed lost its connection; reconnecting");
                client = None;
            }
        }
    }
}
