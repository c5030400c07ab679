//! Connections and typed clients: `--connections` HTTP/2 connections opened up front, and
//! per-principal clients that send `authorization: Bearer <key>` over one of them.

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use clearinghouse::pb;

use crate::error::LoadError;

/// Opens `n` separate HTTP/2 connections to `server`.
pub async fn connect(server: &str, n: usize) -> Result<Vec<Channel>, LoadError> {
    let endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|source| LoadError::Connect {
            server: server.to_owned(),
            source,
        })?
        .tcp_nodelay(true);
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        let ch = endpoint
            .connect()
            .await
            .map_err(|source| LoadError::Connect {
                server: server.to_owned(),
                source,
            })?;
        channels.push(ch);
    }
    Ok(channels)
}

/// Adds the bearer key to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl Bearer {
    /// The interceptor for `key`.
    pub fn new(key: &str) -> Result<Bearer, LoadError> {
        format!("Bearer {key}")
            .parse()
            .map(Bearer)
            .map_err(|_| LoadError::ApiKey("the key is not valid header text".to_owned()))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Bearer>;

/// Typed clients of one principal over one connection.
#[derive(Debug, Clone)]
pub struct Clients {
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
}

impl Clients {
    /// Clients sending `key` over `channel`.
    pub fn new(channel: &Channel, key: &str) -> Result<Clients, LoadError> {
        let b = Bearer::new(key)?;
        let ch = channel.clone();
        Ok(Clients {
            parties: pb::party_service_client::PartyServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            needs: pb::need_service_client::NeedServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            offers: pb::offer_service_client::OfferServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            matches: pb::match_service_client::MatchServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(ch, b),
        })
    }
}

/// The health client (no key: health checking is public).
pub type Health = tonic_health::pb::health_client::HealthClient<Channel>;
