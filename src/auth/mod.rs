//! Authentication (bearer API keys), authorization (one deny-by-default method → roles
//! table) and the per-principal rate limit, applied as one tower layer in front of every
//! service except health and reflection.
//!
//! Handlers find the authenticated [`Caller`] in the request extensions. Ownership and
//! visibility rules that depend on the data are checked in `app`, inside the storage
//! transaction of the change.

pub mod call_body;
pub mod keys;
pub mod layer;
pub mod principals;
pub mod rate;
pub mod recheck;
pub mod reply;
pub mod request_id;
pub mod table;

use clearinghouse_domain::Principal;

/// The authenticated principal of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

pub use layer::{AuthLayer, Authenticator};
pub use request_id::RequestId;
