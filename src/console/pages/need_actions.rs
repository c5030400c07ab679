//! What can be done to a need from its page: submit, authenticate, reject, circulate,
//! withdraw, consent, feedback, close. Each form carries the etag the page was drawn
//! from, so a change made meanwhile is refused rather than overwritten. Rejecting,
//! withdrawing and consenting commit a party: they go through a form for the reason and a
//! "check your answers" page first (`step=confirm` performs, `step=edit` goes back).

use maud::{Markup, html};

use clearinghouse_domain::{Need, NeedFields, NeedStatus, PublicationConsent, Role, Violations};

use super::{Ctx, Reply, form_errors, sentence};
use crate::{
    app::needs::{NeedAction, TransitionInput},
    console::{
        form::encode,
        html::{self, Errors, csrf, error_summary, humanize, post_button, summary},
        routes::Action,
    },
    error::ApiError,
};

fn url(n: &Need, action: &str) -> String {
    format!("/console/needs/{}/{action}", encode(&n.id.0))
}

/// The actions the viewer may take on `n`, as buttons and small forms.
pub fn panel(ctx: &Ctx<'_>, n: &Need) -> Markup {
    let etag = n.version.to_string();
    let s = n.status;
    let t = ctx.csrf.as_str();
    let e = [("etag", etag.as_str())];
    let open = !matches!(
        s,
        NeedStatus::Withdrawn
            | NeedStatus::Rejected
            | NeedStatus::Lapsed
            | NeedStatus::Closed
            | NeedStatus::Fulfilled
    );
    let own = ctx.who.role != Role::Requester || ctx.who.party.as_ref() == Some(&n.requester);
    let none = Errors::default();
    html! {
        div.actions {
            @if ctx.may("need.edit") && own && matches!(s, NeedStatus::Draft | NeedStatus::Submitted) {
                a.button.secondary href=(url(n, "edit")) { "Edit" }
            }
            @if ctx.may("need.submit") && own && s == NeedStatus::Draft {
                (post_button(&url(n, "submit"), "Submit to the Committee", t, &e, ""))
            }
            @if ctx.may("need.authenticate") && s == NeedStatus::Submitted {
                (post_button(&url(n, "authenticate"), "Authenticate", t, &e, ""))
            }
            @if ctx.may("need.circulate") && s == NeedStatus::Authenticated {
                (post_button(&url(n, "circulate"), "Circulate to providers", t, &e, ""))
            }
            @if ctx.may("need.close") && s == NeedStatus::Fulfilled {
                (post_button(&url(n, "close"), "Close", t, &e, ""))
            }
        }
        @if ctx.may("need.reject") && s == NeedStatus::Submitted {
            details { summary { "Reject this request" }
                form method="post" action=(url(n, "reject")) {
                    (csrf(t)) input type="hidden" name="etag" value=(etag);
                    (html::textarea("reason", "Reason for rejecting", Some("Say why the request is informal or not in proper form; the requesting party sees this."), "", 3, &none))
                    button.button.warning type="submit" { "Continue" }
                }
            }
        }
        @if ctx.may("need.withdraw") && own && open && s != NeedStatus::Submitted {
            details { summary { "Withdraw this need" }
                form method="post" action=(url(n, "withdraw")) {
                    (csrf(t)) input type="hidden" name="etag" value=(etag);
                    (html::textarea("reason", "Reason for withdrawing", None, "", 3, &none))
                    button.button.warning type="submit" { "Continue" }
                }
            }
        }
        @if ctx.may("need.consent") && ctx.who.role == Role::Requester && own && open {
            details { summary { "Publication consent" }
                form method="post" action=(url(n, "consent")) {
                    (csrf(t)) input type="hidden" name="etag" value=(etag);
                    (html::choices("consent", "May the Committee publish a summary and send this need to providers?",
                        Some("Withholding consent keeps the need with the Committee only, at once."),
                        &[("GRANTED".into(), "Yes, consent is given".into()), ("WITHHELD".into(), "No, consent is withheld".into())],
                        &[], false, &none))
                    button.button type="submit" { "Continue" }
                }
            }
        }
        @if ctx.may("need.feedback") && own && s != NeedStatus::Draft {
            details { summary { "Add feedback on how the request was met" }
                form method="post" action=(url(n, "feedback")) {
                    (csrf(t)) input type="hidden" name="etag" value=(etag);
                    (html::textarea("text", "Feedback", None, "", 3, &none))
                    button.button.secondary type="submit" { "Add feedback" }
                }
            }
        }
    }
}

