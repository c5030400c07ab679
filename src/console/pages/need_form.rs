//! Recording and editing a need: one form of the need's fields, read into the same
//! protobuf message the gRPC edge receives and checked by the same conversion
//! (`convert::need::fields_in`) and domain validation, so a form is refused for exactly
//! what a `CreateNeed` would be. Problems come back as the error summary, with every
//! field as typed.

use maud::{Markup, html};

use clearinghouse_domain::{
    Area, AssistanceKind, FundingMode, Need, PartyKind, Priority, SubArea, SubmissionChannel,
    Violations, Visibility, WeaponDomain,
};

use super::{Ctx, Reply, fields, form_errors, gather, needs::requester_of};
use crate::{
    app::parties::PartyFilter,
    console::{
        form::{Params, encode},
        html::{self, Errors, csrf, error_summary, humanize},
    },
    convert::{enums, need as need_convert},
    error::ApiError,
    pb,
};

/// The fields the edit form changes (the update mask it sends).
const EDITED: &[&str] = &[
    "title",
    "description",
    "area",
    "sub_areas",
    "weapon_domains",
    "assistance_kinds",
    "priority",
    "wanted_from",
    "needed_by",
    "estimated_budget",
    "accepted_funding_modes",
    "preferred_funding_mode",
    "languages",
    "country_code",
    "beneficiary_countries",
    "visibility",
    "public_summary",
    "assistance_received",
    "national_action_plan_ref",
    "iaea_plan_ref",
    "request_date",
    "channel",
    "note_verbale_reference",
    "contact",
];

/// Form field ids (the error summary links to them).
const FORM_FIELDS: &[&str] = &[
    "requester_party_id",
    "title",
    "description",
    "area",
    "sub_areas",
    "weapon_domains",
    "assistance_kinds",
    "priority",
    "wanted_from",
    "needed_by",
    "estimated_budget_currency",
    "estimated_budget_amount",
    "accepted_funding_modes",
    "preferred_funding_mode",
    "languages",
    "country_code",
    "beneficiary_countries",
    "visibility",
    "public_summary",
    "assistance_received",
    "national_action_plan_ref",
    "iaea_plan_ref",
    "request_date",
    "channel",
    "note_verbale_reference",
    "contact_name",
    "contact_organization",
    "contact_email",
    "contact_phone",
];

/// The form field a violation path names.
pub fn field_of(path: &str) -> Option<String> {
    let p = path.strip_prefix("need.").unwrap_or(path);
    let p = p.split('[').next().unwrap_or(p);
    let id = match p {
        "estimated_budget.currency_code" => "estimated_budget_currency".to_owned(),
        "estimated_budget" | "estimated_budget.minor_units" => "estimated_budget_amount".to_owned(),
        other => other.replace('.', "_"),
    };
    FORM_FIELDS.contains(&id.as_str()).then_some(id)
}

fn codes<D: Copy>(
    form: &Params,
    name: &str,
    from: fn(&str) -> Option<D>,
    out: impl Fn(D) -> i32,
    v: &mut Violations,
) -> Vec<i32> {
    let mut r = Vec::new();
    for c in form.all(name) {
        match from(c) {
            Some(d) => r.push(out(d)),
            None => v.add(
                name,
                format!("'{}' is not one of the choices", crate::app::short(c)),
            ),
        }
    }
    r
}

