//! Matches: the list (filter and page through the query string), a match's page with its
//! contributions, the explanation recorded when it was proposed and its history, and the
//! lifecycle steps open to the viewer. Accepting, declining, withdrawing and cancelling
//! commit a party, so each goes through a "check your answers" page.

use maud::{Markup, html};

use clearinghouse_domain::{
    Match, MatchStatus, Role,
    matches::{Acceptance, ReasonCode},
};

use super::{Ctx, PER_PAGE, Reply, fields, gather, need_actions::check_page, paging, sentence};
use crate::{
    app::matches::{MatchAction, MatchFilter},
    console::{
        form::encode,
        html::{
            self, Errors, csrf, error_summary, humanize, pagination, post_button, status_tag,
            summary, when,
        },
        routes::Action,
    },
    error::ApiError,
};

/// A table of matches.
pub fn matches_table(caption: &str, ms: &[Match], names: &fields::Names) -> Markup {
    html! {
        div.table-wrap { table {
            caption { (caption) }
            thead { tr {
                th scope="col" { "Match" } th scope="col" { "Need" } th scope="col" { "Providers" }
                th scope="col" { "Funding mode" } th scope="col" { "Status" } th scope="col" class="num" { "Score" }
            } }
            tbody {
                @if ms.is_empty() { tr { td colspan="6" { "None." } } }
                @for m in ms {
                    tr {
                        td { (fields::match_link(&m.id)) }
                        td { (fields::need_link(&m.need.0, "")) }
                        td { (m.contributions.iter().map(|c| names.of(&c.provider).to_owned()).collect::<Vec<_>>().join(", ")) }
                        td { (humanize(m.funding_mode.code())) }
                        td { (status_tag(m.status.code())) }
                        td.num { (fields::score(m.score_milli)) }
                    }
                }
            }
        } }
    }
}

/// `GET /console/matches`.
pub async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let status = match ctx.query.opt("status") {
        Some(s) => Some(
            MatchStatus::from_code(s)
                .ok_or_else(|| ApiError::invalid("status", "is not a match status"))?,
        ),
        None => None,
    };
    let filter = MatchFilter {
        status,
        ..MatchFilter::default()
    };
    let (mut ms, more) = gather(|p| ctx.app.list_matches(&ctx.who, filter.clone(), p)).await?;
    ms.reverse();
    let (page, pages) = paging(&ctx.query, ms.len());
    let shown: Vec<Match> = ms
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .cloned()
        .collect();
    let names_ids: Vec<clearinghouse_domain::PartyId> = shown
        .iter()
        .flat_map(|m| m.contributions.iter().map(|c| c.provider.clone()))
        .collect();
    let names = fields::Names::load(ctx.app, names_ids).await;
    let none = Errors::default();
    let body = html! {
        h1 { "Matches" }
        form.filters method="get" action="/console/matches" {
            (html::select("status", "Status", None, &fields::options(MatchStatus::ALL, MatchStatus::code), ctx.query.get("status"), Some("Any status"), &none))
            button.button.secondary type="submit" { "Apply filter" }
        }
        @if more { p.note { "Only the first " (super::LIST_CAP) " matches are listed; filter by status to see the rest." } }
        (matches_table(&format!("{} matches, newest first{}", ms.len(), if pages > 1 { format!(", page {page} of {pages}") } else { String::new() }), &shown, &names))
        (pagination("/console/matches", &ctx.query, page, pages))
    };
    Ok(Reply::page("Matches", body))
}

fn acceptance(a: Acceptance) -> String {
    humanize(a.code())
}

/// The steps the viewer may take on `m`.
fn panel(ctx: &Ctx<'_>, m: &Match) -> Markup {
    let etag = m.version.to_string();
    let t = ctx.csrf.as_str();
    let base = format!("/console/matches/{}", encode(&m.id));
    let e = [("etag", etag.as_str())];
    let s = m.status;
    let answering = matches!(
        s,
        MatchStatus::Proposed | MatchStatus::AcceptedByRequester | MatchStatus::AcceptedByProviders
    );
    let own_side_pending = match ctx.who.role {
        Role::Requester => m.requester_acceptance == Acceptance::Pending,
        Role::Provider => m.contributions.iter().any(|c| {
            Some(&c.provider) == ctx.who.party.as_ref() && c.acceptance == Acceptance::Pending
        }),
        _ => false,
    };
    let reasons = fields::options(ReasonCode::ALL, ReasonCode::code);
    let none = Errors::default();
    let reason_form = |action: &str, label: &str| {
        html! {
            details { summary { (label) }
                form method="post" action={(base) "/" (action)} {
                    (csrf(t)) input type="hidden" name="etag" value=(etag);
                    (html::select("reason_code", "Reason", None, &reasons, "", Some("Choose a reason"), &none))
                    (html::textarea("reason_text", "Details", Some("Required when the reason is Other."), "", 3, &none))
                    button.button.warning type="submit" { "Continue" }
                }
            }
        }
    };
    html! {
        div.actions {
            @if ctx.may("match.accept") && answering && own_side_pending {
                (post_button(&format!("{base}/accept"), "Accept this match", t, &e, ""))
            }
            @if ctx.may("match.start") && s == MatchStatus::Agreed {
                (post_button(&format!("{base}/start"), "Report the start of implementation", t, &e, ""))
            }
            @if ctx.may("match.resume") && s == MatchStatus::Suspended {
                (post_button(&format!("{base}/resume"), "Resume", t, &e, ""))
            }
            @if ctx.may("match.complete") && s == MatchStatus::InImplementation {
                (post_button(&format!("{base}/complete"), "Report completion", t, &e, ""))
            }
        }
        @if ctx.may("match.decline") && answering && own_side_pending { (reason_form("decline", "Decline this match")) }
        @if ctx.may("match.withdraw") && (answering || s == MatchStatus::Agreed) { (reason_form("withdraw", "Withdraw this match")) }
        @if ctx.may("match.cancel") && matches!(s, MatchStatus::InImplementation | MatchStatus::Suspended) { (reason_form("cancel", "Cancel this match")) }
        @if ctx.may("match.suspend") && s == MatchStatus::InImplementation {
            details { summary { "Suspend implementation" }
                form method="post" action={(base) "/suspend"} {
                    (csrf(t)) input type="hidden" name="etag" value=(etag);
                    (html::textarea("reason_text", "Why", None, "", 3, &none))
                    button.button.secondary type="submit" { "Suspend" }
                }
            }
        }
    }
}

