//! The HTTP edge beside gRPC, on the same listener and port: one tower layer in front of
//! the gRPC stack that looks at each request and sends it on.
//!
//! - `application/grpc…` (gRPC, and gRPC-Web through `tonic-web` beneath this layer):
//!   straight on to the gRPC stack;
//! - `/console/…`: the brokers' web console ([`crate::console`]);
//! - `POST /<package>.<Service>/<Method>` with any other content type: the Connect
//!   protocol ([`connect`]), which turns the call into a gRPC request and sends it through
//!   the same gRPC stack in process — auth layer, rate limit, message limits, handlers —
//!   so JSON callers meet exactly the rules gRPC callers meet;
//! - `/`: a redirect to the console; anything else: 404.
//!
//! Entry point: [`FrontLayer`], the outermost layer of the server in `server.rs`.

pub mod body;
pub mod connect;
pub mod route;

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tonic::body::Body;
use tower::{Layer, Service, ServiceExt};

use crate::console::Console;

/// What the front layer sends requests to besides gRPC.
#[derive(Debug, Clone)]
pub struct Front {
    /// The Connect protocol over the gRPC services.
    pub connect: Arc<connect::Connect>,
    /// The web console.
    pub console: Arc<Console>,
}

/// The outermost layer of the server: routes each request (see the module docs).
#[derive(Debug, Clone)]
pub struct FrontLayer {
    front: Front,
}

impl Front {
    /// Connect and the console over `app`, checked by `auth`, within `limits`.
    pub fn new(
        app: crate::app::App,
        auth: Arc<crate::auth::Authenticator>,
        limits: &crate::config::Limits,
    ) -> Result<Front, crate::json::JsonError> {
        let deadline = std::time::Duration::from_secs(limits.request_timeout_secs);
        let settings = crate::console::Settings {
            max_form_bytes: limits.max_message_bytes.min(256 * 1024),
            body_deadline: deadline,
            ..crate::console::Settings::default()
        };
        Ok(Front {
            connect: Arc::new(connect::Connect::new(limits.max_message_bytes, deadline)?),
            console: Arc::new(Console::new(app, auth, settings)),
        })
    }
}

impl FrontLayer {
    /// A layer sending non-gRPC requests to `front`.
    pub fn new(front: Front) -> FrontLayer {
        FrontLayer { front }
    }
}

impl<S> Layer<S> for FrontLayer {
    type Service = FrontService<S>;

    fn layer(&self, inner: S) -> FrontService<S> {
        FrontService {
            inner,
            front: self.front.clone(),
        }
    }
}

/// The service [`FrontLayer`] makes of the gRPC stack.
#[derive(Debug, Clone)]
pub struct FrontService<S> {
    inner: S,
    front: Front,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<http::Request<Body>> for FrontService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        match route::classify(&req) {
            route::Route::Grpc => {
                // Take the service that was polled ready; leave a fresh clone in its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move { inner.call(req).await })
            }
            route::Route::Connect => {
                let (connect, inner) = (Arc::clone(&self.front.connect), self.inner.clone());
                Box::pin(async move {
                    let grpc = |r: http::Request<Body>| async move {
                        inner.oneshot(r).await.map_err(|_| ())
                    };
                    Ok(connect.call(req, grpc).await)
                })
            }
            route::Route::Console => {
                let console = Arc::clone(&self.front.console);
                Box::pin(async move { Ok(console.handle(req).await) })
            }
            route::Route::Root => Box::pin(async { Ok(body::redirect("/console/")) }),
            route::Route::NotFound => Box::pin(async {
                Ok(body::text(
                    http::StatusCode::NOT_FOUND,
                    "not found: this server answers gRPC, gRPC-Web, Connect (POST \
                     /clearinghouse.v1.<Service>/<Method>) and the console under /console/\n",
                ))
            }),
        }
    }
}
