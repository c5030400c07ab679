//! Why a load run could not start or finish (failed calls during the run are counted, not
//! raised).

use std::path::PathBuf;

/// A run that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bad command-line options.
    #[error("invalid options: {0}")]
    Options(String),
    /// No API key could be read.
    #[error("no API key: {0}")]
    ApiKey(String),
    /// The server address is malformed or the connection failed.
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// The address tried.
        server: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// A call of the setup phase (principals, parties, pools) failed.
    #[error("setup failed at {step}: {status}")]
    Setup {
        /// What was being done.
        step: String,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
    /// The in-process server could not start.
    #[error("in-process server: {0}")]
    SelfServer(String),
    /// The fsync probe could not write its file.
    #[error("fsync probe in {dir}: {source}")]
    Probe {
        /// The probe directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A caller task panicked or was cancelled.
    #[error("caller task failed: {0}")]
    Task(String),
    /// The storage-only workload could not set up its store.
    #[error("storage-only workload: {0}")]
    Storage(String),
}

impl LoadError {
    /// A failed setup call.
    pub fn setup(step: impl Into<String>, status: tonic::Status) -> LoadError {
        LoadError::Setup {
            step: step.into(),
            status: Box::new(status),
        }
    }
}