/// `GET /console/matches/{id}`.
pub async fn view(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (m, gap) = ctx.app.get_match(&ctx.who, ctx.id.clone()).await?;
    let need_title = ctx
        .app
        .get_need(&ctx.who, m.need.0.clone())
        .await
        .map(|n| n.fields.title)
        .unwrap_or_default();
    let ids: Vec<clearinghouse_domain::PartyId> = std::iter::once(m.requester.clone())
        .chain(m.contributions.iter().map(|c| c.provider.clone()))
        .collect();
    let names = fields::Names::load(ctx.app, ids).await;
    let mut programmes = std::collections::HashMap::new();
    for c in &m.contributions {
        if let Ok(o) = ctx.app.get_offer(&ctx.who, c.offer.0.clone()).await {
            programmes.insert(c.offer.0.clone(), o.fields.programme_name);
        }
    }
    let body = html! {
        span.caption { "Match " (m.id) }
        h1 { "Match for " (if need_title.is_empty() { m.need.0.clone() } else { need_title.clone() }) }
        (panel(ctx, &m))
        (summary(&[
            ("Status", status_tag(m.status.code())),
            ("Need", fields::need_link(&m.need.0, &need_title)),
            ("Requesting party", html! { (names.of(&m.requester)) " — " (acceptance(m.requester_acceptance)) }),
            ("Funding mode", html! { (humanize(m.funding_mode.code())) }),
            ("Score when proposed", html! { (fields::score(m.score_milli)) }),
            ("Budget not yet covered", html! { (gap.map_or_else(|| "Not known".to_owned(), |g| fields::money(Some(g)))) }),
            ("Proposed by", html! { (humanize(m.origin.code())) ", " (when(m.created_at)) }),
        ]))
        div.table-wrap { table {
            caption { "Contributions" }
            thead { tr {
                th scope="col" { "Offer" } th scope="col" { "Provider" } th scope="col" { "Role" }
                th scope="col" class="num" { "Pledged" } th scope="col" { "In kind" } th scope="col" { "Answer" }
            } }
            tbody { @for c in &m.contributions { tr {
                td { (fields::offer_link(&c.offer.0, programmes.get(&c.offer.0).map_or("", String::as_str))) }
                td { (names.of(&c.provider)) }
                td { (humanize(c.role.code())) }
                td.num { (c.amount.map_or_else(String::new, |a| fields::money(Some(a)))) }
                td { (c.in_kind) }
                td { (acceptance(c.acceptance)) @if let Some((code, text)) = &c.decline_reason { " (" (humanize(code.code())) ": " (text) ")" } }
            } } }
        } }
        @if !m.explanation.is_empty() {
            h2 { "Why it was proposed" }
            ul { @for line in &m.explanation { li { (line) } } }
        }
        h2 { "History" }
        div.table-wrap { table {
            caption { "Status history" }
            thead { tr { th scope="col" { "When" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "By" } th scope="col" { "Reason" } } }
            tbody { @for c in &m.history { tr {
                td { (when(c.at)) } td { (c.from.as_deref().map(humanize).unwrap_or_else(|| "(new)".into())) }
                td { (humanize(&c.to)) } td { (c.actor.0) } td { (c.reason) }
            } } }
        } }
    };
    Ok(Reply::page(format!("Match {}", m.id), body))
}

fn reason_of(ctx: &Ctx<'_>, errors: &mut Errors) -> Option<(ReasonCode, String)> {
    let code = ReasonCode::from_code(ctx.form.get("reason_code"));
    let text = ctx.form.raw("reason_text").trim().to_owned();
    if code.is_none() {
        errors.add("reason_code", "Choose a reason");
    }
    if code == Some(ReasonCode::Other) && text.is_empty() {
        errors.add("reason_text", "Say what the reason is");
    }
    code.map(|c| (c, text))
}

