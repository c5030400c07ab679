//! The broker's worklist (`App::worklist`): needs awaiting authentication, consent
//! windows, circulated needs still unmatched with their best candidate, matches awaiting
//! answers, follow-ups due and offers expiring — each section a table linking to the need,
//! match or offer, filtered through the query string so a filtered worklist is a URL.

use maud::{Markup, html};

use clearinghouse_reports::{ReportFilter, filter::GeoFilter, worklist::Section};

use super::{Ctx, Reply, fields};
use crate::{
    console::{
        form::Params,
        html::{self, Errors, humanize},
    },
    error::ApiError,
};

/// The report filter of a query (`region`, `area`, `gp_group`, `from`, `until`).
pub fn filter_of(q: &Params) -> Result<ReportFilter, ApiError> {
    let date = |name: &str| -> Result<Option<clearinghouse_domain::Date>, ApiError> {
        q.opt(name)
            .map(|s| clearinghouse_domain::Date::parse(s).map_err(|e| ApiError::invalid(name, e)))
            .transpose()
    };
    Ok(ReportFilter {
        requested_from: date("from")?,
        requested_until: date("until")?,
        geography: q.opt("region").map(|r| GeoFilter::Region(r.to_owned())),
        area: q
            .opt("area")
            .and_then(clearinghouse_domain::Area::from_code),
        gp_sub_working_group: q
            .opt("gp_group")
            .and_then(clearinghouse_domain::GpSubWorkingGroup::from_code),
    })
}

/// The filter form of reports and the worklist.
pub fn filter_form(path: &str, q: &Params) -> Markup {
    let none = Errors::default();
    html! {
        form.filters method="get" action=(path) {
            (html::select("region", "M49 region", None, &fields::regions(), q.get("region"), Some("Every region"), &none))
            (html::select("area", "Thematic area", None, &fields::options(clearinghouse_domain::Area::ALL, clearinghouse_domain::Area::code), q.get("area"), Some("Every area"), &none))
            (html::select("gp_group", "GP sub-working group", None, &fields::options(clearinghouse_domain::GpSubWorkingGroup::ALL, clearinghouse_domain::GpSubWorkingGroup::code), q.get("gp_group"), Some("Any"), &none))
            (html::text_input("from", "Requested from", None, q.get("from"), "date", &none))
            (html::text_input("until", "Requested until", None, q.get("until"), "date", &none))
            button.button.secondary type="submit" { "Apply filters" }
        }
    }
}

fn hidden_note<T>(s: &Section<T>) -> Markup {
    let hidden = s.hidden.confidential + s.hidden.restricted;
    html! {
        @if hidden > 0 { p.note { (hidden) " more not shown to you (confidential or restricted)." } }
    }
}

