//! Matching pages: why an offer does (or does not) fit a need, the consortium of joint and
//! pooled offers suggested for a jointly funded need, and the dry-run allocation plan for
//! a region, an area or a GP sub-working group.

use maud::html;

use clearinghouse_domain::{Area, GpSubWorkingGroup};
use clearinghouse_reports::money::format_money;

use super::{Ctx, Reply, fields};
use crate::{
    app::matching::PlanFilter,
    console::{
        form::{Params, encode},
        html::{self, Errors, humanize},
    },
    error::ApiError,
};

/// `GET /console/needs/{id}/why-not?offer=…`.
pub async fn why_not(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let offer_id = ctx.query.get("offer").to_owned();
    let need = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let back = format!("/console/needs/{}", encode(&need.id.0));
    if offer_id.is_empty() {
        return Ok(Reply::failed(
            back,
            "Enter the id of an offer to explain its fit.",
        ));
    }
    let offer = ctx.app.get_offer(&ctx.who, offer_id.clone()).await?;
    let fit = ctx
        .app
        .explain_fit(&ctx.who, need.id.0.clone(), offer_id)
        .await?;
    let title = format!(
        "Fit of {} with {}",
        offer.fields.programme_name, need.fields.title
    );
    let body = html! {
        span.caption { "Need " (fields::need_link(&need.id.0, &need.fields.title)) }
        h1 { (title) }
        @match &fit {
            Ok(e) => {
                p.lead { "The offer passes every hard filter. Score " strong { (fields::score(e.score_milli)) } "." }
                (fields::factors_table("Each factor of the fit", e))
            }
            Err(rejections) => {
                p.lead { "The offer is not a candidate for this need: it fails " (rejections.len()) " hard filter" @if rejections.len() != 1 { "s" } "." }
                div.table-wrap { table {
                    caption { "Hard filters the offer fails" }
                    thead { tr { th scope="col" { "Filter" } th scope="col" { "Why" } } }
                    tbody { @for r in rejections { tr { th scope="row" { (humanize(&format!("{:?}", r.filter))) } td { (r.reason) } } } }
                } }
            }
        }
        p { a href=(back) { "Back to the need" } }
    };
    Ok(Reply::page(title, body))
}

/// `GET /console/needs/{id}/consortium`.
pub async fn consortium(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let need = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let s = ctx
        .app
        .suggest_consortium(&ctx.who, need.id.0.clone())
        .await?;
    let c = &s.consortium;
    let base = s.base.as_str();
    let names_ids: Vec<clearinghouse_domain::PartyId> =
        s.offers.iter().map(|o| o.provider.clone()).collect();
    let names = fields::Names::load(ctx.app, names_ids).await;
    let propose = {
        let mut p = Params::default();
        for m in &c.members {
            p = Params::from_pairs(
                p.pairs()
                    .iter()
                    .cloned()
                    .chain([("offer".to_owned(), m.offer_id.clone())]),
            );
        }
        p.with("mode", "JOINTLY_FUNDED")
            .url(&format!("/console/needs/{}/propose", encode(&need.id.0)))
    };
    let body = html! {
        span.caption { "Need " (fields::need_link(&need.id.0, &need.fields.title)) }
        h1 { "Suggested consortium" }
        p.lead { (c.members.len()) " of " (s.considered) " joint or pooled offers cover "
            strong { (format_money(c.covered, base)) } "; " (format_money(c.uncovered, base)) " remains uncovered. "
            "Method: " (humanize(&format!("{:?}", c.method))) "." }
        div.table-wrap { table {
            caption { "Members and the amount each would pledge (" (base) ")" }
            thead { tr { th scope="col" { "Offer" } th scope="col" { "Provider" } th scope="col" class="num" { "Amount" } th scope="col" class="num" { "Score" } } }
            tbody {
                @if c.members.is_empty() { tr { td colspan="4" { "No joint or pooled offer fits this need." } } }
                @for (m, o) in c.members.iter().zip(&s.offers) { tr {
                    td { (fields::offer_link(&m.offer_id, &o.fields.programme_name)) }
                    td { (names.of(&o.provider)) }
                    td.num { (format_money(m.amount, base)) }
                    td.num { (fields::score(m.score_milli)) }
                } }
            }
        } }
        @if !c.members.is_empty() && ctx.may("match.new") {
            p { a.button href=(propose) { "Propose this consortium as a match" } }
        }
    };
    Ok(Reply::page("Suggested consortium", body))
}

/// `GET /console/plan?region=&area=&gp_group=`.
pub async fn plan(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let q = &ctx.query;
    let mut filter = PlanFilter::default();
    if let Some(r) = q.opt("region") {
        crate::app::needs::check_geo_filter("", r, "")?;
        filter.region = Some(r.to_owned());
    }
    filter.area = q.opt("area").and_then(Area::from_code);
    filter.gp_group = q.opt("gp_group").and_then(GpSubWorkingGroup::from_code);
    let p = ctx.app.plan_allocation(filter).await?;
    let base = p.base.as_str();
    let none = Errors::default();
    let body = html! {
        h1 { "Allocation plan" }
        p.lead { "A dry run: which open offer could fund which circulated need, best overall fit first. Nothing is proposed or reserved." }
        form.filters method="get" action="/console/plan" {
            (html::select("region", "M49 region", None, &fields::regions(), q.get("region"), Some("Every region"), &none))
            (html::select("area", "Thematic area", None, &fields::options(Area::ALL, Area::code), q.get("area"), Some("Every area"), &none))
            (html::select("gp_group", "GP sub-working group", None, &fields::options(GpSubWorkingGroup::ALL, GpSubWorkingGroup::code), q.get("gp_group"), Some("Any"), &none))
            button.button.secondary type="submit" { "Plan" }
        }
        p { (p.needs) " needs and " (p.offers) " offers considered. Single-donor part: "
            (humanize(&format!("{:?}", p.plan.single_donor_method))) "; jointly funded part: "
            (humanize(&format!("{:?}", p.plan.joint_method))) "." }
        div.table-wrap { table {
            caption { "Proposed allocations (" (base) ")" }
            thead { tr { th scope="col" { "Need" } th scope="col" { "Offer" } th scope="col" class="num" { "Amount" } th scope="col" class="num" { "Score" } } }
            tbody {
                @if p.plan.lines.is_empty() { tr { td colspan="4" { "No allocation is possible with these filters." } } }
                @for l in &p.plan.lines { tr {
                    td { (fields::need_link(&l.need_id, "")) }
                    td { (fields::offer_link(&l.offer_id, "")) }
                    td.num { (format_money(l.amount, base)) }
                    td.num { (fields::score(l.score_milli)) }
                } }
            }
        } }
        div.table-wrap { table {
            caption { "Needs left unfunded, or partly" }
            thead { tr { th scope="col" { "Need" } th scope="col" { "Why" } } }
            tbody {
                @if p.plan.unfunded.is_empty() { tr { td colspan="2" { "None." } } }
                @for (need, why) in &p.plan.unfunded { tr { td { (fields::need_link(need, "")) } td { (why) } } }
            }
        } }
    };
    Ok(Reply::page("Allocation plan", body))
}
