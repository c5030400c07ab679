//! Per-principal token buckets held in shared state (tonic clones services per
//! connection, so a per-connection limiter would not limit a caller).

use std::{collections::HashMap, sync::Mutex, time::Instant};

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per principal id.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `rate` requests per second sustained, `burst` at once.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(rate),
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `principal` at `now`; `false` if none is left.
    pub fn try_acquire(&self, principal: &str, now: Instant) -> bool {
        // The lock is never held across an await and every update is complete before
        // unlock, so a poisoned lock is still consistent.
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let b = map.entry(principal.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refill_per_principal() {
        let r = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.try_acquire("a", t0)));
        assert!(!r.try_acquire("a", t0));
        assert!(
            r.try_acquire("b", t0),
            "another principal has its own bucket"
        );
        assert!(r.try_acquire("a", t0 + Duration::from_millis(100)));
    }
}
