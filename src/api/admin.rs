//! `AdminService`.

use tonic::{Request, Response, Status};

use clearinghouse_domain::{PartyId, principal::NewPrincipal};
use clearinghouse_storage::AuditFilter;

use super::{caller, non_empty, paging, respond};
use crate::{
    app::{
        App,
        backup::{BackupItem, BackupPart, CHANNEL_CAPACITY, ExportFailure},
        decisions::DecisionFilter,
    },
    convert::{self, enums, limits, principal},
    error::ApiError,
    pb::{self, admin_service_server::AdminService},
};

/// Largest page of `ListDecisions` (a decision holds up to about 15 KB of candidates).
const MAX_DECISIONS_PAGE: usize = 100;

/// Administration over gRPC.
#[derive(Debug, Clone)]
pub struct AdminApi {
    /// Use cases.
    pub app: App,
}

/// The stream of `ExportBackup`.
pub type BackupStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::ExportBackupResponse, Status>> + Send>,
>;

/// A backup stream item for the wire. A shutdown ends the stream UNAVAILABLE (retry once
/// the server is back); other failures go through the one error mapping.
fn backup_out(item: BackupItem) -> Result<pb::ExportBackupResponse, Status> {
    match item {
        Ok(BackupPart::Chunk(data)) => Ok(pb::ExportBackupResponse {
            data,
            ..Default::default()
        }),
        Ok(BackupPart::Last { data, summary }) => Ok(pb::ExportBackupResponse {
            data,
            last: true,
            sha256: hex::encode(summary.sha256),
            entry_count: summary.entries,
            audit_sequence: summary.header.audit_watermark,
            size_bytes: summary.bytes,
            schema_version: summary.header.schema_version,
        }),
        Err(ExportFailure::ShuttingDown) => Err(Status::unavailable(
            "the server is shutting down; the backup is incomplete: take it again once the server is back",
        )),
        Err(ExportFailure::Failed(e)) => Err(e.into_status()),
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    type ExportBackupStream = BackupStream;

    async fn export_backup(
        &self,
        req: Request<pb::ExportBackupRequest>,
    ) -> Result<Response<BackupStream>, Status> {
        use tokio_stream::StreamExt;
        let who = caller(&req)?;
        let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
        let app = self.app.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            app.export_backup(who, tx).await
        }));
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(backup_out);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn create_principal(
        &self,
        req: Request<pb::CreatePrincipalRequest>,
    ) -> Result<Response<pb::CreatePrincipalResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let idem = super::idempotency(
            &who,
            &r.request_id,
            &r.principal.clone().unwrap_or_default(),
        );
        let p = r.principal.unwrap_or_default();
        let mut v = clearinghouse_domain::Violations::new("principal");
        let role = enums::ROLE.optional(&mut v, "role", p.role);
        let expires_at = limits::timestamp_in(&mut v, "expire_time", p.expire_time.as_ref());
        let result = async {
            let idem = idem?;
            v.into_result()?;
            let input = NewPrincipal {
                display_name: p.display_name,
                role,
                party: non_empty(&p.party_id).map(PartyId),
                expires_at,
            };
            let (created, key) = self.app.create_principal(&who, input, idem).await?;
            Ok::<_, ApiError>(pb::CreatePrincipalResponse {
                principal: Some(principal::out(&created)),
                api_key: key.expose().to_owned(),
            })
        }
        .await;
        respond(result)
    }

    async fn list_principals(
        &self,
        req: Request<pb::ListPrincipalsRequest>,
    ) -> Result<Response<pb::ListPrincipalsResponse>, Status> {
        let r = req.into_inner();
        let result = async {
            let (page, fp) = paging::page_in(
                &self.app.tokens,
                "ListPrincipals",
                &pb::ListPrincipalsRequest::default(),
                r.page_size,
                &r.page_token,
            )?;
            let listed = self.app.list_principals(page).await?;
            Ok(pb::ListPrincipalsResponse {
                principals: listed.items.iter().map(principal::out).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
            })
        }
        .await;
        respond(result)
    }

    async fn revoke_principal(
        &self,
        req: Request<pb::RevokePrincipalRequest>,
    ) -> Result<Response<pb::RevokePrincipalResponse>, Status> {
        let who = caller(&req)?;
        let id = req.into_inner().id;
        let out = self.app.revoke_principal(&who, id).await;
        respond(out.map(|p| pb::RevokePrincipalResponse {
            principal: Some(principal::out(&p)),
        }))
    }

    async fn get_matching_policy(
        &self,
        _req: Request<pb::GetMatchingPolicyRequest>,
    ) -> Result<Response<pb::GetMatchingPolicyResponse>, Status> {
        let s = self.app.matching_settings();
        Ok(Response::new(pb::GetMatchingPolicyResponse {
            policy: Some(convert::policy::out(&s)),
            base_currency_code: s.base_currency.as_str().to_owned(),
            rates: s
                .rates
                .iter()
                .map(|(c, num, den)| pb::ExchangeRate {
                    currency_code: c.as_str().to_owned(),
                    rate: clearinghouse_matching::Rate {
                        num: *num,
                        den: *den,
                    }
                    .to_string(),
                })
                .collect(),
        }))
    }

    async fn update_matching_policy(
        &self,
        req: Request<pb::UpdateMatchingPolicyRequest>,
    ) -> Result<Response<pb::UpdateMatchingPolicyResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let mask = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let p = r.policy.unwrap_or_default();
        let result = async {
            let etag = convert::etag_in("policy.etag", &p.etag)?;
            let policy = convert::policy::policy_in(&p);
            self.app.update_policy(&who, policy, mask, etag).await
        }
        .await;
        respond(result.map(|s| pb::UpdateMatchingPolicyResponse {
            policy: Some(convert::policy::out(&s)),
        }))
    }

    async fn set_exchange_rates(
        &self,
        req: Request<pb::SetExchangeRatesRequest>,
    ) -> Result<Response<pb::SetExchangeRatesResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let mut v = clearinghouse_domain::Violations::new("");
        limits::capped(&mut v, "rates", &r.rates, limits::EXCHANGE_RATES);
        v.into_result()
            .map_err(|e| ApiError::from(e).into_status())?;
        let rates = r
            .rates
            .into_iter()
            .map(|x| (x.currency_code, x.rate))
            .collect();
        let out = async {
            let etag = convert::etag_in("etag", &r.etag)?;
            self.app
                .set_exchange_rates(&who, r.base_currency_code, rates, etag)
                .await
        }
        .await;
        respond(out.map(|s| pb::SetExchangeRatesResponse {
            base_currency_code: s.base_currency.as_str().to_owned(),
            rate_count: i32::try_from(s.rates.len()).unwrap_or(i32::MAX),
            etag: convert::etag_out(s.version),
        }))
    }

    async fn list_audit_entries(
        &self,
        req: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let r = req.into_inner();
        let filter_msg = pb::ListAuditEntriesRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        let result = async {
            let (page, fp) = paging::page_in(
                &self.app.tokens,
                "ListAuditEntries",
                &filter_msg,
                r.page_size,
                &r.page_token,
            )?;
            let filter = AuditFilter {
                resource_kind: None,
                resource_id: non_empty(&r.resource_id),
                actor: non_empty(&r.actor_principal_id),
            };
            let listed = self.app.list_audit(filter, page).await?;
            Ok(pb::ListAuditEntriesResponse {
                entries: listed.items.iter().map(principal::audit_out).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
            })
        }
        .await;
        respond(result)
    }

    async fn list_decisions(
        &self,
        req: Request<pb::ListDecisionsRequest>,
    ) -> Result<Response<pb::ListDecisionsResponse>, Status> {
        let r = req.into_inner();
        let filter_msg = pb::ListDecisionsRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        let result = async {
            let (mut page, fp) = paging::page_in(
                &self.app.tokens,
                "ListDecisions",
                &filter_msg,
                r.page_size,
                &r.page_token,
            )?;
            page.size = page.size.min(MAX_DECISIONS_PAGE);
            let mut v = clearinghouse_domain::Violations::new("");
            let from = limits::timestamp_in(&mut v, "start_time", r.start_time.as_ref());
            let to = limits::timestamp_in(&mut v, "end_time", r.end_time.as_ref());
            v.into_result()?;
            let filter = DecisionFilter { from, to };
            let listed = self.app.list_decisions(filter, page).await?;
            Ok::<_, ApiError>(pb::ListDecisionsResponse {
                decisions: listed.items.iter().map(convert::decision::out).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
                factor_names: convert::decision::factor_names(),
                gate_names: convert::decision::gate_names(),
            })
        }
        .await;
        respond(result)
    }
}
