//! Needs: the list (filtered, sorted and paged through the query string) and a need's
//! page — its details, the actions open to the viewer, its ranked candidates with each
//! factor's bar and reason, a why-not form, its matches, status history and feedback.

use maud::{Markup, html};

use clearinghouse_domain::{Area, Need, NeedStatus, PartyId, Role, geo};

use super::{
    Ctx, PER_PAGE, Reply, fields, gather, matches::matches_table, need_actions, paging, sentence,
};
use crate::{
    app::{matches::MatchFilter, needs::NeedFilter},
    auth::table,
    console::{
        form::{Params, encode},
        html::{self, humanize, pagination, sort_header, status_tag, summary, when},
    },
    error::ApiError,
};

const FIND_OFFERS: &str = "/clearinghouse.v1.MatchService/FindOffersForNeed";
const LIST_MATCHES: &str = "/clearinghouse.v1.MatchService/ListMatches";
const CONSORTIUM: &str = "/clearinghouse.v1.MatchService/SuggestConsortium";
const EXPLAIN: &str = "/clearinghouse.v1.MatchService/ExplainFit";
/// Candidates shown on a need's page.
const CANDIDATES: usize = 10;

fn filter_of(q: &Params) -> Result<NeedFilter, ApiError> {
    let mut f = NeedFilter::default();
    if let Some(s) = q.opt("status") {
        f.status = Some(NeedStatus::from_code(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!("'{}' is not a need status", crate::app::short(s)),
            )
        })?);
    }
    if let Some(a) = q.opt("area") {
        f.area = Some(Area::from_code(a).ok_or_else(|| {
            ApiError::invalid(
                "area",
                format!("'{}' is not a thematic area", crate::app::short(a)),
            )
        })?);
    }
    if let Some(c) = q.opt("country") {
        f.country = Some(c.to_ascii_uppercase());
    }
    f.region = q.opt("region").map(str::to_owned);
    crate::app::needs::check_geo_filter(
        f.country.as_deref().unwrap_or(""),
        f.region.as_deref().unwrap_or(""),
        "",
    )?;
    Ok(f)
}

fn sort(needs: &mut [Need], key: &str) {
    let desc = key.starts_with('-');
    match key.trim_start_matches('-') {
        "title" => needs.sort_by(|a, b| {
            a.fields
                .title
                .to_lowercase()
                .cmp(&b.fields.title.to_lowercase())
        }),
        "status" => needs.sort_by_key(|n| n.status.code()),
        "priority" => needs.sort_by_key(|n| n.fields.priority.code()),
        "country" => needs.sort_by(|a, b| a.fields.country_code.cmp(&b.fields.country_code)),
        "updated" => needs.sort_by_key(|n| n.updated_at),
        _ => needs.sort_by_key(|n| n.created_at),
    }
    if desc {
        needs.reverse();
    }
}

/// `GET /console/needs`.
pub async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let filter = filter_of(&ctx.query)?;
    let (mut needs, more) =
        gather(|page| ctx.app.list_needs(&ctx.who, filter.clone(), page)).await?;
    let sort_key = match ctx.query.get("sort") {
        "" => "-created",
        s => s,
    };
    sort(&mut needs, sort_key);
    let (page, pages) = paging(&ctx.query, needs.len());
    let shown: Vec<&Need> = needs
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    let names_ids: Vec<clearinghouse_domain::PartyId> =
        shown.iter().map(|n| n.requester.clone()).collect();
    let names = fields::Names::load(ctx.app, names_ids).await;
    let title = match ctx.who.role {
        Role::Requester => "Our needs",
        Role::Provider | Role::Analyst => "Circulated needs",
        _ => "Needs",
    };
    let q = &ctx.query;
    let path = "/console/needs";
    let statuses = fields::options(NeedStatus::ALL, NeedStatus::code);
    let areas = fields::options(Area::ALL, Area::code);
    let none = html::Errors::default();
    let body = html! {
        h1 { (title) }
        @if ctx.may("need.new") {
            p { a.button href="/console/needs/new" { "Record a need" } " "
                @if ctx.may("intake.form") { a.button.secondary href="/console/intake" { "New need from text" } } }
        }
        form.filters method="get" action=(path) {
            (html::select("status", "Status", None, &statuses, q.get("status"), Some("Any status"), &none))
            (html::select("area", "Thematic area", None, &areas, q.get("area"), Some("Any area"), &none))
            (html::select("region", "M49 region", None, &fields::regions(), q.get("region"), Some("Any region"), &none))
            (html::text_input("country", "Country (ISO3)", None, q.get("country"), "text", &none))
            @if !q.get("sort").is_empty() { input type="hidden" name="sort" value=(q.get("sort")); }
            button.button.secondary type="submit" { "Apply filters" }
        }
        @if more {
            p.note { "Only the first " (super::LIST_CAP) " needs are listed; narrow the filters to see the rest." }
        }
        div.table-wrap {
            table {
                caption { (needs.len()) " needs" @if pages > 1 { ", page " (page) " of " (pages) } }
                thead { tr {
                    (sort_header(path, q, "Title", "title"))
                    th scope="col" { "Requesting party" }
                    (sort_header(path, q, "Country", "country"))
                    th scope="col" { "Area" }
                    (sort_header(path, q, "Status", "status"))
                    (sort_header(path, q, "Priority", "priority"))
                    (sort_header(path, q, "Recorded", "created"))
                } }
                tbody {
                    @if shown.is_empty() { tr { td colspan="7" { "No needs match these filters." } } }
                    @for n in &shown {
                        tr {
                            td { (fields::need_link(&n.id.0, &n.fields.title)) }
                            td { (names.of(&n.requester)) }
                            td { (n.fields.country_code) }
                            td { (n.fields.area.map(|a| humanize(a.code())).unwrap_or_default()) }
                            td { (status_tag(n.status.code())) }
                            td { (humanize(n.fields.priority.code())) }
                            td { (n.created_at.date().to_string()) }
                        }
                    }
                }
            }
        }
        (pagination(path, q, page, pages))
    };
    Ok(Reply::page(title, body))
}

