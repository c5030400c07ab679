//! `IntakeService`: text in, suggestions out.

use tonic::{Request, Response, Status};

use super::respond;
use crate::{
    app::App,
    convert::intake::{needs_out, scope_out},
    pb::{self, intake_service_server::IntakeService},
};

/// Intake over gRPC.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    /// Use cases.
    pub app: App,
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    async fn suggest_needs(
        &self,
        req: Request<pb::SuggestNeedsRequest>,
    ) -> Result<Response<pb::SuggestNeedsResponse>, Status> {
        let text = req.into_inner().text;
        respond(self.app.suggest_needs(text).await.map(|s| needs_out(&s)))
    }

    async fn suggest_offer_scope(
        &self,
        req: Request<pb::SuggestOfferScopeRequest>,
    ) -> Result<Response<pb::SuggestOfferScopeResponse>, Status> {
        let text = req.into_inner().text;
        respond(
            self.app
                .suggest_offer_scope(text)
                .await
                .map(|s| scope_out(&s)),
        )
    }
}
