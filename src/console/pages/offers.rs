//! Offers: the list (a provider's own; every offer for brokers; open offers for others)
//! and an offer's page with the needs that fit it — ranked, each with its factors — and
//! its matches.

use maud::{Markup, html};

use clearinghouse_domain::{Offer, OfferStatus, Role};

use super::{Ctx, PER_PAGE, Reply, fields, gather, matches::matches_table, paging, sentence};
use crate::{
    app::{matches::MatchFilter, offers::OfferFilter},
    auth::table,
    console::{
        form::encode,
        html::{self, Errors, humanize, pagination, status_tag, summary},
    },
    error::ApiError,
};

const FIND_NEEDS: &str = "/clearinghouse.v1.MatchService/FindNeedsForOffer";

/// `GET /console/offers`.
pub async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mut filter = OfferFilter::default();
    if let Some(s) = ctx.query.opt("status") {
        filter.status = Some(
            OfferStatus::from_code(s)
                .ok_or_else(|| ApiError::invalid("status", "is not an offer status"))?,
        );
    }
    if ctx.who.role == Role::Provider {
        filter.party.clone_from(&ctx.who.party);
    }
    let (mut offers, more) = gather(|p| ctx.app.list_offers(&ctx.who, filter.clone(), p)).await?;
    offers.reverse();
    let (page, pages) = paging(&ctx.query, offers.len());
    let shown: Vec<&Offer> = offers
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    let names_ids: Vec<clearinghouse_domain::PartyId> =
        shown.iter().map(|o| o.provider.clone()).collect();
    let names = fields::Names::load(ctx.app, names_ids).await;
    let title = if ctx.who.role == Role::Provider {
        "Our offers"
    } else {
        "Offers"
    };
    let none = Errors::default();
    let body = html! {
        h1 { (title) }
        form.filters method="get" action="/console/offers" {
            (html::select("status", "Status", None, &fields::options(OfferStatus::ALL, OfferStatus::code), ctx.query.get("status"), Some("Any status"), &none))
            button.button.secondary type="submit" { "Apply filter" }
        }
        @if more { p.note { "Only the first " (super::LIST_CAP) " offers are listed; filter by status to see the rest." } }
        div.table-wrap { table {
            caption { (offers.len()) " offers, newest first" @if pages > 1 { ", page " (page) " of " (pages) } }
            thead { tr { th scope="col" { "Programme" } th scope="col" { "Provider" } th scope="col" { "Areas" } th scope="col" { "Funding modes" } th scope="col" { "Status" } th scope="col" { "Valid until" } } }
            tbody {
                @if shown.is_empty() { tr { td colspan="6" { "No offers." } } }
                @for o in &shown { tr {
                    td { (fields::offer_link(&o.id.0, &o.fields.programme_name)) }
                    td { (names.of(&o.provider)) }
                    td { (fields::list(&o.fields.areas, "")) @if !o.fields.sub_areas.is_empty() { @if !o.fields.areas.is_empty() { "; " } (fields::list(&o.fields.sub_areas, "")) } }
                    td { (fields::list(&o.fields.funding_modes, "")) }
                    td { (status_tag(o.status.code())) }
                    td { (o.fields.valid_until.map(|d| d.to_string()).unwrap_or_default()) }
                } }
            }
        } }
        (pagination("/console/offers", &ctx.query, page, pages))
    };
    Ok(Reply::page(title, body))
}

