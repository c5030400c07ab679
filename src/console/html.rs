//! The console's page shell and building blocks, as `maud` templates compiled into the
//! binary (every value escaped unless marked pre-escaped).
//!
//! Conventions followed (GOV.UK Design System): a skip link and `lang="en"`; one `<h1>`
//! per page; an error summary at the top linking to each bad field, with the field's own
//! message beside it and what was typed kept; visible labels and hints (never a
//! placeholder alone); tables with captions; status as text; a visible focus ring from the
//! stylesheet. No script anywhere: forms POST and the server redirects.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use clearinghouse_domain::{Principal, Role, Timestamp};

use super::{form::Params, session::Flash};

/// A field's problem, shown in the summary and beside the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's `id` (the summary links to `#id`).
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// The problems of one form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// Adds a problem with `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// The first message about `field`.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who is signed in, for the header.
#[derive(Debug, Clone)]
pub struct Viewer<'a> {
    /// The principal.
    pub who: &'a Principal,
    /// Its session's CSRF token (the sign-out form).
    pub csrf: &'a str,
}

/// The navigation of each role: what its people come to the console for.
fn nav(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Admin => &[
            ("Worklist", "/console/worklist"),
            ("Needs", "/console/needs"),
            ("Offers", "/console/offers"),
            ("Matches", "/console/matches"),
            ("Allocation plan", "/console/plan"),
            ("Reports", "/console/reports"),
            ("Audit trail", "/console/audit"),
        ],
        Role::Broker => &[
            ("Worklist", "/console/worklist"),
            ("Needs", "/console/needs"),
            ("Offers", "/console/offers"),
            ("Matches", "/console/matches"),
            ("Allocation plan", "/console/plan"),
            ("Reports", "/console/reports"),
            ("New need from text", "/console/intake"),
        ],
        Role::Requester => &[
            ("Our needs", "/console/needs"),
            ("New need", "/console/needs/new"),
            ("New need from text", "/console/intake"),
            ("Matches", "/console/matches"),
        ],
        Role::Provider => &[
            ("Our offers", "/console/offers"),
            ("Matches", "/console/matches"),
            ("Reports", "/console/reports"),
        ],
        Role::Analyst => &[("Reports", "/console/reports")],
    }
}

/// The first page of a role.
pub fn home_of(role: Role) -> &'static str {
    nav(role)
        .first()
        .map_or("/console/reports", |(_, href)| href)
}

