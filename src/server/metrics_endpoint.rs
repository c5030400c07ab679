//! The Prometheus endpoint: `GET /metrics` over HTTP/1.1 on its own listener (kept apart
//! from the API port so that it can stay on a private interface), plus the task that
//! samples the periodic gauges and keeps the recorder's histograms drained.
//!
//! The endpoint serves at most [`MAX_CONNECTIONS`] scrapers at once, each of which must
//! send its request head within [`HEADER_TIMEOUT`].

use std::{convert::Infallible, sync::Arc, time::Duration};

use http::{Method, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;
use hyper::{body::Incoming, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use prost::bytes::Bytes;
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
    task::JoinHandle,
};
use tracing::{debug, warn};

use crate::{app::App, metrics::sample};

/// Scrapers served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Time a scraper has to send its request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of the recorder's upkeep (draining histogram samples).
const UPKEEP: Duration = Duration::from_secs(5);

/// The endpoint's tasks; dropping this does not stop them, [`MetricsEndpoint::stop`]
/// does.
#[derive(Debug)]
pub struct MetricsEndpoint {
    serve: JoinHandle<()>,
    sampler: JoinHandle<()>,
}

impl MetricsEndpoint {
    /// Serves `handle` on `listener` and samples `app` every `interval` until `stop`
    /// turns true.
    pub fn start(
        listener: TcpListener,
        handle: PrometheusHandle,
        app: App,
        interval: Duration,
        stop: watch::Receiver<bool>,
    ) -> MetricsEndpoint {
        MetricsEndpoint {
            serve: tokio::spawn(serve(listener, handle.clone(), stop.clone())),
            sampler: tokio::spawn(sample_loop(app, handle, interval, stop)),
        }
    }

    /// Stops both tasks.
    pub fn stop(self) {
        self.serve.abort();
        self.sampler.abort();
    }
}

async fn serve(listener: TcpListener, handle: PrometheusHandle, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                warn!(error = %e, "metrics endpoint: accept failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| respond(req, handle.clone()));
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                debug!(error = %e, "metrics endpoint: connection ended");
            }
            drop(slot);
        });
    }
}

async fn respond(
    req: Request<Incoming>,
    handle: PrometheusHandle,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body, content_type) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            handle.render(),
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET\n".to_owned(),
            "text/plain; charset=utf-8",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "metrics are at /metrics\n".to_owned(),
            "text/plain; charset=utf-8",
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    Ok(resp)
}

async fn sample_loop(
    app: App,
    handle: PrometheusHandle,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut sample_tick = tokio::time::interval(interval);
    let mut upkeep_tick = tokio::time::interval(UPKEEP);
    let mut seen = sample::Seen::new();
    loop {
        tokio::select! {
            _ = sample_tick.tick() => {
                let (store, matching) = (Arc::clone(&app.store), Arc::clone(&app.matching));
                let mut s = std::mem::take(&mut seen);
                let done = tokio::task::spawn_blocking(move || {
                    let r = sample::sample(&store, &matching, &mut s);
                    (r, s)
                })
                .await;
                match done {
                    Ok((r, s)) => {
                        seen = s;
                        if let Err(e) = r {
                            warn!(error = %e, "metrics: sampling the store failed");
                        }
                    }
                    Err(e) => warn!(error = %e, "metrics: sampling task failed"),
                }
            }
            _ = upkeep_tick.tick() => handle.run_upkeep(),
            _ = stop.changed() => return,
        }
    }
}
