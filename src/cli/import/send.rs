//! Sending checked rows with bounded concurrency. A row whose external id already exists
//! counts as "already existed" (so a re-run creates nothing twice); busy or unreachable
//! servers are retried a few times with backoff; a rejected key stops the run.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinSet;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::check::Prepared;
use crate::{
    cli::{connect::Api, failure::CliError},
    pb,
};

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Created with this id (and moved on, when asked).
    Created(String),
    /// A resource with the external id existed already.
    Existed,
    /// The server refused it.
    Failed {
        /// gRPC code.
        code: Code,
        /// The error as a person reads it.
        message: String,
    },
    /// Not sent: the run stopped first.
    NotSent,
}

/// The result of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    /// Line the row starts on.
    pub line: usize,
    /// Its external id.
    pub external_id: String,
    /// What happened.
    pub outcome: Outcome,
}

/// A step after creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Nothing.
    Nothing,
    /// Submit each created need.
    Submit,
    /// Activate each created offer.
    Activate,
}

/// Creates one row's resource and returns its id.
pub trait Sendable: Sized + Send + Sync + 'static {
    /// Creates the resource; returns its id.
    fn create(
        api: Api,
        msg: Self,
    ) -> impl std::future::Future<Output = Result<String, Status>> + Send;
    /// The step after creation, by id.
    fn then(
        api: Api,
        id: String,
        then: Then,
    ) -> impl std::future::Future<Output = Result<(), Status>> + Send;
}

impl Sendable for pb::Need {
    async fn create(mut api: Api, msg: Self) -> Result<String, Status> {
        let r = api
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(msg),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        Ok(r.need.map(|n| n.id).unwrap_or_default())
    }

    async fn then(mut api: Api, id: String, then: Then) -> Result<(), Status> {
        if then == Then::Submit {
            api.needs
                .submit_need(pb::SubmitNeedRequest {
                    id,
                    etag: String::new(),
                })
                .await?;
        }
        Ok(())
    }
}

impl Sendable for pb::Offer {
    async fn create(mut api: Api, msg: Self) -> Result<String, Status> {
        let r = api
            .offers
            .create_offer(pb::CreateOfferRequest {
                offer: Some(msg),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        Ok(r.offer.map(|o| o.id).unwrap_or_default())
    }

    async fn then(mut api: Api, id: String, then: Then) -> Result<(), Status> {
        if then == Then::Activate {
            api.offers
                .activate_offer(pb::ActivateOfferRequest {
                    id,
                    etag: String::new(),
                })
                .await?;
        }
        Ok(())
    }
}

/// Attempts per call when the server is busy or unreachable.
const ATTEMPTS: u32 = 5;

/// Runs `call` again (after 50, 100, 200, 400 ms) while the server answers busy or
/// unreachable.
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(s)
                if attempt < ATTEMPTS
                    && matches!(s.code(), Code::Unavailable | Code::ResourceExhausted) =>
            {
                tokio::time::sleep(Duration::from_millis(50 << (attempt - 1))).await;
            }
            other => return other,
        }
    }
}

/// Whether an ALREADY_EXISTS is about the external id.
fn external_id_taken(s: &Status) -> bool {
    s.code() == Code::AlreadyExists
        && s.get_details_error_info()
            .is_none_or(|i| i.reason == "EXTERNAL_ID_TAKEN")
}

fn message_of(s: &Status) -> String {
    CliError::from(s.clone()).lines().error.join("; ")
}

async fn one<M: Sendable + Clone>(api: Api, row: Prepared<M>, then: Then) -> RowResult {
    let created = retrying(|| M::create(api.clone(), row.msg.clone())).await;
    let outcome = match created {
        Ok(id) => match retrying(|| M::then(api.clone(), id.clone(), then)).await {
            Ok(()) => Outcome::Created(id),
            Err(s) => Outcome::Failed {
                code: s.code(),
                message: format!("created {id}, then: {}", message_of(&s)),
            },
        },
        Err(s) if external_id_taken(&s) => Outcome::Existed,
        Err(s) => Outcome::Failed {
            code: s.code(),
            message: message_of(&s),
        },
    };
    RowResult {
        line: row.line,
        external_id: row.external_id,
        outcome,
    }
}

/// Sends every row with at most `concurrency` calls in flight; `progress` hears of each
/// finished row. Stops sending (the rest are `NotSent`) when the key is refused or the
/// server stays unreachable.
pub async fn send_all<M: Sendable + Clone>(
    api: &Api,
    rows: Vec<Prepared<M>>,
    concurrency: usize,
    then: Then,
    progress: Arc<dyn Fn(&RowResult) + Send + Sync>,
) -> Vec<RowResult> {
    let mut results = Vec::with_capacity(rows.len());
    let mut pending = rows.into_iter();
    let mut tasks: JoinSet<RowResult> = JoinSet::new();
    let mut stop = false;
    loop {
        while !stop && tasks.len() < concurrency.max(1) {
            let Some(row) = pending.next() else { break };
            tasks.spawn(one(api.clone(), row, then));
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let r = match done {
            Ok(r) => r,
            Err(e) => RowResult {
                line: 0,
                external_id: String::new(),
                outcome: Outcome::Failed {
                    code: Code::Internal,
                    message: format!("the sending task failed: {e}"),
                },
            },
        };
        if let Outcome::Failed { code, .. } = &r.outcome
            && matches!(code, Code::Unauthenticated | Code::Unavailable)
        {
            stop = true;
        }
        progress(&r);
        results.push(r);
    }
    results.extend(pending.map(|p| RowResult {
        line: p.line,
        external_id: p.external_id,
        outcome: Outcome::NotSent,
    }));
    results.sort_by_key(|r| r.line);
    results
}
