//! `OfferService`.

use tonic::{Request, Response, Status};

use clearinghouse_domain::{PartyId, Violations};

use super::{caller, idempotency, non_empty, paging, respond};
use crate::{
    app::{
        App,
        needs::check_geo_filter,
        offers::{OfferAction, OfferFilter},
    },
    convert::{self, enums, limits, offer},
    error::ApiError,
    pb::{self, offer_service_server::OfferService},
};

/// Offers over gRPC.
#[derive(Debug, Clone)]
pub struct OfferApi {
    /// Use cases.
    pub app: App,
}

impl OfferApi {
    async fn transition(
        &self,
        who: &clearinghouse_domain::Principal,
        action: OfferAction,
        id: String,
        etag: &str,
        reason: String,
    ) -> Result<pb::Offer, Status> {
        let result = async {
            let etag = convert::etag_in("etag", etag)?;
            self.app
                .transition_offer(who, action, id, etag, reason)
                .await
        }
        .await;
        result
            .map(|o| offer::out(&o))
            .map_err(ApiError::into_status)
    }
}

#[tonic::async_trait]
impl OfferService for OfferApi {
    async fn create_offer(
        &self,
        req: Request<pb::CreateOfferRequest>,
    ) -> Result<Response<pb::CreateOfferResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let o = r.offer.unwrap_or_default();
        let idem = idempotency(&who, &r.request_id, &o).map_err(ApiError::into_status)?;
        let mut v = Violations::new("offer");
        let fields = offer::fields_in(&mut v, &o);
        let out = self
            .app
            .create_offer(&who, o.provider_party_id.clone(), fields, v, idem)
            .await;
        respond(out.map(|x| pb::CreateOfferResponse {
            offer: Some(offer::out(&x)),
        }))
    }

    async fn get_offer(
        &self,
        req: Request<pb::GetOfferRequest>,
    ) -> Result<Response<pb::GetOfferResponse>, Status> {
        let who = caller(&req)?;
        let id = req.into_inner().id;
        let out = self.app.get_offer(&who, id).await;
        respond(out.map(|x| pb::GetOfferResponse {
            offer: Some(offer::out(&x)),
        }))
    }

    async fn list_offers(
        &self,
        req: Request<pb::ListOffersRequest>,
    ) -> Result<Response<pb::ListOffersResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let filter_msg = pb::ListOffersRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        let result = async {
            let (page, fp) = paging::page_in(
                &self.app.tokens,
                "ListOffers",
                &filter_msg,
                r.page_size,
                &r.page_token,
            )?;
            check_geo_filter(&r.country_code, &r.region, "")?;
            let filter = OfferFilter {
                status: enums::OFFER_STATUS.filter("status", r.status)?,
                area: enums::AREA.filter("area", r.area)?,
                sub_area: enums::SUB_AREA.filter("sub_area", r.sub_area)?,
                country: non_empty(&r.country_code),
                region: non_empty(&r.region),
                funding_mode: enums::FUNDING_MODE.filter("funding_mode", r.funding_mode)?,
                party: non_empty(&r.party_id).map(PartyId),
                updated_since: limits::timestamp_filter("updated_since", r.updated_since.as_ref())?,
            };
            let listed = self.app.list_offers(&who, filter, page).await?;
            Ok(pb::ListOffersResponse {
                offers: listed.items.iter().map(offer::out).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
            })
        }
        .await;
        respond(result)
    }

    async fn update_offer(
        &self,
        req: Request<pb::UpdateOfferRequest>,
    ) -> Result<Response<pb::UpdateOfferResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let o = r.offer.unwrap_or_default();
        let result = async {
            let etag = convert::etag_in("offer.etag", &o.etag)?;
            let mut v = Violations::new("offer");
            let fields = offer::fields_in(&mut v, &o);
            let mask = limits::mask_in(&mut v, r.update_mask);
            self.app
                .update_offer(&who, o.id.clone(), etag, fields, mask, v)
                .await
        }
        .await;
        respond(result.map(|x| pb::UpdateOfferResponse {
            offer: Some(offer::out(&x)),
        }))
    }

    async fn activate_offer(
        &self,
        req: Request<pb::ActivateOfferRequest>,
    ) -> Result<Response<pb::ActivateOfferResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let o = self
            .transition(&who, OfferAction::Activate, r.id, &r.etag, String::new())
            .await?;
        Ok(Response::new(pb::ActivateOfferResponse { offer: Some(o) }))
    }

    async fn withdraw_offer(
        &self,
        req: Request<pb::WithdrawOfferRequest>,
    ) -> Result<Response<pb::WithdrawOfferResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let o = self
            .transition(&who, OfferAction::Withdraw, r.id, &r.etag, r.reason)
            .await?;
        Ok(Response::new(pb::WithdrawOfferResponse { offer: Some(o) }))
    }
}