fn details(n: &Need, requester: &str) -> Markup {
    let f = &n.fields;
    let c = n.country();
    let mut rows: Vec<(&str, Markup)> = vec![
        ("Status", status_tag(n.status.code())),
        ("Requesting party", html! { (requester) }),
        (
            "Country",
            html! { (f.country_code) @if let Some(c) = c { " (" (c.name) ", " (c.subregion) ")" } },
        ),
        (
            "Thematic area",
            html! { (f.area.map(|a| humanize(a.code())).unwrap_or_else(|| "Not stated".into())) },
        ),
        (
            "Sub-areas",
            html! { (fields::list(&f.sub_areas, "None stated")) },
        ),
        (
            "Weapon domains",
            html! { (fields::list(&f.weapon_domains, "All")) },
        ),
        (
            "Kinds of help",
            html! { (fields::list(&f.assistance_kinds, "None stated")) },
        ),
        ("Priority", html! { (humanize(f.priority.code())) }),
        (
            "Wanted",
            html! {
                @if f.wanted_from.is_none() && f.needed_by.is_none() { "Not stated" }
                (f.wanted_from.map(|d| format!("from {d} ")).unwrap_or_default())
                (f.needed_by.map(|d| format!("by {d}")).unwrap_or_default())
            },
        ),
        (
            "Estimated budget",
            html! { (fields::money(f.estimated_budget)) },
        ),
        (
            "Funding modes accepted",
            html! { (fields::list(&f.accepted_funding_modes, "None stated"))
            @if let Some(p) = f.preferred_funding_mode { " (prefers " (humanize(p.code())) ")" } },
        ),
        (
            "Languages",
            html! { (if f.languages.is_empty() { "Not stated".to_owned() } else { f.languages.join(", ") }) },
        ),
        (
            "Request date",
            html! { (f.request_date.map(|d| d.to_string()).unwrap_or_else(|| "Not stated".into())) },
        ),
        (
            "Channel",
            html! { (humanize(f.channel.code())) @if !f.note_verbale_reference.is_empty() { ", note verbale " (f.note_verbale_reference) } },
        ),
        ("Visibility", html! { (humanize(f.visibility.code())) }),
        (
            "Publication consent",
            html! { (humanize(f.publication_consent.code()))
            @if let Some(d) = n.consent_window_ends { " (objection window ends " (d.to_string()) ")" } },
        ),
        ("Follow-up due", html! { (n.follow_up_due.to_string()) }),
    ];
    if !f.beneficiary_countries.is_empty() {
        rows.push((
            "Beneficiary countries",
            html! { (f.beneficiary_countries.join(", ")) },
        ));
    }
    if !f.public_summary.is_empty() {
        rows.push(("Public summary", html! { (f.public_summary) }));
    }
    rows.push(("Description", html! { (f.description) }));
    if !f.assistance_received.is_empty() {
        rows.push((
            "Assistance already received",
            html! { (f.assistance_received) },
        ));
    }
    if !f.contact.is_empty() {
        let ct = &f.contact;
        let lines: Vec<&str> = [
            ct.name.as_str(),
            ct.organization.as_str(),
            ct.email.as_str(),
            ct.phone.as_str(),
        ]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect();
        rows.push(("Point of contact", html! { (lines.join("\n")) }));
    }
    summary(&rows)
}

fn history(n: &Need) -> Markup {
    html! {
        div.table-wrap { table {
            caption { "Status history" }
            thead { tr { th scope="col" { "When" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "By" } th scope="col" { "Reason" } } }
            tbody {
                @for c in &n.history {
                    tr {
                        td { (when(c.at)) }
                        td { (c.from.as_deref().map(humanize).unwrap_or_else(|| "(new)".into())) }
                        td { (humanize(&c.to)) }
                        td { (c.actor.0) }
                        td { (c.reason) }
                    }
                }
            }
        } }
    }
}

