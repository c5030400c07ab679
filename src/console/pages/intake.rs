//! "New need from text": paste a request (a note verbale, a filled template, an e-mail),
//! see the draft needs the intake reader finds — each code with the words behind it
//! marked in the passages it was read from — and create the chosen ones as drafts
//! through the same `CreateNeed` use case. The reader is deterministic, so the create
//! step reads the same text again rather than trusting drafts sent back by the browser.

use maud::{Markup, PreEscaped, html};

use clearinghouse_domain::{FundingMode, NeedFields, Role, Violations};
use clearinghouse_intake::{Evidence, NeedSuggestion, NeedSuggestions};

use super::{Ctx, Reply, fields, sentence};
use crate::{
    console::{
        form::encode,
        html::{self, Errors, csrf, error_summary, humanize},
    },
    error::ApiError,
};

fn form(ctx: &Ctx<'_>, text: &str, errors: &Errors) -> Markup {
    html! {
        (error_summary(errors))
        h1 { "New need from text" }
        p.lead { "Paste the text of a request. The reader suggests one draft need per thematic area and shows the words behind each suggestion. Nothing is saved until you create the drafts." }
        form method="post" action="/console/intake" {
            (csrf(&ctx.csrf))
            (html::textarea("text", "Text of the request", Some("English, French or Spanish; at most 64 KiB."), text, 14, errors))
            button.button type="submit" { "Read the text" }
        }
    }
}

/// `GET /console/intake`.
pub async fn form_page(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::page(
        "New need from text",
        form(ctx, "", &Errors::default()),
    ))
}

/// Every piece of evidence of a draft.
fn evidence_of(n: &NeedSuggestion) -> Vec<&Evidence> {
    let mut out: Vec<&Evidence> = Vec::new();
    out.extend(n.sub_areas.iter().flat_map(|s| &s.evidence));
    out.extend(n.weapon_domains.iter().flat_map(|c| &c.evidence));
    out.extend(n.assistance_kinds.iter().flat_map(|c| &c.evidence));
    out.extend(n.funding_modes.iter().flat_map(|c| &c.evidence));
    out.extend(n.languages.iter().flat_map(|c| &c.evidence));
    if let Some(s) = &n.requesting_state {
        out.extend(&s.evidence);
    }
    out.extend(n.money.iter().map(|m| &m.evidence));
    out.extend(n.wanted_from.iter().map(|d| &d.evidence));
    out.extend(n.needed_by.iter().map(|d| &d.evidence));
    out
}