/// A whole page: head, skip link, header with navigation, the flash, `body`.
pub fn page(
    title: &str,
    viewer: Option<&Viewer<'_>>,
    flash: Option<&Flash>,
    current: &str,
    body: &Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Clearinghouse" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                header.site-header {
                    div.wrap {
                        a.brand href="/console/" { "Clearinghouse" }
                        span.tagline { "Assistance under resolution 1540" }
                        @if let Some(v) = viewer {
                            div.who {
                                "Signed in as " strong { (v.who.display_name) } " (" (role_name(v.who.role)) ")"
                                form.inline method="post" action="/console/sign-out" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button.link-button type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    @if let Some(v) = viewer {
                        nav.site-nav aria-label="Main" {
                            ul.wrap {
                                @for (label, href) in nav(v.who.role) {
                                    li {
                                        @if current.starts_with(href) {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main .wrap tabindex="-1" {
                    @if let Some(f) = flash {
                        (flash_banner(f))
                    }
                    (body)
                }
                footer.site-footer {
                    div.wrap {
                        p { "Signed-in sessions end after 30 minutes without activity and when the server restarts." }
                    }
                }
            }
        }
    }
}

fn flash_banner(f: &Flash) -> Markup {
    match f {
        Flash::Done(m) => html! {
            div.banner.success role="status" { h2.banner-title { "Done" } p { (m) } }
        },
        Flash::Failed(m) => html! {
            div.error-summary role="alert" tabindex="-1" {
                h2.error-summary-title { "There is a problem" }
                p { (m) }
            }
        },
    }
}

/// A role as people say it.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Admin => "administrator",
        Role::Broker => "broker",
        Role::Requester => "requesting party",
        Role::Provider => "provider",
        Role::Analyst => "analyst",
    }
}

/// The error summary: a heading and a link to each bad field.
pub fn error_summary(errors: &Errors) -> Markup {
    if errors.is_empty() {
        return html! {};
    }
    html! {
        div.error-summary role="alert" tabindex="-1" aria-labelledby="error-summary-title" {
            h2.error-summary-title #error-summary-title { "There is a problem" }
            ul {
                @for e in &errors.0 {
                    li { a href={"#" (e.field)} { (e.message) } }
                }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

fn field_error(id: &str, errors: &Errors) -> Markup {
    html! {
        @if let Some(m) = errors.of(id) {
            p.field-error #{(id) "-error"} { span.visually-hidden { "Error: " } (m) }
        }
    }
}

fn describedby(id: &str, hint: Option<&str>, errors: &Errors) -> Option<String> {
    let mut ids = Vec::new();
    if hint.is_some() {
        ids.push(format!("{id}-hint"));
    }
    if errors.of(id).is_some() {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A one-line text input with its label, hint and error; `kind` is the input type.
pub fn text_input(
    id: &str,
    label: &str,
    hint: Option<&str>,
    value: &str,
    kind: &str,
    errors: &Errors,
) -> Markup {
    let bad = errors.of(id).is_some();
    html! {
        div.field.(if bad { "field-with-error" } else { "" }) {
            label.label for=(id) { (label) }
            @if let Some(h) = hint { p.hint #{(id) "-hint"} { (h) } }
            (field_error(id, errors))
            input.input #(id) name=(id) type=(kind) value=(value)
                aria-describedby=[describedby(id, hint, errors)]
                aria-invalid=[bad.then_some("true")];
        }
    }
}

/// A multi-line text input.
pub fn textarea(
    id: &str,
    label: &str,
    hint: Option<&str>,
    value: &str,
    rows: u32,
    errors: &Errors,
) -> Markup {
    let bad = errors.of(id).is_some();
    html! {
        div.field.(if bad { "field-with-error" } else { "" }) {
            label.label for=(id) { (label) }
            @if let Some(h) = hint { p.hint #{(id) "-hint"} { (h) } }
            (field_error(id, errors))
            textarea.textarea #(id) name=(id) rows=(rows)
                aria-describedby=[describedby(id, hint, errors)]
                aria-invalid=[bad.then_some("true")] { (value) }
        }
    }
}

/// A select of `(value, label)` options; an empty first option when `blank` is given.
pub fn select(
    id: &str,
    label: &str,
    hint: Option<&str>,
    options: &[(String, String)],
    selected: &str,
    blank: Option<&str>,
    errors: &Errors,
) -> Markup {
    let bad = errors.of(id).is_some();
    html! {
        div.field.(if bad { "field-with-error" } else { "" }) {
            label.label for=(id) { (label) }
            @if let Some(h) = hint { p.hint #{(id) "-hint"} { (h) } }
            (field_error(id, errors))
            select.select #(id) name=(id)
                aria-describedby=[describedby(id, hint, errors)]
                aria-invalid=[bad.then_some("true")] {
                @if let Some(b) = blank { option value="" { (b) } }
                @for (v, l) in options {
                    option value=(v) selected[v == selected] { (l) }
                }
            }
        }
    }
}

/// A group of checkboxes (`multiple`) or radios in a fieldset with a legend.
pub fn choices(
    id: &str,
    legend: &str,
    hint: Option<&str>,
    options: &[(String, String)],
    checked: &[&str],
    multiple: bool,
    errors: &Errors,
) -> Markup {
    let bad = errors.of(id).is_some();
    let kind = if multiple { "checkbox" } else { "radio" };
    html! {
        div.field.(if bad { "field-with-error" } else { "" }) #(id) {
            fieldset.fieldset aria-describedby=[describedby(id, hint, errors)] {
                legend.legend { (legend) }
                @if let Some(h) = hint { p.hint #{(id) "-hint"} { (h) } }
                (field_error(id, errors))
                div.choices {
                    @for (i, (v, l)) in options.iter().enumerate() {
                        div.choice {
                            input #{(id) "-" (i)} name=(id) type=(kind) value=(v)
                                checked[checked.contains(&v.as_str())];
                            label for={(id) "-" (i)} { (l) }
                        }
                    }
                }
            }
        }
    }
}

/// A summary list of `(key, value)` rows.
pub fn summary(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl.summary-list {
            @for (k, v) in rows {
                div.summary-row { dt { (k) } dd { (v) } }
            }
        }
    }
}

/// A status shown as text in a tag (the colour only repeats what the text says).
pub fn status_tag(code: &str) -> Markup {
    let class = match code {
        "DRAFT" | "PROPOSED" | "SUBMITTED" => "tag-grey",
        "AUTHENTICATED" | "ACCEPTED_BY_REQUESTER" | "ACCEPTED_BY_PROVIDERS" => "tag-blue",
        "CIRCULATED" | "PARTIALLY_MATCHED" | "ACTIVE" | "PARTIALLY_COMMITTED" => "tag-turquoise",
        "MATCHED" | "AGREED" | "IN_IMPLEMENTATION" | "FULFILLED" | "COMPLETED" => "tag-green",
        "REJECTED" | "DECLINED" | "CANCELLED" | "WITHDRAWN" | "LAPSED" | "EXPIRED" => "tag-red",
        _ => "tag-grey",
    };
    html! { strong.tag.(class) { (humanize(code)) } }
}

/// `EXPORT_TRANSSHIPMENT` as "Export transshipment".
pub fn humanize(code: &str) -> String {
    let words = clearinghouse_reports::render::svg::humanize(code);
    words
        .split(' ')
        .map(|w| match w {
            "Api" | "api" => "API",
            "Iaea" | "iaea" => "IAEA",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An instant as `YYYY-MM-DD HH:MM UTC`.
pub fn when(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1000);
    let day = t.date();
    let in_day = secs.rem_euclid(86_400);
    format!("{day} {:02}:{:02} UTC", in_day / 3600, (in_day % 3600) / 60)
}

/// Pagination links for page `page` of `pages`, keeping the rest of `query`.
pub fn pagination(path: &str, query: &Params, page: usize, pages: usize) -> Markup {
    if pages <= 1 {
        return html! {};
    }
    html! {
        nav.pagination aria-label="Pages" {
            ul {
                @if page > 1 {
                    li { a rel="prev" href=(query.with("page", &(page - 1).to_string()).url(path)) { "Previous page" } }
                }
                li { "Page " (page) " of " (pages) }
                @if page < pages {
                    li { a rel="next" href=(query.with("page", &(page + 1).to_string()).url(path)) { "Next page" } }
                }
            }
        }
    }
}

/// A column header that sorts by `key` (a second click reverses), as a link.
pub fn sort_header(path: &str, query: &Params, label: &str, key: &str) -> Markup {
    let current = query.get("sort");
    let (next, state) = if current == key {
        (format!("-{key}"), Some("ascending"))
    } else if current.strip_prefix('-') == Some(key) {
        (key.to_owned(), Some("descending"))
    } else {
        (key.to_owned(), None)
    };
    let url = query.with("sort", &next).with("page", "").url(path);
    html! {
        th scope="col" aria-sort=[state] {
            a href=(url) { (label) @if let Some(s) = state { span.visually-hidden { " (sorted " (s) ")" } } }
        }
    }
}

/// Report markup from the reports crate (already escaped there).
pub fn trusted(html: String) -> Markup {
    PreEscaped(html)
}

/// A button that POSTs to `action` with the CSRF token and `fields`.
pub fn post_button(
    action: &str,
    label: &str,
    token: &str,
    fields: &[(&str, &str)],
    class: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(token))
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            button.button.(class) type="submit" { (label) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_summary_links_to_each_field_and_the_field_shows_its_message() {
        let mut e = Errors::default();
        e.add("title", "Enter a title");
        let s = error_summary(&e).into_string();
        assert!(
            s.contains("href=\"#title\"") && s.contains("There is a problem"),
            "{s}"
        );
        let f = text_input("title", "Title", None, "typed <value>", "text", &e).into_string();
        assert!(
            f.contains("value=\"typed &lt;value&gt;\""),
            "kept and escaped: {f}"
        );
        assert!(
            f.contains("aria-invalid=\"true\"") && f.contains("Enter a title"),
            "{f}"
        );
        assert!(
            f.contains("<label class=\"label\" for=\"title\">Title</label>"),
            "{f}"
        );
    }

    #[test]
    fn instants_read_in_utc() {
        assert_eq!(when(Timestamp(1_700_000_000_000)), "2023-11-14 22:13 UTC");
    }
}
