//! `NeedService`.

use tonic::{Request, Response, Status};

use clearinghouse_domain::{PartyId, Violations};

use super::{caller, idempotency, non_empty, paging, respond};
use crate::{
    app::{
        App,
        needs::{NeedAction, NeedFilter, TransitionInput, check_geo_filter},
    },
    convert::{self, enums, limits, need},
    error::ApiError,
    pb::{self, need_service_server::NeedService},
};

/// Needs over gRPC.
#[derive(Debug, Clone)]
pub struct NeedApi {
    /// Use cases.
    pub app: App,
}

impl NeedApi {
    async fn transition(
        &self,
        who: &clearinghouse_domain::Principal,
        action: NeedAction,
        id: String,
        etag: &str,
        text: String,
    ) -> Result<pb::Need, Status> {
        let result = async {
            let etag = convert::etag_in("etag", etag)?;
            self.app
                .transition_need(who, action, TransitionInput { id, etag, text })
                .await
        }
        .await;
        result.map(|n| need::out(&n)).map_err(ApiError::into_status)
    }
}

#[tonic::async_trait]
impl NeedService for NeedApi {
    async fn create_need(
        &self,
        req: Request<pb::CreateNeedRequest>,
    ) -> Result<Response<pb::CreateNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let n = r.need.unwrap_or_default();
        let idem = idempotency(&who, &r.request_id, &n).map_err(ApiError::into_status)?;
        let mut v = Violations::new("need");
        let fields = need::fields_in(&mut v, &n);
        let out = self
            .app
            .create_need(&who, n.requester_party_id.clone(), fields, v, idem)
            .await;
        respond(out.map(|x| pb::CreateNeedResponse {
            need: Some(need::out(&x)),
        }))
    }

    async fn get_need(
        &self,
        req: Request<pb::GetNeedRequest>,
    ) -> Result<Response<pb::GetNeedResponse>, Status> {
        let who = caller(&req)?;
        let id = req.into_inner().id;
        let out = self.app.get_need(&who, id).await;
        respond(out.map(|x| pb::GetNeedResponse {
            need: Some(need::out(&x)),
        }))
    }

    async fn list_needs(
        &self,
        req: Request<pb::ListNeedsRequest>,
    ) -> Result<Response<pb::ListNeedsResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let filter_msg = pb::ListNeedsRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        let result = async {
            let (page, fp) = paging::page_in(
                &self.app.tokens,
                "ListNeeds",
                &filter_msg,
                r.page_size,
                &r.page_token,
            )?;
            check_geo_filter(&r.country_code, &r.region, &r.subregion)?;
            let filter = NeedFilter {
                status: enums::NEED_STATUS.filter("status", r.status)?,
                area: enums::AREA.filter("area", r.area)?,
                sub_area: enums::SUB_AREA.filter("sub_area", r.sub_area)?,
                country: non_empty(&r.country_code),
                region: non_empty(&r.region),
                subregion: non_empty(&r.subregion),
                funding_mode: enums::FUNDING_MODE.filter("funding_mode", r.funding_mode)?,
                party: non_empty(&r.party_id).map(PartyId),
                updated_since: limits::timestamp_filter("updated_since", r.updated_since.as_ref())?,
            };
            let listed = self.app.list_needs(&who, filter, page).await?;
            Ok(pb::ListNeedsResponse {
                needs: listed.items.iter().map(need::out).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
            })
        }
        .await;
        respond(result)
    }

    async fn update_need(
        &self,
        req: Request<pb::UpdateNeedRequest>,
    ) -> Result<Response<pb::UpdateNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let n = r.need.unwrap_or_default();
        let result = async {
            let etag = convert::etag_in("need.etag", &n.etag)?;
            let mut v = Violations::new("need");
            let fields = need::fields_in(&mut v, &n);
            let mask = limits::mask_in(&mut v, r.update_mask);
            self.app
                .update_need(&who, n.id.clone(), etag, fields, mask, v)
                .await
        }
        .await;
        respond(result.map(|x| pb::UpdateNeedResponse {
            need: Some(need::out(&x)),
        }))
    }

    async fn submit_need(
        &self,
        req: Request<pb::SubmitNeedRequest>,
    ) -> Result<Response<pb::SubmitNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::Submit, r.id, &r.etag, String::new())
            .await?;
        Ok(Response::new(pb::SubmitNeedResponse { need: Some(need) }))
    }

    async fn authenticate_need(
        &self,
        req: Request<pb::AuthenticateNeedRequest>,
    ) -> Result<Response<pb::AuthenticateNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::Authenticate, r.id, &r.etag, String::new())
            .await?;
        Ok(Response::new(pb::AuthenticateNeedResponse {
            need: Some(need),
        }))
    }

    async fn reject_need(
        &self,
        req: Request<pb::RejectNeedRequest>,
    ) -> Result<Response<pb::RejectNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::Reject, r.id, &r.etag, r.reason)
            .await?;
        Ok(Response::new(pb::RejectNeedResponse { need: Some(need) }))
    }

    async fn circulate_need(
        &self,
        req: Request<pb::CirculateNeedRequest>,
    ) -> Result<Response<pb::CirculateNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::Circulate, r.id, &r.etag, String::new())
            .await?;
        Ok(Response::new(pb::CirculateNeedResponse {
            need: Some(need),
        }))
    }

    async fn withdraw_need(
        &self,
        req: Request<pb::WithdrawNeedRequest>,
    ) -> Result<Response<pb::WithdrawNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::Withdraw, r.id, &r.etag, r.reason)
            .await?;
        Ok(Response::new(pb::WithdrawNeedResponse { need: Some(need) }))
    }

    async fn add_need_feedback(
        &self,
        req: Request<pb::AddNeedFeedbackRequest>,
    ) -> Result<Response<pb::AddNeedFeedbackResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::AddFeedback, r.id, &r.etag, r.text)
            .await?;
        Ok(Response::new(pb::AddNeedFeedbackResponse {
            need: Some(need),
        }))
    }

    async fn close_need(
        &self,
        req: Request<pb::CloseNeedRequest>,
    ) -> Result<Response<pb::CloseNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let need = self
            .transition(&who, NeedAction::Close, r.id, &r.etag, String::new())
            .await?;
        Ok(Response::new(pb::CloseNeedResponse { need: Some(need) }))
    }
}
