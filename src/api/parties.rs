//! `PartyService`.

use tonic::{Request, Response, Status};

use clearinghouse_domain::Violations;

use super::{caller, idempotency, non_empty, paging, respond};
use crate::{
    app::{App, needs::check_geo_filter, parties::PartyFilter},
    convert::{self, enums, party},
    error::ApiError,
    pb::{self, party_service_server::PartyService},
};

/// The party registry over gRPC.
#[derive(Debug, Clone)]
pub struct PartyApi {
    /// Use cases.
    pub app: App,
}

#[tonic::async_trait]
impl PartyService for PartyApi {
    async fn create_party(
        &self,
        req: Request<pb::CreatePartyRequest>,
    ) -> Result<Response<pb::CreatePartyResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let p = r.party.unwrap_or_default();
        let idem = idempotency(&who, &r.request_id, &p).map_err(ApiError::into_status)?;
        let mut v = Violations::new("party");
        let fields = party::fields_in(&mut v, &p);
        let out = self.app.create_party(&who, fields, v, idem).await;
        respond(out.map(|p| pb::CreatePartyResponse {
            party: Some(party::out(&p)),
        }))
    }

    async fn get_party(
        &self,
        req: Request<pb::GetPartyRequest>,
    ) -> Result<Response<pb::GetPartyResponse>, Status> {
        let r = req.into_inner();
        respond(
            self.app
                .get_party(r.id)
                .await
                .map(|p| pb::GetPartyResponse {
                    party: Some(party::out(&p)),
                }),
        )
    }

    async fn list_parties(
        &self,
        req: Request<pb::ListPartiesRequest>,
    ) -> Result<Response<pb::ListPartiesResponse>, Status> {
        let r = req.into_inner();
        let filter_msg = pb::ListPartiesRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        let result = async {
            let (page, fp) = paging::page_in(
                &self.app.tokens,
                "ListParties",
                &filter_msg,
                r.page_size,
                &r.page_token,
            )?;
            check_geo_filter(&r.country_code, &r.region, "")?;
            let filter = PartyFilter {
                kind: enums::PARTY_KIND.filter("kind", r.kind)?,
                country: non_empty(&r.country_code),
                region: non_empty(&r.region),
            };
            let listed = self.app.list_parties(filter, page).await?;
            Ok(pb::ListPartiesResponse {
                parties: listed.items.iter().map(party::out).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
            })
        }
        .await;
        respond(result)
    }

    async fn update_party(
        &self,
        req: Request<pb::UpdatePartyRequest>,
    ) -> Result<Response<pb::UpdatePartyResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let p = r.party.unwrap_or_default();
        let result = async {
            let etag = convert::etag_in("party.etag", &p.etag)?;
            let mut v = Violations::new("party");
            let fields = party::fields_in(&mut v, &p);
            let mask = convert::limits::mask_in(&mut v, r.update_mask);
            self.app
                .update_party(&who, p.id.clone(), etag, fields, mask, v)
                .await
        }
        .await;
        respond(result.map(|p| pb::UpdatePartyResponse {
            party: Some(party::out(&p)),
        }))
    }
}
