//! Proposing a match: the form (funding mode, and for each offer its role, pledge and
//! in-kind part), then "check your answers", then `CreateMatch` through the use case —
//! which checks the need, each offer's fit and the funding mode in one transaction.

use maud::{Markup, html};

use clearinghouse_domain::{
    FundingMode, Money, Need, OfferId, Violations, matches::ContributionRole,
};

use super::{Ctx, Reply, fields, form_errors, need_actions::check_page};
use crate::{
    app::matches::NewContribution,
    console::{
        form::{Params, encode},
        html::{self, Errors, csrf, error_summary, humanize},
    },
    convert::money_in,
    error::ApiError,
};

/// At most this many offers in one proposal (the API's limit).
const MAX_OFFERS: usize = 16;

fn offers_of(p: &Params) -> Vec<String> {
    p.all("offer")
        .into_iter()
        .take(MAX_OFFERS)
        .map(str::to_owned)
        .collect()
}

async fn form_page(ctx: &Ctx<'_>, need: &Need, values: &Params, errors: &Errors) -> Markup {
    let offers = offers_of(values);
    let mut rows = Vec::new();
    for id in &offers {
        let o = ctx.app.get_offer(&ctx.who, id.clone()).await.ok();
        rows.push((id.clone(), o));
    }
    let modes: Vec<(String, String)> = need
        .fields
        .accepted_funding_modes
        .iter()
        .map(|m| (m.code().to_owned(), humanize(m.code())))
        .collect();
    let default_mode = values
        .opt("funding_mode")
        .map(str::to_owned)
        .or_else(|| {
            need.fields
                .preferred_funding_mode
                .map(|m| m.code().to_owned())
        })
        .unwrap_or_default();
    let roles = fields::options(ContributionRole::ALL, ContributionRole::code);
    html! {
        (error_summary(errors))
        span.caption { "Need " (fields::need_link(&need.id.0, &need.fields.title)) }
        h1 { "Propose a match" }
        @if offers.is_empty() {
            p { "Choose an offer first: use “Propose a match with this offer” beside a candidate on the need's page." }
        } @else {
            form method="post" action={"/console/needs/" (encode(&need.id.0)) "/propose"} novalidate {
                (csrf(&ctx.csrf))
                (html::choices("funding_mode", "Funding mode", Some("Among the modes the need accepts."), &modes, &[default_mode.as_str()], false, errors))
                @for (i, (id, offer)) in rows.iter().enumerate() {
                    input type="hidden" name="offer" value=(id);
                    fieldset.fieldset.panel {
                        legend.legend { "Offer " (i + 1) ": " (offer.as_ref().map_or(id.as_str(), |o| o.fields.programme_name.as_str())) }
                        (html::select(&format!("role_{i}"), "Role", None, &roles, if values.get(&format!("role_{i}")).is_empty() { "FUNDING" } else { values.get(&format!("role_{i}")) }, None, errors))
                        (html::text_input(&format!("currency_{i}"), "Currency of the pledge", Some("The offer's currency."),
                            &values.opt(&format!("currency_{i}")).map(str::to_owned).or_else(|| offer.as_ref().and_then(|o| o.fields.budget_ceiling).map(|m| m.currency.as_str().to_owned())).unwrap_or_default(), "text", errors))
                        (html::text_input(&format!("amount_{i}"), "Amount pledged", Some("Whole units, e.g. 150000. Leave empty for an in-kind contribution."), values.get(&format!("amount_{i}")), "text", errors))
                        (html::text_input(&format!("in_kind_{i}"), "In-kind contribution", Some("Experts, training places or equipment, if any."), values.get(&format!("in_kind_{i}")), "text", errors))
                    }
                }
                button.button type="submit" { "Continue" }
            }
        }
    }
}

/// `GET /console/needs/{id}/propose?offer=…`.
pub async fn form(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let need = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let mut values = ctx.query.clone();
    if let Some(m) = ctx.query.opt("mode") {
        values = values.with("funding_mode", m);
    }
    Ok(Reply::page(
        "Propose a match",
        form_page(ctx, &need, &values, &Errors::default()).await,
    ))
}

