//! The console's pages. Each handler reads its request ([`Ctx`]), calls the `app` use
//! cases as the signed-in principal and returns a page or a redirect ([`Reply`]); a use
//! case's error becomes an error page (or, on a form, the error summary) through the one
//! error mapping (`ApiError::into_status`), so the console says what gRPC says.

pub mod audit;
pub mod fields;
pub mod intake;
pub mod matches;
pub mod matching;
pub mod need_actions;
pub mod need_form;
pub mod needs;
pub mod offers;
pub mod propose;
pub mod reports;
pub mod sign_in;
pub mod worklist;

use http::StatusCode;
use maud::{Markup, html};

use clearinghouse_domain::{Principal, Role};

use super::{form::Params, html::Errors, routes::Action, session::Flash};
use crate::{
    app::{App, Listed, PageRequest},
    auth::table,
    error::ApiError,
    http::connect::error::http_status,
};

/// One console request as a page sees it.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The use cases.
    pub app: &'a App,
    /// Who is signed in.
    pub who: Principal,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The `{id}` of the path (empty when the route has none).
    pub id: String,
    /// The query string.
    pub query: Params,
    /// The form (POST only).
    pub form: Params,
    /// The request path.
    pub path: String,
}

impl Ctx<'_> {
    /// Whether the signed-in role may perform console action `action` (the method table).
    pub fn may(&self, action: &str) -> bool {
        table::console_method(action).is_some_and(|m| table::is_allowed(m, self.who.role))
    }

    /// Whether the signed-in principal is a broker or an administrator.
    pub fn is_broker(&self) -> bool {
        matches!(self.who.role, Role::Broker | Role::Admin)
    }
}

/// What a page answers.
#[derive(Debug)]
pub enum Reply {
    /// An HTML page in the console's shell.
    Page {
        /// HTTP status.
        status: StatusCode,
        /// Title (also the `<title>`).
        title: String,
        /// Content of `<main>`.
        body: Markup,
    },
    /// A 303 to another console page, with a message for it.
    Redirect {
        /// Where to.
        to: String,
        /// What to tell there.
        flash: Option<Flash>,
    },
}

impl Reply {
    /// A 200 page.
    pub fn page(title: impl Into<String>, body: Markup) -> Reply {
        Reply::Page {
            status: StatusCode::OK,
            title: title.into(),
            body,
        }
    }

    /// A form shown again with its problems (400).
    pub fn invalid(title: impl Into<String>, body: Markup) -> Reply {
        Reply::Page {
            status: StatusCode::BAD_REQUEST,
            title: title.into(),
            body,
        }
    }

    /// A redirect announcing that something was done.
    pub fn done(to: impl Into<String>, message: impl Into<String>) -> Reply {
        Reply::Redirect {
            to: to.into(),
            flash: Some(Flash::Done(message.into())),
        }
    }

    /// A redirect announcing that something failed, and why.
    pub fn failed(to: impl Into<String>, message: impl Into<String>) -> Reply {
        Reply::Redirect {
            to: to.into(),
            flash: Some(Flash::Failed(message.into())),
        }
    }
}

/// The page for a use case's error: its HTTP status and message as the one mapping has
/// them (internal errors stay opaque).
pub fn failure(e: ApiError) -> Reply {
    let status = e.into_status();
    let http = http_status(status.code());
    let title = match http {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "You may not do this",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "Sorry, there is a problem with the service",
        _ => "This cannot be done",
    };
    let message = status.message().to_owned();
    Reply::Page {
        status: http,
        title: title.to_owned(),
        body: html! {
            h1 { (title) }
            p { (sentence(&message)) }
            p { a href="/console/" { "Go to the start page" } }
        },
    }
}

/// A message from the service as a sentence: capital first letter, final full stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out = match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The problems of a use case's `INVALID_ARGUMENT` as form errors: each violation's path
/// mapped to a field id by `field_of` (`None`: keep it for the summary under `fallback`).
pub fn form_errors(
    e: &ApiError,
    fallback: &str,
    field_of: &dyn Fn(&str) -> Option<String>,
) -> Option<Errors> {
    let ApiError::Invalid(v) = e else {
        return None;
    };
    let mut errors = Errors::default();
    for f in &v.violations {
        let id = field_of(&f.field).unwrap_or_else(|| fallback.to_owned());
        errors.add(
            &id,
            sentence(&format!("{}: {}", label_of_path(&f.field), f.description)),
        );
    }
    Some(errors)
}