/// `text` (which starts at char `offset` of the input) with the spans of `evidence`
/// marked; everything escaped.
pub fn marked(text: &str, offset: u32, evidence: &[&Evidence]) -> Markup {
    let chars: Vec<char> = text.chars().collect();
    let len = u32::try_from(chars.len()).unwrap_or(u32::MAX);
    let mut inside = vec![false; chars.len()];
    for e in evidence {
        let (s, t) = (e.start.saturating_sub(offset), e.end.saturating_sub(offset));
        if e.end <= offset || s >= len {
            continue;
        }
        for flag in inside.iter_mut().take(t.min(len) as usize).skip(s as usize) {
            *flag = true;
        }
    }
    let mut out = String::new();
    let mut open = false;
    for (c, m) in chars.iter().zip(&inside) {
        if *m != open {
            out.push_str(if *m { "<mark>" } else { "</mark>" });
            open = *m;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(*c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    PreEscaped(out)
}

fn draft(i: usize, n: &NeedSuggestion) -> Markup {
    let ev = evidence_of(n);
    html! {
        div.panel {
            h2 { "Draft " (i + 1) ": " (n.title) }
            div.choice {
                input #{"draft-" (i)} type="checkbox" name="draft" value=(i) checked;
                label for={"draft-" (i)} { "Create this draft" }
            }
            (html::summary(&[
                ("Thematic area", html! { (humanize(n.thematic_area.code())) " (confidence " (format!("{:.0} %", n.area_confidence * 100.0)) ")" }),
                ("Sub-areas", html! { (n.sub_areas.iter().map(|s| humanize(s.sub_area.code())).collect::<Vec<_>>().join(", ")) }),
                ("Kinds of help", html! { (n.assistance_kinds.iter().map(|c| humanize(c.code.code())).collect::<Vec<_>>().join(", ")) }),
                ("Weapon domains", html! { (if n.weapon_domains.is_empty() { "All (none named)".to_owned() } else { n.weapon_domains.iter().map(|c| humanize(c.code.code())).collect::<Vec<_>>().join(", ") }) }),
                ("Funding modes", html! { (if n.funding_modes.is_empty() { "Not named (both accepted)".to_owned() } else { n.funding_modes.iter().map(|c| humanize(c.code.code())).collect::<Vec<_>>().join(", ") }) }),
                ("Requesting State", html! { (n.requesting_state.as_ref().map_or("Not named", |s| s.iso3)) }),
                ("Budget", html! { (n.money.as_ref().map_or_else(|| "Not named".to_owned(), |m| fields::money(Some(m.money)))) }),
                ("Needed by", html! { (n.needed_by.as_ref().map_or_else(|| "Not named".to_owned(), |d| d.date.to_string())) }),
            ]))
            h3 { "Read from (the words behind each suggestion are marked)" }
            @for x in &n.excerpts {
                p.evidence { (marked(&x.text, x.start, &ev)) }
            }
        }
    }
}

/// `POST /console/intake`.
pub async fn read(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let text = ctx.form.raw("text").to_owned();
    let s: NeedSuggestions = match ctx.app.suggest_needs(text.clone()).await {
        Ok(s) => s,
        Err(e @ ApiError::Invalid(_)) => {
            let mut errors = Errors::default();
            errors.add("text", sentence(e.into_status().message()));
            return Ok(Reply::invalid(
                "New need from text",
                form(ctx, &text, &errors),
            ));
        }
        Err(e) => return Err(e),
    };
    let body = html! {
        h1 { "Drafts read from the text" }
        p { "Language: " (s.language.code()) ". "
            @if let Some(st) = &s.requesting_state { "Requesting State: " (st.iso3) ". " } }
        @if s.needs.is_empty() {
            p { "The text points to no thematic area of the 1540 taxonomy. Record the need with the form instead." }
            p { a.button href="/console/needs/new" { "Record a need" } }
        } @else {
            form method="post" action="/console/intake/create" {
                (csrf(&ctx.csrf))
                input type="hidden" name="text" value=(text);
                @for (i, n) in s.needs.iter().enumerate() { (draft(i, n)) }
                button.button type="submit" { "Create the chosen drafts" }
            }
        }
        p { a href="/console/intake" { "Read another text" } }
    };
    Ok(Reply::page("Drafts read from the text", body))
}

fn fields_of(n: &NeedSuggestion, text: &str) -> NeedFields {
    let description: Vec<&str> = n.excerpts.iter().map(|x| x.text.as_str()).collect();
    let mut modes: Vec<FundingMode> = n.funding_modes.iter().map(|c| c.code).collect();
    if modes.is_empty() {
        // The text names none: either mode may serve it (as `need suggest --create` does).
        modes = vec![FundingMode::SingleDonor, FundingMode::JointlyFunded];
    }
    NeedFields {
        title: n.title.clone(),
        description: if description.is_empty() {
            text.chars().take(8000).collect()
        } else {
            description.join("\n\n")
        },
        area: Some(n.thematic_area),
        sub_areas: n.sub_areas.iter().map(|s| s.sub_area).collect(),
        weapon_domains: n.weapon_domains.iter().map(|c| c.code).collect(),
        assistance_kinds: n.assistance_kinds.iter().map(|c| c.code).collect(),
        accepted_funding_modes: modes,
        languages: n.languages.iter().map(|l| l.code.to_owned()).collect(),
        estimated_budget: n.money.as_ref().map(|m| m.money),
        wanted_from: n.wanted_from.as_ref().map(|d| d.date),
        needed_by: n.needed_by.as_ref().map(|d| d.date),
        country_code: n
            .requesting_state
            .as_ref()
            .map(|s| s.iso3.to_owned())
            .unwrap_or_default(),
        ..NeedFields::default()
    }
}

/// `POST /console/intake/create`.
pub async fn create(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let text = ctx.form.raw("text").to_owned();
    let chosen: Vec<usize> = ctx
        .form
        .all("draft")
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    if chosen.is_empty() {
        return Ok(Reply::failed(
            "/console/intake",
            "Choose at least one draft to create.",
        ));
    }
    let s = ctx.app.suggest_needs(text.clone()).await?;
    let mut created = Vec::new();
    let mut problems = Vec::new();
    for i in chosen {
        let Some(n) = s.needs.get(i) else { continue };
        let mut fields = fields_of(n, &text);
        let requester = match (&ctx.who.role, &ctx.who.party) {
            (Role::Requester, Some(p)) => {
                fields.country_code.clear();
                p.0.clone()
            }
            _ => n
                .requesting_state
                .as_ref()
                .map(|st| format!("state-{}", st.iso3))
                .unwrap_or_default(),
        };
        match ctx
            .app
            .create_need(&ctx.who, requester, fields, Violations::new("need"), None)
            .await
        {
            Ok(need) => created.push(need),
            Err(e) => problems.push(format!(
                "Draft {} ({}): {}",
                i + 1,
                n.title,
                sentence(e.into_status().message())
            )),
        }
    }
    if created.is_empty() {
        return Ok(Reply::failed("/console/intake", problems.join(" ")));
    }
    let first = format!("/console/needs/{}", encode(&created[0].id.0));
    let mut msg = format!(
        "{} draft need{} created; complete and submit each.",
        created.len(),
        if created.len() == 1 { "" } else { "s" }
    );
    if !problems.is_empty() {
        msg.push(' ');
        msg.push_str(&problems.join(" "));
    }
    let to = if created.len() == 1 {
        first
    } else {
        "/console/needs?status=DRAFT".to_owned()
    };
    Ok(Reply::done(to, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_marked_and_the_rest_escaped() {
        let e = Evidence {
            phrase: "export licensing".into(),
            start: 14,
            end: 30,
        };
        let out = marked("We ask <help> export licensing.", 0, &[&e]).into_string();
        assert_eq!(out, "We ask &lt;help&gt; <mark>export licensing</mark>.");
        let shifted = marked("export licensing", 14, &[&e]).into_string();
        assert_eq!(shifted, "<mark>export licensing</mark>");
    }
}