async fn candidates(ctx: &Ctx<'_>, n: &Need) -> Markup {
    let ranking = ctx
        .app
        .find_offers_for_need(&ctx.who, n.id.0.clone(), None, CANDIDATES)
        .await;
    let found = match ranking {
        Ok(r) => r.items,
        Err(e) => {
            let s = e.into_status();
            return html! { h2 { "Candidate offers" } p { (sentence(s.message())) } };
        }
    };
    let names_ids: Vec<clearinghouse_domain::PartyId> =
        found.iter().map(|f| f.item.provider.clone()).collect();
    let names = fields::Names::load(ctx.app, names_ids).await;
    let may_propose = ctx.may("match.new") && (ctx.is_broker() || ctx.who.role == Role::Provider);
    html! {
        h2 { "Candidate offers" }
        p.hint { "Ranked by fit with this need. Each factor's bar shows how well the offer meets it; the reason says why." }
        @if found.is_empty() { p { "No open offer fits this need yet." } }
        ol.candidates {
            @for (i, f) in found.iter().enumerate() {
                li {
                    h3 { (fields::offer_link(&f.item.id.0, &f.item.fields.programme_name)) " — " (names.of(&f.item.provider)) }
                    p { "Score " strong { (fields::score(f.explanation.score_milli)) } " "
                        (fields::bar(f64::from(f.explanation.score_milli) / 1000.0, &format!("score {}", fields::score(f.explanation.score_milli)))) }
                    details open[i == 0] {
                        summary { "Why this offer ranks here" }
                        (fields::factors_table(&format!("Fit of {} with this need", f.item.fields.programme_name), &f.explanation))
                    }
                    @if may_propose && n.status.is_matchable() {
                        p { a.button.secondary href={"/console/needs/" (encode(&n.id.0)) "/propose?offer=" (encode(&f.item.id.0))} { "Propose a match with this offer" } }
                    }
                }
            }
        }
    }
}

/// `GET /console/needs/{id}`.
pub async fn view(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let n = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let names = fields::Names::load(ctx.app, vec![n.requester.clone()]).await;
    let role = ctx.who.role;
    let id = encode(&n.id.0);
    let show_candidates = table::is_allowed(FIND_OFFERS, role)
        && (role != Role::Requester || ctx.who.party.as_ref() == Some(&n.requester));
    let cands = if show_candidates {
        candidates(ctx, &n).await
    } else {
        html! {}
    };
    let matches = if table::is_allowed(LIST_MATCHES, role) {
        let listed = ctx
            .app
            .list_matches(
                &ctx.who,
                MatchFilter {
                    need: Some(n.id.0.clone()),
                    ..MatchFilter::default()
                },
                crate::app::PageRequest {
                    size: 50,
                    after: None,
                },
            )
            .await?;
        let names_ids: Vec<clearinghouse_domain::PartyId> = listed
            .items
            .iter()
            .flat_map(|m| m.contributions.iter().map(|c| c.provider.clone()))
            .collect();
        let names = fields::Names::load(ctx.app, names_ids).await;
        html! { h2 { "Matches" } (matches_table("Matches of this need", &listed.items, &names)) }
    } else {
        html! {}
    };
    let joint = n.fields.accepted_funding_modes.iter().any(|m| {
        matches!(
            m,
            clearinghouse_domain::FundingMode::JointlyFunded
                | clearinghouse_domain::FundingMode::PooledIoFund
        )
    });
    let none = html::Errors::default();
    let body = html! {
        span.caption { "Need " (n.id.0) }
        h1 { (n.fields.title) }
        (need_actions::panel(ctx, &n))
        (details(&n, names.of(&n.requester)))
        (cands)
        @if table::is_allowed(CONSORTIUM, role) && joint && show_candidates {
            p { a href={"/console/needs/" (id) "/consortium"} { "Suggest a consortium of joint and pooled offers" } }
        }
        @if table::is_allowed(EXPLAIN, role) && role != Role::Provider {
            form method="get" action={"/console/needs/" (id) "/why-not"} {
                h2 { "Why not another offer?" }
                (html::text_input("offer", "Offer id", Some("The id of any offer you can see, e.g. from the offers list."), "", "text", &none))
                button.button.secondary type="submit" { "Explain the fit" }
            }
        }
        (matches)
        h2 { "History" }
        (history(&n))
        @if !n.feedback.is_empty() {
            h2 { "Feedback" }
            ul { @for f in &n.feedback { li { (when(f.at)) ": " (f.text) } } }
        }
    };
    Ok(Reply::page(n.fields.title.clone(), body))
}

/// The requester party of a broker's form field, or the requester's own.
pub fn requester_of(ctx: &Ctx<'_>, field: &str) -> String {
    match (&ctx.who.role, &ctx.who.party) {
        (Role::Requester, Some(PartyId(p))) => p.clone(),
        _ => field.to_owned(),
    }
}

/// Whether `code` is a known ISO3 code.
pub fn is_country(code: &str) -> bool {
    geo::country(code).is_some()
}