/// `need.estimated_budget.currency_code` as "Estimated budget currency code".
fn label_of_path(path: &str) -> String {
    let tail = path.strip_prefix("need.").unwrap_or(path);
    let plain: String = tail
        .chars()
        .map(|c| if c == '.' || c == '_' { ' ' } else { c })
        .collect();
    super::html::humanize(plain.trim())
}

/// Largest number of records a console list gathers to sort (more asks for a filter).
pub const LIST_CAP: usize = 2_000;
/// Rows on a page of a console list.
pub const PER_PAGE: usize = 25;

/// Gathers up to [`LIST_CAP`] items from a paged use case; `true` when there were more.
pub async fn gather<T, F, Fut>(mut next: F) -> Result<(Vec<T>, bool), ApiError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Listed<T>, ApiError>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = next(PageRequest {
            size: crate::app::MAX_PAGE_SIZE,
            after,
        })
        .await?;
        out.extend(page.items);
        match page.next {
            Some(n) if out.len() < LIST_CAP => after = Some(n),
            Some(_) => return Ok((out, true)),
            None => return Ok((out, false)),
        }
    }
}

/// The page number asked for (1 when absent or bad) and the number of pages of `len`.
pub fn paging(query: &Params, len: usize) -> (usize, usize) {
    let pages = len.div_ceil(PER_PAGE).max(1);
    let page = query
        .get("page")
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, pages);
    (page, pages)
}

/// Runs the page of `action`.
pub async fn run(action: Action, ctx: &Ctx<'_>) -> Reply {
    let out = match action {
        Action::Worklist => worklist::show(ctx).await,
        Action::Needs => needs::list(ctx).await,
        Action::NeedView => needs::view(ctx).await,
        Action::NeedNew => need_form::new(ctx).await,
        Action::NeedCreate => need_form::create(ctx).await,
        Action::NeedEdit => need_form::edit(ctx).await,
        Action::NeedUpdate => need_form::update(ctx).await,
        Action::NeedSubmit
        | Action::NeedAuthenticate
        | Action::NeedReject
        | Action::NeedCirculate
        | Action::NeedWithdraw
        | Action::NeedFeedback
        | Action::NeedClose
        | Action::NeedConsent => need_actions::act(ctx, action).await,
        Action::WhyNot => matching::why_not(ctx).await,
        Action::Consortium => matching::consortium(ctx).await,
        Action::Plan => matching::plan(ctx).await,
        Action::ProposeForm => propose::form(ctx).await,
        Action::Propose => propose::submit(ctx).await,
        Action::Matches => matches::list(ctx).await,
        Action::MatchView => matches::view(ctx).await,
        Action::MatchAccept
        | Action::MatchDecline
        | Action::MatchWithdraw
        | Action::MatchStart
        | Action::MatchSuspend
        | Action::MatchResume
        | Action::MatchComplete
        | Action::MatchCancel => matches::act(ctx, action).await,
        Action::Reports => reports::index(ctx).await,
        Action::ReportCoverage
        | Action::ReportAgeing
        | Action::ReportMatches
        | Action::ReportPortfolio
        | Action::ReportPipeline => reports::show(ctx, action).await,
        Action::Audit => audit::list(ctx).await,
        Action::IntakeForm => intake::form_page(ctx).await,
        Action::IntakeRead => intake::read(ctx).await,
        Action::IntakeCreate => intake::create(ctx).await,
        Action::Offers => offers::list(ctx).await,
        Action::OfferView => offers::view(ctx).await,
        Action::Home | Action::SignInForm | Action::SignIn | Action::SignOut | Action::Asset => {
            Err(ApiError::not_found("page", ctx.path.clone()))
        }
    };
    out.unwrap_or_else(failure)
}