async fn fitting_needs(ctx: &Ctx<'_>, o: &Offer) -> Markup {
    let found = match ctx
        .app
        .find_needs_for_offer(&ctx.who, o.id.0.clone(), None, 10)
        .await
    {
        Ok(r) => r.items,
        Err(e) => {
            return html! { h2 { "Needs that fit" } p { (sentence(e.into_status().message())) } };
        }
    };
    let names_ids: Vec<clearinghouse_domain::PartyId> =
        found.iter().map(|f| f.item.requester.clone()).collect();
    let names = fields::Names::load(ctx.app, names_ids).await;
    html! {
        h2 { "Needs that fit this offer" }
        @if found.is_empty() { p { "No circulated need fits this offer yet." } }
        ol {
            @for (i, f) in found.iter().enumerate() {
                li {
                    h3 { (fields::need_link(&f.item.id.0, &f.item.fields.title)) " — " (names.of(&f.item.requester)) }
                    p { "Score " strong { (fields::score(f.explanation.score_milli)) } " " (fields::bar(f64::from(f.explanation.score_milli) / 1000.0, "score")) }
                    details open[i == 0] {
                        summary { "Why this need ranks here" }
                        (fields::factors_table("Each factor of the fit", &f.explanation))
                    }
                    @if ctx.may("match.new") && f.item.status.is_matchable() {
                        p { a.button.secondary href={"/console/needs/" (encode(&f.item.id.0)) "/propose?offer=" (encode(&o.id.0))} { "Propose a match from this offer" } }
                    }
                }
            }
        }
    }
}

/// `GET /console/offers/{id}`.
pub async fn view(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let o = ctx.app.get_offer(&ctx.who, ctx.id.clone()).await?;
    let names = fields::Names::load(ctx.app, vec![o.provider.clone()]).await;
    let own = ctx.who.role != Role::Provider || ctx.who.party.as_ref() == Some(&o.provider);
    let f = &o.fields;
    let scope = if f.scope.global {
        "Global".to_owned()
    } else {
        [
            f.scope.regions.join(", "),
            f.scope.subregions.join(", "),
            f.scope.countries.join(", "),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
    };
    let fits = if table::is_allowed(FIND_NEEDS, ctx.who.role) && own {
        fitting_needs(ctx, &o).await
    } else {
        html! {}
    };
    let matches = if ctx.may("matches.list") {
        let listed = ctx
            .app
            .list_matches(
                &ctx.who,
                MatchFilter {
                    offer: Some(o.id.0.clone()),
                    ..MatchFilter::default()
                },
                crate::app::PageRequest {
                    size: 50,
                    after: None,
                },
            )
            .await?;
        let n_ids: Vec<clearinghouse_domain::PartyId> = listed
            .items
            .iter()
            .flat_map(|m| m.contributions.iter().map(|c| c.provider.clone()))
            .collect();
        let n = fields::Names::load(ctx.app, n_ids).await;
        html! { h2 { "Matches" } (matches_table("Matches drawing on this offer", &listed.items, &n)) }
    } else {
        html! {}
    };
    let body = html! {
        span.caption { "Offer " (o.id.0) }
        h1 { (f.programme_name) }
        (summary(&[
            ("Status", status_tag(o.status.code())),
            ("Provider", html! { (names.of(&o.provider)) }),
            ("Areas", html! { (fields::list(&f.areas, "None")) }),
            ("Sub-areas", html! { (fields::list(&f.sub_areas, "None")) }),
            ("Kinds of help", html! { (fields::list(&f.assistance_kinds, "None stated")) }),
            ("Weapon domains", html! { (fields::list(&f.weapon_domains, "All")) }),
            ("Geographic scope", html! { (scope) @if !f.scope.excluded_countries.is_empty() { " (except " (f.scope.excluded_countries.join(", ")) ")" } }),
            ("Funding modes", html! { (fields::list(&f.funding_modes, "None stated")) }),
            ("Budget ceiling", html! { (fields::money(f.budget_ceiling)) " (" (humanize(f.budget_status.code())) ")" }),
            ("Valid", html! { (f.valid_from.map(|d| format!("from {d} ")).unwrap_or_default()) (f.valid_until.map(|d| format!("until {d}")).unwrap_or_default()) }),
            ("Description", html! { (f.description) }),
        ]))
        (fits)
        (matches)
    };
    Ok(Reply::page(f.programme_name.clone(), body))
}
