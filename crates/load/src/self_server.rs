//! `--self-server`: the real server started in this process through `clearinghouse::run`
//! on `127.0.0.1:0` and a temporary data directory, exactly as `main` starts it. Handy for
//! a quick run; the default (an external server) keeps client and server in separate
//! processes, which is what the published figures use.

use std::path::PathBuf;

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

use clearinghouse::config::Config;

use crate::error::LoadError;

/// A running in-process server over a temporary directory.
#[derive(Debug)]
pub struct SelfServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bootstrap admin key.
    pub admin_key: String,
    dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), String>>,
}

impl SelfServer {
    /// Starts the server and waits until it reports SERVING.
    pub async fn start() -> Result<SelfServer, LoadError> {
        let fail = |e: &dyn std::fmt::Display| LoadError::SelfServer(e.to_string());
        let dir = tempfile::tempdir().map_err(|e| fail(&e))?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| fail(&e))?;
        let addr = listener.local_addr().map_err(|e| fail(&e))?;
        let config = Config {
            listen: addr,
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            clearinghouse::run(config, listener, async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| format!("{e:#}"))
        });
        let url = format!("http://{addr}");
        // The listener is already bound: connecting waits for the server to serve.
        let channel = Channel::from_shared(url.clone())
            .map_err(|e| fail(&e))?
            .connect()
            .await
            .map_err(|e| fail(&e))?;
        let status = tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map_err(|e| fail(&e))?
            .into_inner()
            .status;
        if status != tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
            return Err(LoadError::SelfServer(format!(
                "health reports status {status}, not SERVING"
            )));
        }
        let key_file = dir.path().join("bootstrap-admin.key");
        let admin_key = std::fs::read_to_string(&key_file)
            .map_err(|e| fail(&format!("{}: {e}", key_file.display())))?
            .trim()
            .to_owned();
        Ok(SelfServer {
            url,
            admin_key,
            dir,
            stop: Some(stop),
            handle,
        })
    }

    /// The data directory (for the fsync probe).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Stops the server gracefully and waits for it to flush.
    pub async fn stop(mut self) -> Result<(), LoadError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match (&mut self.handle).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LoadError::SelfServer(e)),
            Err(e) => Err(LoadError::Task(e.to_string())),
        }
    }
}