/// `GET /console/worklist`.
pub async fn show(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let filter = filter_of(&ctx.query)?;
    let w = ctx.app.worklist(&ctx.who, filter).await?;
    let body = html! {
        h1 { "Worklist" }
        p.context { (w.meta.context_line()) }
        (filter_form("/console/worklist", &ctx.query))
        h2 #submitted { "Awaiting authentication (" (w.awaiting_authentication.total) ")" }
        div.table-wrap { table {
            caption { "Submitted needs, oldest first" }
            thead { tr { th scope="col" { "Need" } th scope="col" { "Requesting party" } th scope="col" { "Area" } th scope="col" { "Submitted" } th scope="col" class="num" { "Days waiting" } } }
            tbody {
                @if w.awaiting_authentication.rows.is_empty() { tr { td colspan="5" { "None." } } }
                @for r in &w.awaiting_authentication.rows { tr {
                    td { (fields::need_link(&r.need_id, &r.title)) } td { (r.requester) } td { (humanize(&r.area)) }
                    td { (r.submitted_on) } td.num { (r.days_waiting) }
                } }
            }
        } }
        (hidden_note(&w.awaiting_authentication))
        h2 #consent { "Consent windows (" (w.consent_windows.total) ")" }
        div.table-wrap { table {
            caption { "Authenticated needs: ready to circulate first" }
            thead { tr { th scope="col" { "Need" } th scope="col" { "Requesting party" } th scope="col" { "Consent" } th scope="col" { "Window ends" } th scope="col" { "Ready to circulate" } } }
            tbody {
                @if w.consent_windows.rows.is_empty() { tr { td colspan="5" { "None." } } }
                @for r in &w.consent_windows.rows { tr {
                    td { (fields::need_link(&r.need_id, &r.title)) } td { (r.requester) } td { (humanize(&r.state)) }
                    td { (r.window_ends) } td { (if r.ready_to_circulate { "Yes" } else { "Not yet" }) }
                } }
            }
        } }
        (hidden_note(&w.consent_windows))
        h2 #unmatched { "Circulated, not yet matched (" (w.unmatched.total) ")" }
        div.table-wrap { table {
            caption { "Oldest request first, with the best candidate offer" }
            thead { tr { th scope="col" { "Need" } th scope="col" { "Requesting party" } th scope="col" { "Area" } th scope="col" { "Priority" } th scope="col" class="num" { "Months open" } th scope="col" { "Best candidate" } th scope="col" class="num" { "Score" } } }
            tbody {
                @if w.unmatched.rows.is_empty() { tr { td colspan="7" { "None." } } }
                @for r in &w.unmatched.rows { tr {
                    td { (fields::need_link(&r.need_id, &r.title)) } td { (r.requester) } td { (humanize(&r.area)) }
                    td { (humanize(&r.priority)) } td.num { (r.months_open) }
                    td { @match (&r.best_offer_id, &r.best_offer_provider) {
                        (Some(o), p) => { (fields::offer_link(o, &format!("Offer from {}", p.as_deref().unwrap_or("a provider")))) }
                        _ => { "None found" }
                    } }
                    td.num { (r.best_score_milli.map(fields::score).unwrap_or_default()) }
                } }
            }
        } }
        (hidden_note(&w.unmatched))
        h2 #answers { "Matches awaiting answers (" (w.awaiting_answers.total) ")" }
        div.table-wrap { table {
            caption { "Longest waiting first" }
            thead { tr { th scope="col" { "Match" } th scope="col" { "Need" } th scope="col" { "Status" } th scope="col" { "Waiting for" } th scope="col" class="num" { "Days waiting" } } }
            tbody {
                @if w.awaiting_answers.rows.is_empty() { tr { td colspan="5" { "None." } } }
                @for r in &w.awaiting_answers.rows { tr {
                    td { (fields::match_link(&r.match_id)) } td { (fields::need_link(&r.need_id, "")) }
                    td { (humanize(&r.status)) } td { (r.waiting_for.join("; ")) } td.num { (r.days_waiting) }
                } }
            }
        } }
        (hidden_note(&w.awaiting_answers))
        h2 #follow-ups { "Follow-ups due (" (w.follow_ups.total) ")" }
        div.table-wrap { table {
            caption { "Unmatched needs past their 12-month follow-up, most overdue first" }
            thead { tr { th scope="col" { "Need" } th scope="col" { "Requesting party" } th scope="col" { "Follow-up due" } th scope="col" class="num" { "Days overdue" } } }
            tbody {
                @if w.follow_ups.rows.is_empty() { tr { td colspan="4" { "None." } } }
                @for r in &w.follow_ups.rows { tr {
                    td { (fields::need_link(&r.need_id, &r.title)) } td { (r.requester) } td { (r.follow_up_due) } td.num { (r.days_overdue) }
                } }
            }
        } }
        (hidden_note(&w.follow_ups))
        h2 #expiring { "Offers expiring within 60 days (" (w.expiring_offers.total) ")" }
        div.table-wrap { table {
            caption { "Soonest first" }
            thead { tr { th scope="col" { "Offer" } th scope="col" { "Provider" } th scope="col" { "Valid until" } th scope="col" class="num" { "Days left" } } }
            tbody {
                @if w.expiring_offers.rows.is_empty() { tr { td colspan="4" { "None." } } }
                @for r in &w.expiring_offers.rows { tr {
                    td { (fields::offer_link(&r.offer_id, &r.programme)) } td { (r.provider) } td { (r.valid_until) } td.num { (r.days_left) }
                } }
            }
        } }
    };
    Ok(Reply::page("Worklist", body))
}
