//! `run`: opens storage, seeds reference data, wires the services behind the auth layer,
//! health and reflection, serves until shutdown, then drains and flushes storage last.
//! `main` and the end-to-end tests call it identically, on a listener they bound first.
//! Connections come through [`accept`] (limit, socket options, TLS and preface within
//! the handshake timeout) as [`connection::Connection`]s (idle timeout). With
//! `[metrics] listen`, [`metrics_endpoint`] serves Prometheus metrics on its own port.

pub mod accept;
pub mod availability;
pub mod connection;
pub mod engine;
pub mod metrics_endpoint;
pub mod peer;
pub mod tls;
pub mod transport;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use clearinghouse_storage::index_file::IndexFileError;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::{ServingStatus, server::HealthReporter};
use tracing::{error, info, warn};

use crate::{
    api::{
        admin::AdminApi, intake::IntakeApi, matching::MatchApi, needs::NeedApi, offers::OfferApi,
        parties::PartyApi, reports::ReportApi,
    },
    app::{self, App, clock, seed},
    auth::{AuthLayer, Authenticator, rate::RateLimiter},
    config::Config,
    pb,
};

/// Fully qualified names of the services, as health checking reports them.
pub const SERVICE_NAMES: &[&str] = &[
    "clearinghouse.v1.PartyService",
    "clearinghouse.v1.NeedService",
    "clearinghouse.v1.OfferService",
    "clearinghouse.v1.AdminService",
    "clearinghouse.v1.MatchService",
    "clearinghouse.v1.ReportService",
    "clearinghouse.v1.IntakeService",
];

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Seams for tests: faults injected below the service, listeners bound by the caller.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// A fault run before every storage sync (tests of the fatal-fsync path).
    pub sync_fault: Option<Arc<dyn clearinghouse_storage::SyncFault>>,
    /// A listener for the metrics endpoint, bound by the caller (instead of binding
    /// `[metrics] listen`).
    pub metrics_listener: Option<TcpListener>,
}

