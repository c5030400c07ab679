//! API keys: `chk_<principal id>_<secret>`, 256 random bits of secret shown once; only
//! the SHA-256 of the secret is stored, and it is compared in constant time.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "chk_";

/// A full API key. Its `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key as the client must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Makes a new key for `principal_id`, returning it and the hash to store.
pub fn generate(principal_id: &str) -> (ApiKey, [u8; 32]) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret_hex = hex::encode(secret);
    let hash = hash_secret(&secret_hex);
    (ApiKey(format!("{PREFIX}{principal_id}_{secret_hex}")), hash)
}

/// The deployment's seed for keys created with a request id (chosen at random once and
/// kept in the store, like the page-token key).
pub fn seed(store: &clearinghouse_storage::Store) -> Result<[u8; 32], crate::error::ApiError> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    let bytes = store.meta_value("principal_key_seed", &fresh)?;
    bytes.try_into().map_err(|_| {
        crate::error::ApiError::Internal("the stored key seed has the wrong length".to_owned())
    })
}

/// The key of a principal created with `request_id`: its secret is
/// SHA-256(seed ‖ principal id ‖ request id), so a replayed request gets the same key.
/// Whoever holds the data directory (which holds the seed) could derive it; whoever holds
/// the data directory controls the registry anyway.
pub fn derive(principal_id: &str, seed: &[u8; 32], request_id: &str) -> (ApiKey, [u8; 32]) {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(principal_id.as_bytes());
    h.update([0]);
    h.update(request_id.as_bytes());
    let secret_hex = hex::encode(h.finalize());
    let hash = hash_secret(&secret_hex);
    (ApiKey(format!("{PREFIX}{principal_id}_{secret_hex}")), hash)
}

/// SHA-256 of a key's secret part.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Splits a presented key into principal id and secret, or `None` if malformed.
pub fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && secret.len() == 64).then_some((id, secret))
}

/// Whether `secret` hashes to `stored`, in constant time.
pub fn verify(stored: &[u8; 32], secret: &str) -> bool {
    hash_secret(secret).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_verify_and_never_print() {
        let (key, hash) = generate("01ABC");
        let (id, secret) = parse(key.expose()).expect("parses");
        assert_eq!(id, "01ABC");
        assert!(verify(&hash, secret));
        assert!(!verify(&hash, &"0".repeat(64)));
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        let (other, _) = generate("01ABC");
        assert_ne!(key, other, "keys are random");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for k in [
            "",
            "chk_",
            "chk_abc",
            "abc_def",
            "chk__0000",
            "chk_id_short",
        ] {
            assert!(parse(k).is_none(), "{k}");
        }
    }
}