fn reason_page(ctx: &Ctx<'_>, action: &str, title: &str, errors: &Errors) -> Markup {
    html! {
        (error_summary(errors))
        h1 { (title) }
        form method="post" action={"/console/matches/" (encode(&ctx.id)) "/" (action)} {
            (csrf(&ctx.csrf)) input type="hidden" name="etag" value=(ctx.form.get("etag"));
            (html::select("reason_code", "Reason", None, &fields::options(ReasonCode::ALL, ReasonCode::code), ctx.form.get("reason_code"), Some("Choose a reason"), errors))
            (html::textarea("reason_text", "Details", Some("Required when the reason is Other."), ctx.form.raw("reason_text"), 3, errors))
            button.button type="submit" { "Continue" }
        }
        p { a href={"/console/matches/" (encode(&ctx.id))} { "Cancel" } }
    }
}

/// `POST /console/matches/{id}/<step>`.
pub async fn act(ctx: &Ctx<'_>, action: Action) -> Result<Reply, ApiError> {
    let back = format!("/console/matches/{}", encode(&ctx.id));
    let name = action.name().trim_start_matches("match.");
    let confirmed = ctx.form.get("step") == "confirm";
    let editing = ctx.form.get("step") == "edit";
    let mut errors = Errors::default();
    let (step, heading, done) = match action {
        Action::MatchAccept => (
            MatchAction::Accept,
            Some("accepting this match"),
            "Match accepted",
        ),
        Action::MatchStart => (MatchAction::Start, None, "Start of implementation recorded"),
        Action::MatchResume => (MatchAction::Resume, None, "Implementation resumed"),
        Action::MatchComplete => (MatchAction::Complete, None, "Completion recorded"),
        Action::MatchSuspend => (
            MatchAction::Suspend(ctx.form.raw("reason_text").trim().to_owned()),
            None,
            "Implementation suspended",
        ),
        Action::MatchDecline | Action::MatchWithdraw | Action::MatchCancel => {
            let r = reason_of(ctx, &mut errors);
            let title = format!("{} this match", humanize(name));
            if !errors.is_empty() || editing {
                return Ok(Reply::invalid(
                    title.clone(),
                    reason_page(
                        ctx,
                        name,
                        &title,
                        &if editing { Errors::default() } else { errors },
                    ),
                ));
            }
            let Some((c, t)) = r else {
                return Err(ApiError::invalid("reason_code", "is required"));
            };
            match action {
                Action::MatchDecline => (
                    MatchAction::Decline(c, t),
                    Some("declining this match"),
                    "Match declined",
                ),
                Action::MatchWithdraw => (
                    MatchAction::Withdraw(c, t),
                    Some("withdrawing this match"),
                    "Match withdrawn",
                ),
                _ => (
                    MatchAction::Cancel(c, t),
                    Some("cancelling this match"),
                    "Match cancelled",
                ),
            }
        }
        _ => return Err(ApiError::not_found("page", ctx.path.clone())),
    };
    if let Some(heading) = heading
        && !confirmed
    {
        let (m, gap) = ctx.app.get_match(&ctx.who, ctx.id.clone()).await?;
        let mut rows = vec![
            ("Match", html! { (m.id) }),
            ("Need", fields::need_link(&m.need.0, "")),
            ("Funding mode", html! { (humanize(m.funding_mode.code())) }),
            (
                "Pledged",
                html! { (m.contributions.iter().filter_map(|c| c.amount).map(|a| fields::money(Some(a))).collect::<Vec<_>>().join(", ")) },
            ),
            (
                "Budget not yet covered",
                html! { (gap.map_or_else(|| "Not known".to_owned(), |g| fields::money(Some(g)))) },
            ),
            ("Your answer", html! { (humanize(name)) }),
        ];
        if !ctx.form.get("reason_code").is_empty() {
            rows.push((
                "Reason",
                html! { (humanize(ctx.form.get("reason_code"))) " " (ctx.form.raw("reason_text")) },
            ));
        }
        let fields = [
            ("etag", ctx.form.get("etag")),
            ("reason_code", ctx.form.get("reason_code")),
            ("reason_text", ctx.form.raw("reason_text")),
        ];
        let confirm = format!("{} the match", humanize(name));
        let page = check_page(
            ctx,
            heading,
            &rows,
            &format!("{back}/{name}"),
            &fields,
            &confirm,
            &back,
        );
        return Ok(Reply::page("Check your answers", page));
    }
    let etag = ctx.form.get("etag").parse().ok();
    match ctx
        .app
        .transition_match(&ctx.who, ctx.id.clone(), etag, step)
        .await
    {
        Ok(_) => Ok(Reply::done(back, done)),
        Err(e @ ApiError::NotFound { .. }) => Err(e),
        Err(e) => Ok(Reply::failed(back, sentence(e.into_status().message()))),
    }
}
