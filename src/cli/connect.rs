//! The connection to the server: one HTTP/2 channel (TLS for an `https://` address,
//! trusting the given CA or else the system's roots, with a client certificate for
//! mutual TLS) and the generated clients, each call carrying `authorization: Bearer
//! <key>`. The client never opens the database.

use std::time::Duration;

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use super::{
    failure::CliError,
    settings::{Settings, TlsFiles},
};
use crate::pb;

/// Adds the bearer key to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A channel with the bearer interceptor.
pub type Svc = InterceptedService<Channel, Bearer>;

/// The generated clients over one channel.
#[derive(Debug, Clone)]
pub struct Api {
    /// Parties.
    pub parties: pb::party_service_client::PartyServiceClient<Svc>,
    /// Needs.
    pub needs: pb::need_service_client::NeedServiceClient<Svc>,
    /// Offers.
    pub offers: pb::offer_service_client::OfferServiceClient<Svc>,
    /// Matching and matches.
    pub matches: pb::match_service_client::MatchServiceClient<Svc>,
    /// Administration.
    pub admin: pb::admin_service_client::AdminServiceClient<Svc>,
    /// Reports.
    pub reports: pb::report_service_client::ReportServiceClient<Svc>,
    /// Intake (text into drafts).
    pub intake: pb::intake_service_client::IntakeServiceClient<Svc>,
}

/// Connects to the server of `settings` with its key.
pub async fn connect(settings: &Settings) -> Result<Api, CliError> {
    let source = settings.key.as_ref().ok_or_else(|| {
        CliError::NoKey("no API key: this command needs one to call the server".to_owned())
    })?;
    let key = source.read()?;
    let header: MetadataValue<Ascii> = format!("Bearer {key}")
        .parse()
        .map_err(|_| CliError::NoKey("the API key contains characters a key never has".into()))?;
    let mut endpoint = Endpoint::from_shared(settings.server.clone())
        .map_err(|e| CliError::usage(format!("--server {}: {e}", settings.server)))?
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if settings.server.starts_with("https://") {
        endpoint = endpoint
            .tls_config(tls_config(&settings.tls)?)
            .map_err(|e| CliError::usage(format!("--server {}: {e}", settings.server)))?;
    }
    let channel = endpoint.connect().await.map_err(|e| CliError::Connect {
        server: settings.server.clone(),
        detail: root_cause(&e),
    })?;
    let b = Bearer(header);
    Ok(Api {
        parties: pb::party_service_client::PartyServiceClient::with_interceptor(
            channel.clone(),
            b.clone(),
        ),
        needs: pb::need_service_client::NeedServiceClient::with_interceptor(
            channel.clone(),
            b.clone(),
        ),
        offers: pb::offer_service_client::OfferServiceClient::with_interceptor(
            channel.clone(),
            b.clone(),
        ),
        matches: pb::match_service_client::MatchServiceClient::with_interceptor(
            channel.clone(),
            b.clone(),
        ),
        admin: pb::admin_service_client::AdminServiceClient::with_interceptor(
            channel.clone(),
            b.clone(),
        ),
        reports: pb::report_service_client::ReportServiceClient::with_interceptor(
            channel.clone(),
            b.clone(),
        ),
        intake: pb::intake_service_client::IntakeServiceClient::with_interceptor(channel, b),
    })
}

/// The TLS configuration of `files`: the CA given, else the system's roots; the client
/// certificate and key when both are given.
fn tls_config(files: &TlsFiles) -> Result<ClientTlsConfig, CliError> {
    let config = ClientTlsConfig::new();
    let config = match &files.ca_cert {
        Some(ca) => config.ca_certificate(Certificate::from_pem(read_pem(ca, "CA certificate")?)),
        None => config.with_native_roots(),
    };
    Ok(match &files.identity {
        Some((cert, key)) => config.identity(Identity::from_pem(
            read_pem(cert, "client certificate")?,
            read_pem(key, "client key")?,
        )),
        None => config,
    })
}

fn read_pem(path: &std::path::Path, what: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::Io(format!("cannot read the {what} {}: {e}", path.display())))
}

/// The innermost cause of an error chain (e.g. "Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
