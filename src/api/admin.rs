//! `AdminService`.

use tonic::{Request, Response, Status};

use clearinghouse_domain::{PartyId, principal::NewPrincipal};
use clearinghouse_storage::AuditFilter;

use super::{caller, non_empty, paging, respond};
use crate::{
    app::App,
    convert::{self, enums, principal},
    error::ApiError,
    pb::{self, admin_service_server::AdminService},
};

/// Administration over gRPC.
#[derive(Debug, Clone)]
pub struct AdminApi {
    /// Use cases.
    pub app: App,
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn create_principal(
        &self,
        req: Request<pb::CreatePrincipalRequest>,
    ) -> Result<Response<pb::CreatePrincipalResponse>, Status> {
        let who = caller(&req)?;
        let p = req.into_inner().principal.unwrap_or_default();
        let mut v = clearinghouse_domain::Violations::new("principal");
        let role = enums::ROLE.optional(&mut v, "role", p.role);
        let result = async {
            v.into_result()?;
            let input = NewPrincipal {
                display_name: p.display_name,
                role,
                party: non_empty(&p.party_id).map(PartyId),
                expires_at: p.expire_time.as_ref().map(convert::ts_in),
            };
            let (created, key) = self.app.create_principal(&who, input).await?;
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
                "ListPrincipals",
                &pb::ListPrincipalsRequest::default(),
                r.page_size,
                &r.page_token,
            )?;
            let listed = self.app.list_principals(page).await?;
            Ok(pb::ListPrincipalsResponse {
                principals: listed.items.iter().map(principal::out).collect(),
                next_page_token: paging::token_out(&fp, listed.next),
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
        }))
    }

    async fn update_matching_policy(
        &self,
        req: Request<pb::UpdateMatchingPolicyRequest>,
    ) -> Result<Response<pb::UpdateMatchingPolicyResponse>, Status> {
        let who = caller(&req)?;
        let p = req.into_inner().policy.unwrap_or_default();
        let result = async {
            let etag = convert::etag_in("policy.etag", &p.etag)?;
            let policy = convert::policy::policy_in(&p);
            self.app.update_policy(&who, policy, etag).await
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
        let rates = r
            .rates
            .into_iter()
            .map(|x| (x.currency_code, x.rate))
            .collect();
        let out = self
            .app
            .set_exchange_rates(&who, r.base_currency_code, rates)
            .await;
        respond(out.map(|s| pb::SetExchangeRatesResponse {
            base_currency_code: s.base_currency.as_str().to_owned(),
            rate_count: i32::try_from(s.rates.len()).unwrap_or(i32::MAX),
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
            let (page, fp) =
                paging::page_in("ListAuditEntries", &filter_msg, r.page_size, &r.page_token)?;
            let filter = AuditFilter {
                resource_kind: None,
                resource_id: non_empty(&r.resource_id),
                actor: non_empty(&r.actor_principal_id),
            };
            let listed = self.app.list_audit(filter, page).await?;
            Ok(pb::ListAuditEntriesResponse {
                entries: listed.items.iter().map(principal::audit_out).collect(),
                next_page_token: paging::token_out(&fp, listed.next),
            })
        }
        .await;
        respond(result)
    }
}
