//! Page tokens: opaque (encrypted and authenticated with a deployment-wide key kept in
//! the store), so a client can neither read the position inside (creation sequences
//! would reveal how many records it may not see exist) nor forge one.
//!
//! A token is `base64url(nonce ‖ ChaCha20-Poly1305(plaintext))`; what the plaintext holds
//! is the caller's business (a filter fingerprint and a cursor).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng},
};

use clearinghouse_storage::Store;

use crate::error::ApiError;

/// Longest token accepted (anything longer was not issued here).
const MAX_TOKEN_LEN: usize = 1024;

/// The key that seals page tokens.
pub struct TokenKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// The deployment's key, chosen at random the first time and kept in the store (so
    /// tokens survive restarts and work on every replica).
    pub fn load(store: &Store) -> Result<TokenKey, ApiError> {
        let fresh = ChaCha20Poly1305::generate_key(&mut OsRng);
        let bytes = store.meta_value("page_token_key", fresh.as_slice())?;
        if bytes.len() != 32 {
            return Err(ApiError::Internal(
                "the stored page-token key has the wrong length".to_owned(),
            ));
        }
        Ok(TokenKey {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// A key from its 32 bytes (tools and tests; the service uses [`TokenKey::load`]).
    pub fn from_bytes(bytes: &[u8; 32]) -> TokenKey {
        TokenKey {
            cipher: ChaCha20Poly1305::new(Key::from_slice(bytes)),
        }
    }

    /// A token sealing `plain`.
    pub fn seal(&self, plain: &[u8]) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        match self.cipher.encrypt(&nonce, plain) {
            Ok(ct) => {
                let mut out = nonce.to_vec();
                out.extend_from_slice(&ct);
                URL_SAFE_NO_PAD.encode(out)
            }
            // Encryption of a short buffer cannot fail; an empty token ends paging.
            Err(_) => String::new(),
        }
    }

    /// What a token sealed, or `None` when it was not issued with this key.
    pub fn open(&self, token: &str) -> Option<Vec<u8>> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()
    }
}