/// A reason form (shown again with its problem, or to change the reason).
fn reason_page(ctx: &Ctx<'_>, n: &Need, action: &str, title: &str, errors: &Errors) -> Markup {
    html! {
        (error_summary(errors))
        span.caption { (n.fields.title) }
        h1 { (title) }
        form method="post" action=(url(n, action)) {
            (csrf(&ctx.csrf)) input type="hidden" name="etag" value=(ctx.form.get("etag"));
            (html::textarea("reason", "Reason", None, ctx.form.raw("reason"), 4, errors))
            button.button type="submit" { "Continue" }
        }
        p { a href={"/console/needs/" (encode(&n.id.0))} { "Cancel and go back to the need" } }
    }
}

/// The "check your answers" page before a committing action.
pub fn check_page(
    ctx: &Ctx<'_>,
    heading: &str,
    rows: &[(&str, Markup)],
    action_url: &str,
    fields: &[(&str, &str)],
    confirm: &str,
    back: &str,
) -> Markup {
    html! {
        h1 { "Check your answers before " (heading) }
        (summary(rows))
        p { "Nothing is done until you confirm." }
        form method="post" action=(action_url) {
            (csrf(&ctx.csrf))
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            input type="hidden" name="step" value="confirm";
            @if ["reject", "withdraw", "declin", "cancel"].iter().any(|w| heading.contains(w)) {
                button.button.warning type="submit" { (confirm) }
            } @else {
                button.button type="submit" { (confirm) }
            }
        }
        form method="post" action=(action_url) {
            (csrf(&ctx.csrf))
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            input type="hidden" name="step" value="edit";
            button.button.secondary type="submit" { "Change your answers" }
        }
        p { a href=(back) { "Cancel" } }
    }
}

fn etag(ctx: &Ctx<'_>) -> Option<u64> {
    ctx.form.get("etag").parse().ok()
}