/// What the form asks for, or its problems.
fn proposal(
    f: &Params,
) -> (
    Option<FundingMode>,
    Vec<NewContribution>,
    Violations,
    Errors,
) {
    let mut errors = Errors::default();
    let mut v = Violations::new("");
    let mode = FundingMode::from_code(f.get("funding_mode"));
    if mode.is_none() {
        errors.add("funding_mode", "Choose a funding mode");
    }
    let mut cs = Vec::new();
    for (i, id) in offers_of(f).into_iter().enumerate() {
        let role = ContributionRole::from_code(f.get(&format!("role_{i}")))
            .unwrap_or(ContributionRole::Funding);
        let amount_s = f.get(&format!("amount_{i}"));
        let amount: Option<Money> = if amount_s.is_empty() {
            None
        } else {
            match crate::cli::money::parse_parts(f.get(&format!("currency_{i}")), amount_s) {
                Ok(m) => money_in(&mut v, &format!("contributions[{i}].amount"), Some(&m)),
                Err(e) => {
                    errors.add(&format!("amount_{i}"), super::sentence(&e));
                    None
                }
            }
        };
        cs.push(NewContribution {
            offer: OfferId(id),
            role,
            amount,
            in_kind: f.get(&format!("in_kind_{i}")).to_owned(),
        });
    }
    (mode, cs, v, errors)
}

fn field_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("contributions[")?;
    let (i, tail) = rest.split_once(']')?;
    let field = if tail.contains("amount") {
        "amount"
    } else if tail.contains("in_kind") {
        "in_kind"
    } else {
        "role"
    };
    Some(format!("{field}_{i}"))
}

/// `POST /console/needs/{id}/propose`.
pub async fn submit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let need = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let (mode, contributions, v, errors) = proposal(&ctx.form);
    let step = ctx.form.get("step");
    if !errors.is_empty() || step == "edit" {
        let errors = if step == "edit" {
            Errors::default()
        } else {
            errors
        };
        return Ok(Reply::invalid(
            "Propose a match",
            form_page(ctx, &need, &ctx.form, &errors).await,
        ));
    }
    if step != "confirm" {
        let mut rows = vec![
            ("Need", html! { (need.fields.title) }),
            (
                "Funding mode",
                html! { (humanize(ctx.form.get("funding_mode"))) },
            ),
        ];
        for c in &contributions {
            rows.push((
                "Contribution",
                html! {
                    "Offer " (c.offer.0) ", " (humanize(c.role.code()))
                    @if let Some(a) = c.amount { ", " (fields::money(Some(a))) }
                    @if !c.in_kind.is_empty() { ", in kind: " (c.in_kind) }
                },
            ));
        }
        let hidden: Vec<(&str, &str)> = ctx
            .form
            .pairs()
            .iter()
            .filter(|(k, _)| k != "csrf" && k != "step")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = format!("/console/needs/{}/propose", encode(&need.id.0));
        let back = format!("/console/needs/{}", encode(&need.id.0));
        let page = check_page(
            ctx,
            "proposing this match",
            &rows,
            &url,
            &hidden,
            "Propose the match",
            &back,
        );
        return Ok(Reply::page("Check your answers", page));
    }
    match ctx
        .app
        .create_match(&ctx.who, need.id.0.clone(), mode, contributions, v, None)
        .await
    {
        Ok(m) => Ok(Reply::done(
            format!("/console/matches/{}", encode(&m.id)),
            "Match proposed; the parties are asked to answer",
        )),
        Err(e) => {
            let errors = form_errors(&e, "funding_mode", &field_of).unwrap_or_else(|| {
                let mut x = Errors::default();
                x.add("funding_mode", super::sentence(e.into_status().message()));
                x
            });
            Ok(Reply::invalid(
                "Propose a match",
                form_page(ctx, &need, &ctx.form, &errors).await,
            ))
        }
    }
}
