//! Console sessions: an API key given once at sign-in becomes a session held in this
//! process's memory (a restart signs everyone out; replicas do not share sessions), named
//! by a random 256-bit id in an HttpOnly, SameSite=Strict cookie (Secure under TLS).
//!
//! - Ids are only ever made here, at sign-in, and a sign-in always makes a fresh one, so a
//!   cookie planted before sign-in is never adopted (no session fixation). The map holds
//!   the SHA-256 of each id, not the id.
//! - A session ends after [`IDLE`] without a request, after [`ABSOLUTE`] in any case, at
//!   sign-out, and as soon as its key is revoked or expires (checked on every request).
//! - Each session has its own CSRF token, sent in a hidden field of every form and
//!   compared in constant time on every POST.
//! - At most [`MAX_SESSIONS`] live at once; the least recently used goes first.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use clearinghouse_domain::Principal;

/// Name of the session cookie.
pub const COOKIE: &str = "ch_session";
/// Name of the cookie holding the sign-in form's CSRF token (before any session).
pub const SIGN_IN_COOKIE: &str = "ch_sign_in";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// No session lives longer than this.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions held at most.
pub const MAX_SESSIONS: usize = 10_000;

/// A message shown once on the next page (after a POST and its redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    /// The action was done.
    Done(String),
    /// The action failed, and why.
    Failed(String),
}

/// What a request learns from its session.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Who signed in.
    pub principal: Principal,
    /// The session's CSRF token.
    pub csrf: String,
    /// A message left by the previous request, taken.
    pub flash: Option<Flash>,
}

#[derive(Debug)]
struct Session {
    principal: Principal,
    csrf: String,
    started: Instant,
    last_seen: Instant,
    flash: Option<Flash>,
}

/// The sessions of this process.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
}

/// A fresh random token: 256 bits as hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Whether two tokens are equal, in constant time for equal lengths.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(IDLE)
    }
}

impl Sessions {
    /// No sessions yet; each ends after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // Every update is complete before unlock, so a poisoned map is still consistent.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for `principal`, ending the one named `replaced` (the cookie the
    /// browser sent, if any); returns the new id.
    pub fn start(&self, principal: Principal, replaced: Option<&str>, now: Instant) -> String {
        let id = token();
        let mut map = self.lock();
        if let Some(old) = replaced {
            map.remove(&key(old));
        }
        map.retain(|_, s| self.alive(s, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            key(&id),
            Session {
                principal,
                csrf: token(),
                started: now,
                last_seen: now,
                flash: None,
            },
        );
        id
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.last_seen) < self.idle
            && now.saturating_duration_since(s.started) < ABSOLUTE
    }

    /// The live session named `id`, touched at `now` and its flash taken; an expired one
    /// is removed.
    pub fn get(&self, id: &str, now: Instant) -> Option<SessionView> {
        let mut map = self.lock();
        let k = key(id);
        let alive = map.get(&k).is_some_and(|s| self.alive(s, now));
        if !alive {
            map.remove(&k);
            return None;
        }
        let s = map.get_mut(&k)?;
        s.last_seen = now;
        Some(SessionView {
            principal: s.principal.clone(),
            csrf: s.csrf.clone(),
            flash: s.flash.take(),
        })
    }

    /// Leaves `flash` for the next page of session `id`.
    pub fn flash(&self, id: &str, flash: Flash) {
        if let Some(s) = self.lock().get_mut(&key(id)) {
            s.flash = Some(flash);
        }
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        self.lock().remove(&key(id));
    }

    /// Sessions held now (live or not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for `name=value` on the console's path: HttpOnly, SameSite=Strict,
/// Secure when `secure`; `value` `None` deletes the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> String {
    let mut c = match value {
        Some(v) => format!("{name}={v}; Path=/console/; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path=/console/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use clearinghouse_domain::{PrincipalId, Role, Timestamp};

    use super::*;

    fn principal() -> Principal {
        Principal {
            id: PrincipalId("P1".into()),
            version: 1,
            display_name: "broker".into(),
            role: Role::Broker,
            party: None,
            key_hash: [0; 32],
            expires_at: None,
            revoked_at: None,
            created_at: Timestamp(0),
            created_by: PrincipalId::system(),
        }
    }

    #[test]
    fn a_sign_in_makes_a_fresh_id_and_ends_the_session_it_replaces() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let first = s.start(principal(), None, t0);
        let second = s.start(principal(), Some(&first), t0);
        assert_ne!(first, second);
        assert!(s.get(&first, t0).is_none(), "the replaced session is gone");
        assert!(s.get(&second, t0).is_some());
        assert!(
            s.get("planted-by-someone", t0).is_none(),
            "unknown ids are never adopted"
        );
    }

    #[test]
    fn sessions_end_when_idle_and_requests_keep_them_alive() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let id = s.start(principal(), None, t0);
        assert!(s.get(&id, t0 + Duration::from_secs(50)).is_some());
        assert!(
            s.get(&id, t0 + Duration::from_secs(100)).is_some(),
            "touched at 50 s"
        );
        assert!(
            s.get(&id, t0 + Duration::from_secs(200)).is_none(),
            "idle 100 s"
        );
        assert!(s.is_empty(), "the expired session was removed");
    }

    #[test]
    fn a_flash_is_shown_once() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let id = s.start(principal(), None, t0);
        s.flash(&id, Flash::Done("Need submitted".into()));
        let v = s.get(&id, t0).expect("session");
        assert_eq!(v.flash, Some(Flash::Done("Need submitted".into())));
        assert_eq!(s.get(&id, t0).expect("session").flash, None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        assert_eq!(
            set_cookie(COOKIE, Some("abc"), true),
            "ch_session=abc; Path=/console/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(set_cookie(COOKIE, None, false).contains("Max-Age=0"));
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("a=1; ch_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("a", "ab"));
    }
}
