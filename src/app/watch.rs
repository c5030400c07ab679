//! Live match events for `WatchMatches`. Events are the audit entries of matches (so they
//! are durable, sequenced and replayable after a reconnect); a watch channel ticks after
//! every match write so streams wake without polling. Each stream is bounded: a client
//! that does not keep up gets RESOURCE_EXHAUSTED and is dropped. Streams end when the
//! server shuts down, and with UNAUTHENTICATED as soon as the caller's key is found
//! revoked or expired: it is checked before every batch of events and when it expires.

use tokio::sync::{mpsc, watch};

use clearinghouse_domain::{AuditEntry, Match, Money, Need, Principal};
use clearinghouse_storage::AuditFilter;

use super::{App, PageRequest, clock, matches::can_see_match};
use crate::{auth::recheck, error::ApiError};

/// Events a stream may buffer before its client is considered too slow.
pub const STREAM_BUFFER: usize = 256;

/// Wake-ups for live streams and the shutdown signal they obey.
#[derive(Debug)]
pub struct Live {
    tick: watch::Sender<u64>,
    shutdown: watch::Receiver<bool>,
}

impl Live {
    /// Live events ending when `shutdown` turns true.
    pub fn new(shutdown: watch::Receiver<bool>) -> Live {
        Live {
            tick: watch::channel(0).0,
            shutdown,
        }
    }

    /// A receiver that turns true when the server starts shutting down (every stream
    /// ends then).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// Wakes every stream (after a match write).
    pub fn notify(&self) {
        self.tick.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// When a stream's key expires, as a future (pending for ever when it never does).
#[derive(Debug)]
struct KeyExpiry(Option<tokio::time::Instant>);

impl KeyExpiry {
    async fn wait(&self) {
        match self.0 {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}

fn key_expiry(who: &Principal) -> KeyExpiry {
    KeyExpiry(who.expires_at.map(|at| {
        let ms = u64::try_from(at.0.saturating_sub(clock::now().0)).unwrap_or(0);
        // A millisecond late, so that the key is expired when it is looked at again.
        tokio::time::Instant::now() + std::time::Duration::from_millis(ms.saturating_add(1))
    }))
}

/// One event as a stream delivers it.
#[derive(Debug, Clone)]
pub struct MatchEvent {
    /// The audit entry (sequence, action, version, time).
    pub entry: AuditEntry,
    /// The match as it is now.
    pub current: Match,
    /// Its gap, when computable.
    pub gap: Option<Money>,
}

impl App {
    /// Feeds `tx` with the match events `who` may see after `after`, then live ones, until
    /// the client leaves, falls behind or the server stops.
    pub async fn watch_matches(
        &self,
        who: Principal,
        after: u64,
        tx: mpsc::Sender<Result<MatchEvent, ApiError>>,
    ) {
        let mut tick = self.live.tick.subscribe();
        let mut shutdown = self.live.shutdown.clone();
        let mut last = after;
        let expiry = key_expiry(&who);
        loop {
            tick.borrow_and_update();
            // Drain everything after `last`, a page at a time.
            loop {
                let page = self
                    .list_audit(
                        AuditFilter {
                            resource_kind: Some("match".to_owned()),
                            ..AuditFilter::default()
                        },
                        PageRequest {
                            size: 200,
                            after: Some(last),
                        },
                    )
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let events = match self.events_for(&who, page.items).await {
                    Ok(ev) => ev,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                for (seq, ev) in events {
                    last = seq;
                    let Some(ev) = ev else { continue };
                    if tx.capacity() <= 1 {
                        let _ = tx.try_send(Err(ApiError::ResourceExhausted(format!(
                            "the stream fell {STREAM_BUFFER} events behind; reconnect with after_sequence={}",
                            ev.entry.sequence.saturating_sub(1)
                        ))));
                        return;
                    }
                    if tx.try_send(Ok(ev)).is_err() {
                        return; // the client left
                    }
                }
                if page.next.is_none() {
                    break;
                }
            }
            tokio::select! {
                changed = tick.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
                () = tx.closed() => return,
                // The next pass re-checks the key and ends the stream.
                () = expiry.wait() => {},
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Resolves audit entries to events the caller may see (`None` for hidden ones).
    async fn events_for(
        &self,
        who: &Principal,
        entries: Vec<AuditEntry>,
    ) -> Result<Vec<(u64, Option<MatchEvent>)>, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            recheck::still_valid(store, &who, clock::now())?;
            let mut out = Vec::with_capacity(entries.len());
            for entry in entries {
                let seq = entry.sequence;
                let ev = match store.get::<Match>(&entry.resource_id)? {
                    Some(m) if can_see_match(&who, &m) => {
                        let gap = store
                            .get::<Need>(&m.need.0)?
                            .and_then(|n| app.match_gap(&m, &n));
                        Some(MatchEvent {
                            entry,
                            current: m,
                            gap,
                        })
                    }
                    _ => None,
                };
                out.push((seq, ev));
            }
            Ok(out)
        })
        .await
    }
}
