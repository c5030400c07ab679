//! The web console under `/console/`: server-rendered pages for brokers, requesting
//! parties, providers and analysts, over the same use cases (`app`) the gRPC handlers
//! call — never over `api` — so roles, ownership, visibility and the audit trail are the
//! ones every edge has.
//!
//! A request goes: route ([`routes`]) → session ([`session`]; sign-in turns an API key
//! into a session cookie) → the method table (`auth::table::CONSOLE_ACTIONS` maps each
//! action to the RPC it performs; that RPC's roles and the caller's rate limit apply) →
//! for a POST, the form (size-limited) and its CSRF token → the page ([`pages`]) → the
//! response with the security headers ([`headers`]). Pages work with JavaScript off:
//! forms POST and redirect (303) to a page that is a shareable URL.
//!
//! Entry point: [`Console::handle`], called by the HTTP front layer.

pub mod assets;
pub mod form;
pub mod headers;
pub mod html;
pub mod pages;
pub mod routes;
pub mod session;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use maud::html;
use tonic::body::Body;

use crate::{
    app::{App, clock},
    auth::{Authenticator, recheck, table},
    error::ApiError,
    http::body::{self as http_body, BodyError, read_limited},
    server::connection::ConnInfo,
};
use form::Params;
use pages::{Ctx, Reply};
use routes::Action;
use session::Sessions;

/// Console settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mark cookies `Secure` (the server is behind TLS).
    pub secure_cookies: bool,
    /// Largest form body accepted, in bytes.
    pub max_form_bytes: usize,
    /// Time a form body has to arrive.
    pub body_deadline: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: false,
            max_form_bytes: 256 * 1024,
            body_deadline: Duration::from_secs(30),
        }
    }
}

/// The console: use cases, the authenticator (method table and rate limit), sessions.
#[derive(Debug)]
pub struct Console {
    app: App,
    auth: Arc<Authenticator>,
    sessions: Sessions,
    settings: Settings,
}

impl Console {
    /// A console over `app`, checking actions with `auth`.
    pub fn new(app: App, auth: Arc<Authenticator>, settings: Settings) -> Console {
        Console {
            app,
            auth,
            sessions: Sessions::default(),
            settings,
        }
    }

