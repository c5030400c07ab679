//! Signing in with an API key and out again. The sign-in form carries a token that must
//! equal the one in its own short cookie (no session exists yet to hold it); a good key
//! starts a fresh session — ending any session the browser named — and the key itself is
//! never stored, logged or put in a URL.

use std::time::Instant;

use http::{HeaderValue, Request, Response, StatusCode, header};
use maud::html;
use tonic::body::Body;

use super::super::{
    Console,
    form::Params,
    html::{self as h, Errors, error_summary, home_of},
    html_response,
    session::{self, COOKIE, SIGN_IN_COOKIE, same_token, set_cookie, token},
};
use crate::{
    app::clock,
    http::body::{self, read_limited},
};

fn page(csrf: &str, next: &str, errors: &Errors, notice: Option<&str>) -> String {
    let body = html! {
        (error_summary(errors))
        @if let Some(n) = notice { div.banner.info role="status" { p { (n) } } }
        h1 { "Sign in" }
        p.lead { "Sign in with the API key your administrator gave you. The console keeps you signed in for 30 minutes without activity." }
        form method="post" action="/console/sign-in" novalidate {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="next" value=(next);
            (h::text_input("api_key", "API key", Some("It starts with chk_. Paste it whole; it is not shown again."), "", "password", errors))
            button.button type="submit" { "Sign in" }
        }
    };
    h::page("Sign in", None, None, "", &body).into_string()
}

/// Where to go after sign-in: a console path, never another site.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with("/console/")
        && !next.starts_with("/console/sign-")
        && !next.contains("//")
        && !next.contains('\\'))
    .then_some(next)
}

fn with_cookie(mut r: Response<Body>, cookie: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn form_response(
    status: StatusCode,
    next: &str,
    errors: &Errors,
    notice: Option<&str>,
    secure: bool,
) -> Response<Body> {
    let t = token();
    let r = html_response(status, page(&t, next, errors, notice));
    with_cookie(r, &set_cookie(SIGN_IN_COOKIE, Some(&t), secure))
}

/// `GET /console/sign-in`.
pub fn form(console: &Console, req: &Request<Body>, secure: bool) -> Response<Body> {
    if let Some(v) = session::cookie(req.headers(), COOKIE)
        .and_then(|sid| console.sessions.get(sid, Instant::now()))
    {
        return body::redirect(home_of(v.principal.role));
    }
    let q = Params::parse(req.uri().query().unwrap_or("").as_bytes());
    let notice = (q.get("signed_out") == "1").then_some("You have signed out.");
    form_response(
        StatusCode::OK,
        safe_next(q.get("next")).unwrap_or(""),
        &Errors::default(),
        notice,
        secure,
    )
}

/// `POST /console/sign-in`.
pub async fn submit(console: &Console, req: Request<Body>, secure: bool) -> Response<Body> {
    let (parts, b) = req.into_parts();
    let Ok(raw) = read_limited(b, 8 * 1024, console.settings.body_deadline).await else {
        return form_response(
            StatusCode::BAD_REQUEST,
            "",
            &Errors::default(),
            Some("The form did not arrive whole. Try again."),
            secure,
        );
    };
    let f = Params::parse(&raw);
    let next = safe_next(f.get("next")).unwrap_or("").to_owned();
    let expected = session::cookie(&parts.headers, SIGN_IN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_token(f.get("csrf"), expected) {
        let mut e = Errors::default();
        e.add(
            "api_key",
            "This sign-in form has expired. Enter your API key again.",
        );
        return form_response(StatusCode::FORBIDDEN, &next, &e, None, secure);
    }
    let key = f.get("api_key").to_owned();
    if key.is_empty() {
        let mut e = Errors::default();
        e.add("api_key", "Enter your API key");
        return form_response(StatusCode::BAD_REQUEST, &next, &e, None, secure);
    }
    let principal = console.auth.principal_of_key(&key, clock::now()).await;
    let Ok(principal) = principal else {
        let mut e = Errors::default();
        e.add(
            "api_key",
            "The API key is not valid, has expired or was revoked. Check it and try again.",
        );
        return form_response(StatusCode::UNAUTHORIZED, &next, &e, None, secure);
    };
    tracing::info!(principal_id = %principal.id, "console sign-in");
    let role = principal.role;
    let replaced = session::cookie(&parts.headers, COOKIE);
    let sid = console.sessions.start(principal, replaced, Instant::now());
    let to = if next.is_empty() {
        home_of(role).to_owned()
    } else {
        next
    };
    let r = body::redirect(&to);
    let r = with_cookie(r, &set_cookie(COOKIE, Some(&sid), secure));
    with_cookie(r, &set_cookie(SIGN_IN_COOKIE, None, secure))
}

/// `POST /console/sign-out`: ends the session (the form's token must be the session's).
pub async fn sign_out(console: &Console, req: Request<Body>, secure: bool) -> Response<Body> {
    let (parts, b) = req.into_parts();
    let raw = read_limited(b, 8 * 1024, console.settings.body_deadline)
        .await
        .unwrap_or_default();
    let f = Params::parse(&raw);
    if let Some(sid) = session::cookie(&parts.headers, COOKIE) {
        match console.sessions.get(sid, Instant::now()) {
            Some(v) if !same_token(f.get("csrf"), &v.csrf) => {
                return html_response(
                    StatusCode::FORBIDDEN,
                    h::page(
                        "Forbidden",
                        None,
                        None,
                        "",
                        &html! {
                            h1 { "This form has expired" }
                            p { "Go back, reload the page and sign out again." }
                        },
                    )
                    .into_string(),
                );
            }
            _ => console.sessions.end(sid),
        }
    }
    let r = body::redirect("/console/sign-in?signed_out=1");
    with_cookie(r, &set_cookie(COOKIE, None, secure))
}
