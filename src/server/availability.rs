//! A replica over a shared database while the database is unreachable: health says
//! NOT_SERVING for every service, and every call other than health and reflection is
//! answered UNAVAILABLE at once (instead of waiting for a pooled connection to time out).
//! When the database answers again the replica goes back to SERVING by itself: no exit,
//! no restart. (The embedded sled store is different: a failed fsync stops the process
//! so that the next start recovers; see `server::run`.)

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tonic_health::{ServingStatus, server::HealthReporter};
use tower::{Layer, Service};
use tracing::{info, warn};

use clearinghouse_storage::Store;

/// Whether the database answered at the last check.
#[derive(Debug)]
pub struct Availability {
    up: AtomicBool,
}

impl Default for Availability {
    fn default() -> Self {
        Availability {
            up: AtomicBool::new(true),
        }
    }
}

impl Availability {
    /// Whether calls are let through.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}

/// What a call is answered while the database is unreachable.
pub const UNAVAILABLE_MESSAGE: &str = "the database is unreachable; this replica reports NOT_SERVING until it is back: retry later or on another replica";

/// Checks the database every `every` and moves health and [`Availability`] with it,
/// until `stop` turns true (the shutdown sets NOT_SERVING itself).
pub async fn watch_database(
    store: Arc<Store>,
    reporter: HealthReporter,
    state: Arc<Availability>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let probe = Arc::clone(&store);
        let up = tokio::task::spawn_blocking(move || probe.engine().check_writable())
            .await
            .map_or_else(|e| Err(e.to_string()), |r| r.map_err(|e| e.to_string()));
        if *stop.borrow() {
            return;
        }
        match (state.is_up(), up) {
            (true, Err(e)) => {
                warn!(error = %e, "database unreachable; health set to NOT_SERVING until it is back");
                state.up.store(false, Ordering::SeqCst);
                super::set_health(&reporter, ServingStatus::NotServing).await;
            }
            (false, Ok(())) => {
                info!("database reachable again; health set to SERVING");
                state.up.store(true, Ordering::SeqCst);
                super::set_health(&reporter, ServingStatus::Serving).await;
            }
            _ => {}
        }
    }
}

/// Tower layer refusing calls while the database is unreachable.
#[derive(Debug, Clone)]
pub struct AvailabilityLayer {
    state: Arc<Availability>,
}

impl AvailabilityLayer {
    /// A layer following `state`.
    pub fn new(state: Arc<Availability>) -> AvailabilityLayer {
        AvailabilityLayer { state }
    }
}

impl<S> Layer<S> for AvailabilityLayer {
    type Service = AvailabilityService<S>;
    fn layer(&self, inner: S) -> AvailabilityService<S> {
        AvailabilityService {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service produced by [`AvailabilityLayer`].
#[derive(Debug, Clone)]
pub struct AvailabilityService<S> {
    inner: S,
    state: Arc<Availability>,
}

/// Paths served whatever the database does: health (so probes see NOT_SERVING) and
/// reflection.
fn always_served(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for AvailabilityService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if !self.state.is_up() && !always_served(req.uri().path()) {
            let status = tonic::Status::unavailable(UNAVAILABLE_MESSAGE);
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move { inner.call(req).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_health_and_reflection_are_served_while_the_database_is_away() {
        assert!(always_served("/grpc.health.v1.Health/Check"));
        assert!(always_served("/grpc.health.v1.Health/Watch"));
        assert!(always_served(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!always_served("/clearinghouse.v1.NeedService/ListNeeds"));
        assert!(!always_served(
            "/clearinghouse.v1.AdminService/ExportBackup"
        ));
    }
}