/// `POST /console/needs/{id}/<action>`.
pub async fn act(ctx: &Ctx<'_>, action: Action) -> Result<Reply, ApiError> {
    let n = ctx.app.get_need(&ctx.who, ctx.id.clone()).await?;
    let back = format!("/console/needs/{}", encode(&n.id.0));
    let step = ctx.form.get("step");
    let (what, verb, done) = match action {
        Action::NeedSubmit => (NeedAction::Submit, "", "Need submitted to the Committee"),
        Action::NeedAuthenticate => (NeedAction::Authenticate, "", "Need authenticated"),
        Action::NeedCirculate => (NeedAction::Circulate, "", "Need circulated to providers"),
        Action::NeedClose => (NeedAction::Close, "", "Need closed"),
        Action::NeedFeedback => (NeedAction::AddFeedback, "", "Feedback added"),
        Action::NeedReject => (
            NeedAction::Reject,
            "rejecting this request",
            "Request rejected",
        ),
        Action::NeedWithdraw => (
            NeedAction::Withdraw,
            "withdrawing this need",
            "Need withdrawn",
        ),
        Action::NeedConsent => return consent(ctx, &n, &back).await,
        _ => return Err(ApiError::not_found("page", ctx.path.clone())),
    };
    let text = match what {
        NeedAction::AddFeedback => ctx.form.raw("text").trim().to_owned(),
        _ => ctx.form.raw("reason").trim().to_owned(),
    };
    if !verb.is_empty() && step != "confirm" {
        let name = if what == NeedAction::Reject {
            "reject"
        } else {
            "withdraw"
        };
        let title = if what == NeedAction::Reject {
            "Reject this request"
        } else {
            "Withdraw this need"
        };
        let mut errors = Errors::default();
        if text.is_empty() && step != "edit" {
            errors.add("reason", "Enter the reason");
        }
        if text.is_empty() || step == "edit" {
            return Ok(Reply::invalid(
                title,
                reason_page(ctx, &n, name, title, &errors),
            ));
        }
        let etag_s = ctx.form.get("etag");
        let page = check_page(
            ctx,
            verb,
            &[
                ("Need", html! { (n.fields.title) }),
                ("Action", html! { (humanize(name)) }),
                ("Reason", html! { (text) }),
            ],
            &url(&n, name),
            &[("reason", text.as_str()), ("etag", etag_s)],
            if what == NeedAction::Reject {
                "Reject the request"
            } else {
                "Withdraw the need"
            },
            &back,
        );
        return Ok(Reply::page(
            format!("Check your answers before {verb}"),
            page,
        ));
    }
    if what == NeedAction::AddFeedback && text.is_empty() {
        return Ok(Reply::failed(back, "Enter the feedback before adding it."));
    }
    let input = TransitionInput {
        id: n.id.0.clone(),
        etag: etag(ctx),
        text,
    };
    match ctx.app.transition_need(&ctx.who, what, input).await {
        Ok(_) => Ok(Reply::done(back, done)),
        Err(e @ ApiError::NotFound { .. }) => Err(e),
        Err(e) => {
            if let Some(errors) = form_errors(&e, "reason", &|_| Some("reason".to_owned()))
                && !verb.is_empty()
            {
                let name = if what == NeedAction::Reject {
                    "reject"
                } else {
                    "withdraw"
                };
                return Ok(Reply::invalid(
                    "Check the reason",
                    reason_page(ctx, &n, name, "Check the reason", &errors),
                ));
            }
            Ok(Reply::failed(back, sentence(e.into_status().message())))
        }
    }
}

async fn consent(ctx: &Ctx<'_>, n: &Need, back: &str) -> Result<Reply, ApiError> {
    let choice = match ctx.form.get("consent") {
        "GRANTED" => PublicationConsent::Granted,
        "WITHHELD" => PublicationConsent::Withheld,
        _ => {
            return Ok(Reply::failed(
                back,
                "Choose whether consent is given or withheld.",
            ));
        }
    };
    if ctx.form.get("step") != "confirm" {
        let effect = match choice {
            PublicationConsent::Withheld => {
                "The need becomes visible to the Committee only, at once. Matches already proposed stay for the Committee to decide on."
            }
            _ => "The Committee may publish a summary of the need and send it to providers.",
        };
        let page = check_page(
            ctx,
            "answering on publication consent",
            &[
                ("Need", html! { (n.fields.title) }),
                ("Publication consent", html! { (humanize(choice.code())) }),
                ("What happens", html! { (effect) }),
            ],
            &url(n, "consent"),
            &[("consent", choice.code()), ("etag", ctx.form.get("etag"))],
            "Confirm the answer",
            back,
        );
        return Ok(Reply::page("Check your answers", page));
    }
    let fields = NeedFields {
        publication_consent: choice,
        ..NeedFields::default()
    };
    let out = ctx
        .app
        .update_need(
            &ctx.who,
            n.id.0.clone(),
            etag(ctx),
            fields,
            vec!["publication_consent".to_owned()],
            Violations::new("need"),
        )
        .await;
    match out {
        Ok(_) => Ok(Reply::done(
            back,
            format!("Publication consent recorded: {}", humanize(choice.code())),
        )),
        Err(e @ ApiError::NotFound { .. }) => Err(e),
        Err(e) => Ok(Reply::failed(back, sentence(e.into_status().message()))),
    }
}
