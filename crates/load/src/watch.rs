//! Long-lived `WatchMatches` streams for the mixed workload: each reads match events as
//! they come, resumes after the last sequence it saw when the stream ends or fails, and
//! counts events; every event counts as progress for the hang watchdog.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;

use clearinghouse::pb;

use crate::{client::Clients, report::WatchReport, stats::Shared};

/// Pause before reopening a failed stream, so a server that refuses streams is not spun on.
const REOPEN_BACKOFF: Duration = Duration::from_millis(200);

/// Watches until `until`; returns what this stream saw.
pub async fn watch(mut broker: Clients, until: Instant, shared: Arc<Shared>) -> WatchReport {
    let mut report = WatchReport {
        streams: 1,
        ..WatchReport::default()
    };
    let mut after_sequence = 0u64;
    let mut first = true;
    while Instant::now() < until {
        if !first {
            report.reopened += 1;
        }
        first = false;
        let opened = tokio::select! {
            r = broker.matches.watch_matches(pb::WatchMatchesRequest { after_sequence }) => r,
            () = tokio::time::sleep_until(until) => break,
        };
        let mut stream = match opened {
            Ok(s) => s.into_inner(),
            Err(_) => {
                shared.note_error();
                tokio::time::sleep(REOPEN_BACKOFF).await;
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                m = stream.message() => m,
                () = tokio::time::sleep_until(until) => return report,
            };
            match next {
                Ok(Some(event)) => {
                    after_sequence = after_sequence.max(event.sequence);
                    report.events += 1;
                    shared.note_ok();
                }
                Ok(None) => break,
                Err(_) => {
                    shared.note_error();
                    tokio::time::sleep(REOPEN_BACKOFF).await;
                    break;
                }
            }
        }
    }
    report
}