fn code<D: Copy>(
    form: &Params,
    name: &str,
    from: fn(&str) -> Option<D>,
    out: impl Fn(D) -> i32,
    v: &mut Violations,
) -> i32 {
    codes(form, name, from, out, v)
        .first()
        .copied()
        .unwrap_or(0)
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ' ', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form as the `pb::Need` a gRPC client would send; problems of the form itself
/// (an unknown choice, an amount that is no number) go to `v`.
pub fn need_of(form: &Params, v: &mut Violations) -> pb::Need {
    let budget = match (
        form.get("estimated_budget_currency"),
        form.get("estimated_budget_amount"),
    ) {
        (_, "") => None,
        (cur, amount) => match crate::cli::money::parse_parts(cur, amount) {
            Ok(m) => Some(m),
            Err(e) => {
                v.add("estimated_budget", e);
                None
            }
        },
    };
    let contact = pb::ContactPoint {
        name: form.get("contact_name").to_owned(),
        email: form.get("contact_email").to_owned(),
        phone: form.get("contact_phone").to_owned(),
        organization: form.get("contact_organization").to_owned(),
    };
    let has_contact = [
        &contact.name,
        &contact.email,
        &contact.phone,
        &contact.organization,
    ]
    .iter()
    .any(|x| !x.is_empty());
    pb::Need {
        requester_party_id: form.get("requester_party_id").to_owned(),
        title: form.get("title").to_owned(),
        description: form.raw("description").trim().to_owned(),
        area: code(form, "area", Area::from_code, |d| enums::AREA.out(d), v),
        sub_areas: codes(
            form,
            "sub_areas",
            SubArea::from_full_code,
            |d| enums::SUB_AREA.out(d),
            v,
        ),
        weapon_domains: codes(
            form,
            "weapon_domains",
            WeaponDomain::from_code,
            |d| enums::WEAPON_DOMAIN.out(d),
            v,
        ),
        assistance_kinds: codes(
            form,
            "assistance_kinds",
            AssistanceKind::from_code,
            |d| enums::ASSISTANCE_KIND.out(d),
            v,
        ),
        priority: code(
            form,
            "priority",
            Priority::from_code,
            |d| enums::PRIORITY.out(d),
            v,
        ),
        wanted_from: form.get("wanted_from").to_owned(),
        needed_by: form.get("needed_by").to_owned(),
        estimated_budget: budget,
        accepted_funding_modes: codes(
            form,
            "accepted_funding_modes",
            FundingMode::from_code,
            |d| enums::FUNDING_MODE.out(d),
            v,
        ),
        preferred_funding_mode: code(
            form,
            "preferred_funding_mode",
            FundingMode::from_code,
            |d| enums::FUNDING_MODE.out(d),
            v,
        ),
        languages: split_list(form.get("languages")),
        country_code: form.get("country_code").to_ascii_uppercase(),
        beneficiary_countries: split_list(&form.get("beneficiary_countries").to_ascii_uppercase()),
        visibility: code(
            form,
            "visibility",
            Visibility::from_code,
            |d| enums::VISIBILITY.out(d),
            v,
        ),
        public_summary: form.raw("public_summary").trim().to_owned(),
        assistance_received: form.raw("assistance_received").trim().to_owned(),
        national_action_plan_ref: form.get("national_action_plan_ref").to_owned(),
        iaea_plan_ref: form.get("iaea_plan_ref").to_owned(),
        request_date: form.get("request_date").to_owned(),
        channel: code(
            form,
            "channel",
            SubmissionChannel::from_code,
            |d| enums::CHANNEL.out(d),
            v,
        ),
        note_verbale_reference: form.get("note_verbale_reference").to_owned(),
        contact: has_contact.then_some(contact),
        ..pb::Need::default()
    }
}

/// A stored need as the values of the form.
fn params_of(n: &Need) -> Params {
    let f = &n.fields;
    let mut p: Vec<(String, String)> = vec![
        ("title".into(), f.title.clone()),
        ("description".into(), f.description.clone()),
        (
            "area".into(),
            f.area.map(|a| a.code().to_owned()).unwrap_or_default(),
        ),
        ("priority".into(), f.priority.code().into()),
        (
            "wanted_from".into(),
            f.wanted_from.map(|d| d.to_string()).unwrap_or_default(),
        ),
        (
            "needed_by".into(),
            f.needed_by.map(|d| d.to_string()).unwrap_or_default(),
        ),
        (
            "preferred_funding_mode".into(),
            f.preferred_funding_mode
                .map(|m| m.code().to_owned())
                .unwrap_or_default(),
        ),
        ("languages".into(), f.languages.join(", ")),
        ("country_code".into(), f.country_code.clone()),
        (
            "beneficiary_countries".into(),
            f.beneficiary_countries.join(", "),
        ),
        ("visibility".into(), f.visibility.code().into()),
        ("public_summary".into(), f.public_summary.clone()),
        ("assistance_received".into(), f.assistance_received.clone()),
        (
            "national_action_plan_ref".into(),
            f.national_action_plan_ref.clone(),
        ),
        ("iaea_plan_ref".into(), f.iaea_plan_ref.clone()),
        (
            "request_date".into(),
            f.request_date.map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("channel".into(), f.channel.code().into()),
        (
            "note_verbale_reference".into(),
            f.note_verbale_reference.clone(),
        ),
        ("contact_name".into(), f.contact.name.clone()),
        ("contact_email".into(), f.contact.email.clone()),
        ("contact_phone".into(), f.contact.phone.clone()),
        (
            "contact_organization".into(),
            f.contact.organization.clone(),
        ),
        ("etag".into(), n.version.to_string()),
    ];
    if let Some(b) = f.estimated_budget {
        p.push((
            "estimated_budget_currency".into(),
            b.currency.as_str().to_owned(),
        ));
        p.push((
            "estimated_budget_amount".into(),
            clearinghouse_reports::money::plain_decimal(b.minor_units, b.currency.as_str()),
        ));
    }
    p.extend(
        f.sub_areas
            .iter()
            .map(|s| ("sub_areas".to_owned(), s.full_code())),
    );
    p.extend(
        f.weapon_domains
            .iter()
            .map(|s| ("weapon_domains".to_owned(), s.code().to_owned())),
    );
    p.extend(
        f.assistance_kinds
            .iter()
            .map(|s| ("assistance_kinds".to_owned(), s.code().to_owned())),
    );
    p.extend(
        f.accepted_funding_modes
            .iter()
            .map(|s| ("accepted_funding_modes".to_owned(), s.code().to_owned())),
    );
    Params::from_pairs(p)
}

fn sub_area_options() -> Vec<(String, String)> {
    SubArea::ALL
        .iter()
        .map(|s| {
            (
                s.full_code(),
                format!("{} — {}", humanize(s.area().code()), humanize(s.code())),
            )
        })
        .collect()
}

/// The need form, filled with `values`.
async fn form_page(
    ctx: &Ctx<'_>,
    action: &str,
    heading: &str,
    values: &Params,
    errors: &Errors,
) -> Markup {
    let v = values;
    let parties = if ctx.is_broker() && action == "/console/needs" {
        let listed = gather(|page| ctx.app.list_parties(PartyFilter::default(), page)).await;
        listed
            .map(|(ps, _)| {
                ps.into_iter()
                    .filter(|p| p.kind != PartyKind::GpInitiative)
                    .map(|p| {
                        (
                            p.id.0.clone(),
                            format!("{} ({})", p.fields.display_name, p.id.0),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let modes = fields::options(FundingMode::ALL, FundingMode::code);
    html! {
        (error_summary(errors))
        h1 { (heading) }
        form method="post" action=(action) novalidate {
            (csrf(&ctx.csrf))
            @if !v.get("etag").is_empty() { input type="hidden" name="etag" value=(v.get("etag")); }
            @if !parties.is_empty() {
                (html::select("requester_party_id", "Requesting party", Some("The State or organization whose request this is."), &parties, v.get("requester_party_id"), Some("Choose a party"), errors))
            }
            h2 { "What is needed" }
            (html::text_input("title", "Title", Some("At most 200 characters, e.g. 'Translation of the national control list'."), v.get("title"), "text", errors))
            (html::textarea("description", "Description", Some("What is needed, for which institutions, and the expected outcome."), v.raw("description"), 6, errors))
            (html::select("area", "Thematic area", Some("One need covers one area; record a need per area."), &fields::options(Area::ALL, Area::code), v.get("area"), Some("Choose an area"), errors))
            (html::choices("sub_areas", "Sub-areas", Some("Choose at least one, all in the need's area."), &sub_area_options(), &v.all("sub_areas"), true, errors))
            (html::choices("assistance_kinds", "Kinds of help", Some("Choose at least one."), &fields::options(AssistanceKind::ALL, AssistanceKind::code), &v.all("assistance_kinds"), true, errors))
            (html::choices("weapon_domains", "Weapon domains", Some("Leave all unticked to mean every domain."), &fields::options(WeaponDomain::ALL, WeaponDomain::code), &v.all("weapon_domains"), true, errors))
            (html::choices("priority", "Priority", None, &fields::options(Priority::ALL, Priority::code), &[if v.get("priority").is_empty() { "MEDIUM" } else { v.get("priority") }], false, errors))
            h2 { "When, where and how much" }
            (html::text_input("wanted_from", "Wanted from", Some("For example 2026-03-01."), v.get("wanted_from"), "date", errors))
            (html::text_input("needed_by", "Needed by", Some("For example 2026-12-31."), v.get("needed_by"), "date", errors))
            (html::text_input("country_code", "Country (ISO 3166 alpha-3)", Some("For example KEN. A State's own requests take its country."), v.get("country_code"), "text", errors))
            (html::text_input("beneficiary_countries", "Beneficiary countries", Some("For regional requests: ISO3 codes separated by commas."), v.get("beneficiary_countries"), "text", errors))
            (html::text_input("estimated_budget_currency", "Budget currency", Some("ISO 4217 code, e.g. USD."), v.get("estimated_budget_currency"), "text", errors))
            (html::text_input("estimated_budget_amount", "Estimated budget", Some("In whole units of the currency, e.g. 250000 or 250,000.50."), v.get("estimated_budget_amount"), "text", errors))
            (html::choices("accepted_funding_modes", "Funding modes accepted", Some("Choose at least one."), &modes, &v.all("accepted_funding_modes"), true, errors))
            (html::select("preferred_funding_mode", "Preferred funding mode", None, &modes, v.get("preferred_funding_mode"), Some("No preference"), errors))
            (html::text_input("languages", "Working languages", Some("ISO 639-1 codes separated by commas, e.g. en, fr."), v.get("languages"), "text", errors))
            h2 { "Publication" }
            (html::choices("visibility", "Who may see it once circulated", None, &fields::options(Visibility::ALL, Visibility::code), &[if v.get("visibility").is_empty() { "PUBLIC" } else { v.get("visibility") }], false, errors))
            (html::textarea("public_summary", "Public summary", Some("What may be published; the description stays with the Committee and providers."), v.raw("public_summary"), 3, errors))
            h2 { "Background" }
            (html::text_input("request_date", "Date of the request", None, v.get("request_date"), "date", errors))
            (html::select("channel", "How the request came", None, &fields::options(SubmissionChannel::ALL, SubmissionChannel::code), v.get("channel"), Some("Not stated"), errors))
            (html::text_input("note_verbale_reference", "Note verbale reference", None, v.get("note_verbale_reference"), "text", errors))
            (html::text_input("national_action_plan_ref", "National action plan item", None, v.get("national_action_plan_ref"), "text", errors))
            (html::text_input("iaea_plan_ref", "IAEA plan item", None, v.get("iaea_plan_ref"), "text", errors))
            (html::textarea("assistance_received", "Assistance already received in this area", None, v.raw("assistance_received"), 3, errors))
            h2 { "Point of contact" }
            p.hint { "Seen only by the Committee and by you, never by providers or in reports." }
            (html::text_input("contact_name", "Name", None, v.get("contact_name"), "text", errors))
            (html::text_input("contact_organization", "Organization", None, v.get("contact_organization"), "text", errors))
            (html::text_input("contact_email", "Email", None, v.get("contact_email"), "email", errors))
            (html::text_input("contact_phone", "Telephone", None, v.get("contact_phone"), "tel", errors))
            button.button type="submit" { "Save as draft" }
        }
    }
}

/// `GET /console/needs/new`.
pub async fn new(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mut values = ctx.query.clone();
    if ctx.who.role == clearinghouse_domain::Role::Requester
        && values.get("country_code").is_empty()
        && let Some(p) = &ctx.who.party
        && let Ok(party) = ctx.app.get_party(p.0.clone()).await
    {
        values = values.with("country_code", &party.fields.country_code);
    }
    let page = form_page(
        ctx,
        "/console/needs",
        "Record a need",
        &values,
        &Errors::default(),
    )
    .await;
    Ok(Reply::page("Record a need", page))
}

/// `POST /console/needs`.
pub async fn create(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mut v = Violations::new("need");
    let msg = need_of(&ctx.form, &mut v);
    let fields = need_convert::fields_in(&mut v, &msg);
    let requester = requester_of(ctx, &msg.requester_party_id);
    match ctx
        .app
        .create_need(&ctx.who, requester, fields, v, None)
        .await
    {
        Ok(n) => Ok(Reply::done(
            format!("/console/needs/{}", encode(&n.id.0)),
            "Need recorded as a draft",
        )),
        Err(e) => match form_errors(&e, "title", &field_of) {
            Some(errors) => {
                let page =
                    form_page(ctx, "/console/needs", "Record a need", &ctx.form, &errors).await;
                Ok(Reply::invalid("Record a need", page))
            }
            None => Err(e),
        },
    }
}

/// `GET /console/needs/{id}/edit`.
pub async fn edit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let n = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let action = format!("/console/needs/{}/edit", encode(&n.id.0));
    let page = form_page(
        ctx,
        &action,
        &format!("Edit: {}", n.fields.title),
        &params_of(&n),
        &Errors::default(),
    )
    .await;
    Ok(Reply::page("Edit a need", page))
}

/// `POST /console/needs/{id}/edit`.
pub async fn update(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mut v = Violations::new("need");
    let msg = need_of(&ctx.form, &mut v);
    let fields = need_convert::fields_in(&mut v, &msg);
    let etag = ctx.form.get("etag").parse().ok();
    let mask = EDITED.iter().map(|s| (*s).to_owned()).collect();
    let back = format!("/console/needs/{}", encode(&ctx.id));
    match ctx
        .app
        .update_need(&ctx.who, ctx.id.clone(), etag, fields, mask, v)
        .await
    {
        Ok(_) => Ok(Reply::done(back, "Need saved")),
        Err(e) => match form_errors(&e, "title", &field_of) {
            Some(errors) => {
                let action = format!("/console/needs/{}/edit", encode(&ctx.id));
                let page = form_page(ctx, &action, "Edit a need", &ctx.form, &errors).await;
                Ok(Reply::invalid("Edit a need", page))
            }
            None if matches!(e, ApiError::NotFound { .. }) => Err(e),
            None => Ok(Reply::failed(
                back,
                super::sentence(e.into_status().message()),
            )),
        },
    }
}
