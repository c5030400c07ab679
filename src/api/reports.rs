//! `ReportService`: convert the filter, call `app`, carry the report to the wire.

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use clearinghouse_reports::{Report, iati::IatiOptions};

use super::{caller, respond};
use crate::{
    app::{App, reports::ReportKind},
    convert::{
        self,
        report::{filter_in, to_wire},
    },
    error::ApiError,
    pb::{self, report_service_server::ReportService},
};

/// Reports over gRPC.
#[derive(Debug, Clone)]
pub struct ReportApi {
    /// Use cases.
    pub app: App,
}

/// Rows per `ExportMatches` message.
const EXPORT_BATCH: usize = 200;
/// Bytes (about) per `ExportIati` message.
const IATI_CHUNK: usize = 64 * 1024;

/// A stream of export messages.
pub type ExportStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

impl ReportApi {
    async fn one<M: crate::json::ApiMessage>(
        &self,
        who: &clearinghouse_domain::Principal,
        kind: ReportKind,
        filter: Option<&pb::ReportFilter>,
    ) -> Result<M, ApiError> {
        let filter = filter_in(filter)?;
        match self.app.report(who, kind, filter).await? {
            Report::Coverage(r) => to_wire(&r),
            Report::Ageing(r) => to_wire(&r),
            Report::Matches(r) => to_wire(&r),
            Report::Portfolio(r) => to_wire(&r),
            Report::Pipeline(r) => to_wire(&r),
            Report::Worklist(r) => to_wire(&r),
        }
    }
}

/// Sends `items` over a bounded channel as a stream (the client's pace sets ours).
fn stream_of<T: Send + 'static>(items: Vec<T>) -> ExportStream<T> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for item in items {
            if tx.send(Ok(item)).await.is_err() {
                return; // the client left
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn get_coverage_report(
        &self,
        req: Request<pb::GetCoverageReportRequest>,
    ) -> Result<Response<pb::GetCoverageReportResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        respond(
            self.one(&who, ReportKind::Coverage, r.filter.as_ref())
                .await,
        )
    }

    async fn get_ageing_report(
        &self,
        req: Request<pb::GetAgeingReportRequest>,
    ) -> Result<Response<pb::GetAgeingReportResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        respond(self.one(&who, ReportKind::Ageing, r.filter.as_ref()).await)
    }

    async fn get_matches_report(
        &self,
        req: Request<pb::GetMatchesReportRequest>,
    ) -> Result<Response<pb::GetMatchesReportResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        respond(self.one(&who, ReportKind::Matches, r.filter.as_ref()).await)
    }

    async fn get_provider_portfolio(
        &self,
        req: Request<pb::GetProviderPortfolioRequest>,
    ) -> Result<Response<pb::GetProviderPortfolioResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        respond(
            self.one(&who, ReportKind::Portfolio, r.filter.as_ref())
                .await,
        )
    }

    async fn get_pipeline_report(
        &self,
        req: Request<pb::GetPipelineReportRequest>,
    ) -> Result<Response<pb::GetPipelineReportResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        respond(
            self.one(&who, ReportKind::Pipeline, r.filter.as_ref())
                .await,
        )
    }

    async fn get_worklist(
        &self,
        req: Request<pb::GetWorklistRequest>,
    ) -> Result<Response<pb::GetWorklistResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let result = async {
            let filter = filter_in(r.filter.as_ref())?;
            let w = self.app.worklist(&who, filter).await?;
            to_wire(&w)
        }
        .await;
        respond(result)
    }

    type ExportMatchesStream = ExportStream<pb::ExportMatchesResponse>;

    async fn export_matches(
        &self,
        req: Request<pb::ExportMatchesRequest>,
    ) -> Result<Response<Self::ExportMatchesStream>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let rows = async {
            let filter = filter_in(r.filter.as_ref())?;
            self.app.export_matches(&who, filter).await
        }
        .await
        .map_err(ApiError::into_status)?;
        let batches: Vec<pb::ExportMatchesResponse> = rows
            .chunks(EXPORT_BATCH)
            .map(|chunk| pb::ExportMatchesResponse {
                rows: chunk
                    .iter()
                    .map(|(m, need)| convert::matches::export_row(m, need.as_ref()))
                    .collect(),
            })
            .collect();
        Ok(Response::new(stream_of(batches)))
    }

    type ExportIatiStream = ExportStream<pb::ExportIatiResponse>;

    async fn export_iati(
        &self,
        req: Request<pb::ExportIatiRequest>,
    ) -> Result<Response<Self::ExportIatiStream>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let parts = async {
            let filter = filter_in(r.filter.as_ref())?;
            let mut options = IatiOptions::new(&r.reporting_org_ref, &r.reporting_org_name);
            options.include_unpublished = r.include_unpublished;
            self.app.export_iati(&who, filter, options).await
        }
        .await
        .map_err(ApiError::into_status)?;
        // Concatenate into chunks of about IATI_CHUNK bytes, each ending on a whole part.
        let mut chunks = Vec::new();
        let mut cur = String::new();
        for p in parts {
            cur.push_str(&p);
            if cur.len() >= IATI_CHUNK {
                chunks.push(pb::ExportIatiResponse {
                    xml: std::mem::take(&mut cur),
                });
            }
        }
        if !cur.is_empty() {
            chunks.push(pb::ExportIatiResponse { xml: cur });
        }
        Ok(Response::new(stream_of(chunks)))
    }
}
