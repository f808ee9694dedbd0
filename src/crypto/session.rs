//! Web console session secrets.
//!
//! A session is a random 256-bit secret held only in the browser's cookie. The store keys the
//! session by `SHA-256("hrvault console session v1" || secret)`, so the data dir (or a database
//! dump) holds nothing a thief could present as a cookie. The CSRF token is derived from the
//! same secret (`HMAC-SHA-256(secret, "hrvault console csrf v1")`), so it is bound to the session,
//! never stored, and cannot be computed by a page that cannot read the cookie.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{CryptoError, random_bytes};

const LOOKUP_DOMAIN: &[u8] = b"hrvault console session v1";
const CSRF_DOMAIN: &[u8] = b"hrvault console csrf v1";

/// A session secret. Zeroized on drop; no `Debug`, `Clone` or `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SessionSecret([u8; 32]);

impl SessionSecret {
    /// A fresh secret from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = [0u8; 32];
        random_bytes(&mut k)?;
        Ok(Self(k))
    }

    /// Parses a cookie value (unpadded base64url of 32 bytes); `None` for anything else.
    pub fn from_cookie(value: &str) -> Option<Self> {
        if value.len() != 43 {
            return None;
        }
        let bytes = Zeroizing::new(B64URL.decode(value).ok()?);
        let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(Self(arr))
    }

    /// The cookie value.
    pub fn to_cookie(&self) -> Zeroizing<String> {
        Zeroizing::new(B64URL.encode(self.0))
    }

    /// The key the store files this session under.
    pub fn lookup_key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(LOOKUP_DOMAIN);
        h.update(self.0);
        h.finalize().into()
    }

    /// The CSRF token every state-changing form of this session must carry.
    pub fn csrf_token(&self) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(CSRF_DOMAIN);
        B64URL.encode(mac.finalize().into_bytes())
    }

    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        let want = self.csrf_token();
        want.len() == given.len() && bool::from(want.as_bytes().ct_eq(given.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trips_and_garbage_is_refused() {
        let s = SessionSecret::generate().unwrap();
        let c = s.to_cookie();
        let back = SessionSecret::from_cookie(&c).unwrap();
        assert_eq!(back.lookup_key(), s.lookup_key());
        assert!(SessionSecret::from_cookie("").is_none());
        assert!(SessionSecret::from_cookie(&"A".repeat(44)).is_none());
        assert!(SessionSecret::from_cookie(&"*".repeat(43)).is_none());
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let (a, b) = (
            SessionSecret::generate().unwrap(),
            SessionSecret::generate().unwrap(),
        );
        assert!(a.csrf_matches(&a.csrf_token()));
        assert!(!a.csrf_matches(&b.csrf_token()));
        assert!(!a.csrf_matches(""));
        assert_ne!(a.lookup_key().to_vec(), a.csrf_token().into_bytes());
    }
}