/// Runs `job` on the blocking pool at once, then every `period` until `stop` changes;
/// `what` names it in the log when it fails.
fn every(
    period: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    what: &'static str,
    job: impl Fn() -> Result<(), String> + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let job = Arc::new(job);
    tokio::spawn(async move {
        loop {
            let run = Arc::clone(&job);
            match tokio::task::spawn_blocking(move || run()).await {
                Ok(Err(e)) => error!(error = %e, "{what} failed"),
                Err(e) => error!(error = %e, "{what} task failed"),
                Ok(Ok(())) => {}
            }
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// Runs the service on `listener` until `shutdown` resolves (or storage loses durability).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_with(config, listener, shutdown, RunOptions::default()).await
}

/// [`run`] with test seams.
pub async fn run_with(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: RunOptions,
) -> anyhow::Result<()> {
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let tls = tls::acceptor(&config.tls)?;
    let addr = listener.local_addr().context("listener address")?;
    if tls.is_none() && !addr.ip().is_loopback() {
        warn!(
            %addr,
            "listening without TLS on a non-loopback address: API keys cross the network in clear text; set [tls] cert and key"
        );
    }
    let metrics_listener = match (options.metrics_listener, config.metrics.listen) {
        (Some(l), _) => Some(l),
        (None, Some(a)) => Some(
            TcpListener::bind(a)
                .await
                .with_context(|| format!("cannot listen for metrics on {a}"))?,
        ),
        (None, None) => None,
    };
    let metrics_handle = match &metrics_listener {
        Some(_) => Some(crate::metrics::install()?),
        None => None,
    };
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    // The matching index's file is read (and indexed) while the store opens.
    let index_path = data_dir.join(app::index_file::FILE_NAME);
    let index_file = (config.index_save_secs > 0).then(|| {
        let path = index_path.clone();
        tokio::task::spawn_blocking(move || app::index_file::read(&path))
    });
    let engine::Opened { store, postgres } = engine::open(&config, options.sync_fault).await?;
    info!("storage open");

    let seed_store = Arc::clone(&store);
    let seed_dir = data_dir.clone();
    tokio::task::spawn_blocking(move || {
        seed::ensure_reference_data(&seed_store, &seed_dir, clock::now())
    })
    .await
    .context("seeding task failed")?
    .map_err(|e| anyhow::anyhow!("cannot seed reference data: {e}"))?;

    let loaded = match index_file {
        None => None,
        Some(task) => match task
            .await
            .unwrap_or_else(|e| Err(IndexFileError::Refused(format!("reading it failed: {e}"))))
        {
            Ok(l) => Some(l),
            Err(IndexFileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                info!(path = %index_path.display(), "no matching index file yet; building the index from the store");
                None
            }
            Err(e) => {
                info!(reason = %e, path = %index_path.display(), "matching index file not used; rebuilding");
                None
            }
        },
    };
    let index_store = Arc::clone(&store);
    let (matching, origin) = tokio::task::spawn_blocking(move || {
        app::matching::Matching::load_from(&index_store, clock::now(), loaded)
    })
    .await
    .context("matching index task failed")?
    .map_err(|e| anyhow::anyhow!("cannot build the matching index: {e}"))?;
    let saver = (config.index_save_secs > 0).then(|| {
        let loaded_at = match origin {
            app::matching::Origin::File { position } => Some(position),
            app::matching::Origin::Store => None,
        };
        Arc::new(app::index_file::Saver::new(
            index_path.clone(),
            Duration::from_secs(config.index_save_secs),
            loaded_at,
        ))
    });
    let (streams_stop, streams_stop_rx) = tokio::sync::watch::channel(false);
    let app_store = Arc::clone(&store);
    let app = tokio::task::spawn_blocking(move || {
        App::new(
            app_store,
            Arc::new(matching),
            Arc::new(app::watch::Live::new(streams_stop_rx)),
        )
    })
    .await
    .context("use-case setup task failed")?
    .map_err(|e| anyhow::anyhow!("cannot set up the use cases: {e}"))?;
    let shutdown_matching = Arc::clone(&app.matching);
    let limits = &config.limits;
    let max_msg = limits.max_message_bytes;
    let auth = Arc::new(Authenticator::new(
        Arc::clone(&store),
        RateLimiter::new(limits.rate_per_principal, limits.burst_per_principal),
    ));

    let (reporter, health_service) = tonic_health::server::health_reporter();
    set_health(&reporter, ServingStatus::Serving).await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("reflection v1")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("reflection v1alpha")?;

    // Time-driven transitions (offers past valid_until), at start and every 10 minutes.
    let expiry_app = app.clone();
    let expiry = every(
        Duration::from_secs(600),
        streams_stop.subscribe(),
        "offer expiry",
        move || {
            app::expiry::expire_offers(&expiry_app.store, &expiry_app.matching, clock::now())
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    );

    // The matching index follows the store after every write; this also catches it up
    // periodically, whatever happened to a call. Over PostgreSQL the change feed does
    // (below), on every notification and every `feed_poll_ms`.
    let follow_app = app.clone();
    let mut follow_stop = streams_stop.subscribe();
    let feed_follows = postgres.is_some();
    let follower = tokio::spawn(async move {
        if feed_follows {
            return;
        }
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = follow_stop.changed() => return,
            }
            let (store, matching) = (
                Arc::clone(&follow_app.store),
                Arc::clone(&follow_app.matching),
            );
            if let Err(e) = tokio::task::spawn_blocking(move || matching.follow(&store)).await {
                error!(error = %e, "matching index follower task failed");
            }
        }
    });

    // The matching index is saved to its file when due (checked every few seconds).
    let saver_task = saver.clone().map(|saver| {
        let save_app = app.clone();
        every(
            Duration::from_secs(5),
            streams_stop.subscribe(),
            "matching index save",
            move || {
                saver.save_if_due(&save_app.matching, &save_app.store);
                Ok(())
            },
        )
    });

    // Storage that can no longer promise durability stops the service, so that the next
    // start recovers from what is on disk. A shared database that cannot be reached
    // only makes the replica NOT_SERVING until it is back.
    let (fatal_tx, fatal_rx) = tokio::sync::watch::channel(false);
    let mut fatal_signal = fatal_rx.clone();
    let watch_store = Arc::clone(&store);
    let availability = Arc::new(availability::Availability::default());
    let watchdog = if postgres.is_some() {
        tokio::spawn(availability::watch_database(
            watch_store,
            reporter.clone(),
            Arc::clone(&availability),
            Duration::from_millis(250),
            streams_stop.subscribe(),
        ))
    } else {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                if !watch_store.is_writable() {
                    error!("storage lost durability; shutting down");
                    let _ = fatal_tx.send(true);
                    return;
                }
            }
        })
    };
    // Writes made through other replicas reach this one's index and live streams.
    let feed = match &postgres {
        Some(engine) => Some(
            crate::feed::Feed::start(
                Arc::clone(engine),
                app.clone(),
                Duration::from_millis(config.storage.feed_poll_ms),
            )
            .context("cannot start the change feed")?,
        ),
        None => None,
    };

    let metrics = match (metrics_listener, metrics_handle) {
        (Some(l), Some(handle)) => {
            info!(addr = %l.local_addr().context("metrics listener address")?, "serving metrics");
            Some(metrics_endpoint::MetricsEndpoint::start(
                l,
                handle,
                app.clone(),
                Duration::from_secs(config.metrics.sample_interval_secs),
                streams_stop.subscribe(),
            ))
        }
        _ => None,
    };
    let incoming = accept::incoming(listener, &config.connections, tls, streams_stop.subscribe());
    let conns = &config.connections;
    let shutdown_reporter = reporter.clone();
    let signal = async move {
        tokio::select! {
            () = shutdown => info!("shutdown requested"),
            _ = fatal_signal.changed() => error!("stopping after a storage failure"),
        }
        set_health(&shutdown_reporter, ServingStatus::NotServing).await;
        let _ = streams_stop.send(true);
        info!("health set to NOT_SERVING; streams told to end; draining in-flight calls");
    };

    // One port: gRPC, gRPC-Web (HTTP/1.1 too), Connect and the console (`http::FrontLayer`
    // routes; Connect calls go back through the gRPC stack, auth layer included).
    let front =
        crate::http::Front::new(app.clone(), Arc::clone(&auth), limits).context("HTTP edge")?;
    info!(
        %addr,
        max_connections = conns.max_connections,
        tls = config.tls.enabled(),
        client_ca = config.tls.client_ca.is_some(),
        also = "gRPC-Web, Connect, console",
        "serving gRPC"
    );
    Server::builder()
        .accept_http1(true)
        .timeout(Duration::from_secs(limits.request_timeout_secs))
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_keepalive_interval(Some(Duration::from_millis(
            conns.http2_keepalive_interval_ms,
        )))
        .http2_keepalive_timeout(Some(Duration::from_millis(
            conns.http2_keepalive_timeout_ms,
        )))
        .layer(crate::http::FrontLayer::new(front))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(availability::AvailabilityLayer::new(availability))
        .layer(AuthLayer::new(auth))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            pb::party_service_server::PartyServiceServer::new(PartyApi { app: app.clone() })
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            pb::need_service_server::NeedServiceServer::new(NeedApi { app: app.clone() })
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            pb::offer_service_server::OfferServiceServer::new(OfferApi { app: app.clone() })
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            pb::match_service_server::MatchServiceServer::new(MatchApi { app: app.clone() })
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            pb::intake_service_server::IntakeServiceServer::new(IntakeApi { app: app.clone() })
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            pb::report_service_server::ReportServiceServer::new(ReportApi { app: app.clone() })
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            pb::admin_service_server::AdminServiceServer::new(AdminApi { app })
                .max_decoding_message_size(max_msg),
        )
        .serve_with_incoming_shutdown(incoming, signal)
        .await
        .context("gRPC server failed")?;
    info!("in-flight calls drained");
    watchdog.abort();
    expiry.abort();
    follower.abort();
    if let Some(task) = saver_task {
        task.abort();
    }
    if let Some(f) = feed {
        f.stop();
    }
    if let Some(m) = metrics {
        m.stop();
    }
    if *fatal_rx.borrow() {
        return Err(anyhow::anyhow!(
            "storage can no longer guarantee durability; restart the service so recovery runs"
        ));
    }

    let flush_store = Arc::clone(&store);
    let flushed = tokio::task::spawn_blocking(move || flush_store.flush())
        .await
        .context("flush task failed")?;
    if let Err(e) = flushed {
        error!(error = %e, "final storage flush failed");
        return Err(anyhow::anyhow!("final storage flush failed: {e}"));
    }
    if let Some(saver) = saver {
        // The file then covers every write, so the next start applies none again.
        let save_store = Arc::clone(&store);
        let saved = tokio::task::spawn_blocking(move || {
            shutdown_matching.follow(&save_store);
            saver.save_now(&shutdown_matching, &save_store);
        })
        .await;
        if let Err(e) = saved {
            error!(error = %e, "final matching index save task failed");
        }
    }
    info!("storage flushed; stopped");
    Ok(())
}