    /// The use cases.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The sessions of this process.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Serves one console request.
    pub async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let started = Instant::now();
        // A console request counts as a call in flight on its connection (idle timeout).
        let _call = req
            .extensions()
            .get::<ConnInfo>()
            .map(|c| c.activity.begin());
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let secure =
            self.settings.secure_cookies || req.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        let mut resp = self.dispatch(req, secure).await;
        headers::protect(resp.headers_mut());
        tracing::debug!(
            %method, path, status = resp.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0, "console request"
        );
        resp
    }

    async fn dispatch(&self, req: Request<Body>, secure: bool) -> Response<Body> {
        let (route, id) = match routes::find(req.method(), req.uri().path()) {
            Ok(r) => r,
            Err(true) => {
                return self.bare_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "This page does not take that kind of request.",
                );
            }
            Err(false) => {
                return self.bare_error(StatusCode::NOT_FOUND, "There is no page at this address.");
            }
        };
        match route.action {
            Action::Asset => assets::serve(id.as_deref().unwrap_or("")),
            Action::Home => self.home(&req),
            Action::SignInForm => pages::sign_in::form(self, &req, secure),
            Action::SignIn => pages::sign_in::submit(self, req, secure).await,
            Action::SignOut => pages::sign_in::sign_out(self, req, secure).await,
            _ => self.protected(route, id, req).await,
        }
    }

    /// `/console/`: the role's first page, or sign-in.
    fn home(&self, req: &Request<Body>) -> Response<Body> {
        match session::cookie(req.headers(), session::COOKIE)
            .and_then(|sid| self.sessions.get(sid, Instant::now()))
        {
            Some(v) => http_body::redirect(html::home_of(v.principal.role)),
            None => http_body::redirect("/console/sign-in"),
        }
    }

    /// A request that needs a session and a role the method table allows.
    async fn protected(
        &self,
        route: routes::Route,
        id: Option<String>,
        req: Request<Body>,
    ) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        let query = Params::parse(parts.uri.query().unwrap_or("").as_bytes());
        let to_sign_in = || {
            let next = if parts.method == Method::GET {
                query.url(&path)
            } else {
                String::new()
            };
            http_body::redirect(&Params::from_pairs([("next", next)]).url("/console/sign-in"))
        };
        let Some(sid) = session::cookie(&parts.headers, session::COOKIE).map(str::to_owned) else {
            return to_sign_in();
        };
        let Some(view) = self.sessions.get(&sid, Instant::now()) else {
            return to_sign_in();
        };
        let who = view.principal.clone();
        let check = who.clone();
        let still = self
            .app
            .blocking(move |store| recheck::still_valid(store, &check, clock::now()))
            .await;
        if still.is_err() {
            self.sessions.end(&sid);
            return to_sign_in();
        }
        let viewer = html::Viewer {
            who: &who,
            csrf: &view.csrf,
        };
        let Some(rpc) = table::console_method(route.name) else {
            return self.error_page(
                Some(&viewer),
                StatusCode::FORBIDDEN,
                "This action is not open to anyone.",
            );
        };
        if let Err(e) = self.auth.admit(&who, rpc) {
            let status = match e {
                ApiError::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::FORBIDDEN,
            };
            let message = match status {
                StatusCode::TOO_MANY_REQUESTS => {
                    "Too many requests from this key. Wait a moment and try again."
                }
                _ => "Your role may not use this page.",
            };
            return self.error_page(Some(&viewer), status, message);
        }
        let form = if parts.method == Method::POST {
            let is_form = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
            if !is_form {
                return self.error_page(
                    Some(&viewer),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Forms are sent as application/x-www-form-urlencoded.",
                );
            }
            let raw = match read_limited(
                body,
                self.settings.max_form_bytes,
                self.settings.body_deadline,
            )
            .await
            {
                Ok(b) => b,
                Err(BodyError::TooLarge { .. }) => {
                    return self.error_page(
                        Some(&viewer),
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The form is too large to send. Shorten the text and try again.",
                    );
                }
                Err(_) => {
                    return self.error_page(
                        Some(&viewer),
                        StatusCode::BAD_REQUEST,
                        "The form did not arrive whole. Try again.",
                    );
                }
            };
            let form = Params::parse(&raw);
            if !session::same_token(form.get("csrf"), &view.csrf) {
                return self.error_page(
                    Some(&viewer),
                    StatusCode::FORBIDDEN,
                    "This form has expired or did not come from this console. Go back, reload the page and try again.",
                );
            }
            form
        } else {
            Params::default()
        };
        let ctx = Ctx {
            app: &self.app,
            who: who.clone(),
            csrf: view.csrf.clone(),
            id: id.unwrap_or_default(),
            query,
            form,
            path: path.clone(),
        };
        match pages::run(route.action, &ctx).await {
            Reply::Page {
                status,
                title,
                body,
            } => {
                let page = html::page(&title, Some(&viewer), view.flash.as_ref(), &path, &body);
                html_response(status, page.into_string())
            }
            Reply::Redirect { to, flash } => {
                if let Some(f) = flash {
                    self.sessions.flash(&sid, f);
                }
                http_body::redirect(&to)
            }
        }
    }

    fn error_page(
        &self,
        viewer: Option<&html::Viewer<'_>>,
        status: StatusCode,
        message: &str,
    ) -> Response<Body> {
        let title = status.canonical_reason().unwrap_or("Error");
        let body = html! {
            h1 { (title) }
            p { (message) }
            p { a href="/console/" { "Go to the start page" } }
        };
        html_response(
            status,
            html::page(title, viewer, None, "", &body).into_string(),
        )
    }

    fn bare_error(&self, status: StatusCode, message: &str) -> Response<Body> {
        self.error_page(None, status, message)
    }
}

/// An HTML response.
pub fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut r = http_body::bytes(status, "text/html; charset=utf-8", html.into());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
