//! The key of the rate limiters' digests: the same on every node of a vault, so a username (or
//! address, or user) counts in one shared window whichever node it reaches, and never stored as
//! itself — the store holds only a 32-byte HMAC under this key.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{IndexKey, SecretKey};

const LABEL: &[u8] = b"hrvault/limiter-key/v1";

/// Keys the limiters' digests. Derived from the vault's index key (which every node unseals
/// and which never rotates) under a fixed label, so it needs no storage of its own; the raw
/// bytes never leave `crypto`.
/// No `Clone`: [`super::Keyring::limiter_key`] derives one for each owner.
pub struct LimiterKey(SecretKey);

impl std::fmt::Debug for LimiterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LimiterKey(..)")
    }
}

impl LimiterKey {
    /// `HMAC-SHA256(index key, len || "hrvault/limiter-key/v1")`.
    pub(crate) fn derive(index: &IndexKey) -> Self {
        Self(SecretKey::from_bytes(index.mac(LABEL, &[])))
    }

    /// A key from fixed bytes (tests: two limiters built from the same bytes act as two nodes).
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretKey::from_bytes(bytes))
    }

    /// `HMAC-SHA256(key, data)`.
    pub fn digest(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// `HMAC-SHA256(key, ASCII-lower-cased text)`, computed without copying the input (which may
    /// be 64 KiB of anything, or a password typed into the wrong box).
    pub fn digest_ascii_lowercase(&self, text: &str) -> [u8; 32] {
        let mut mac = self.mac();
        let mut buf = [0u8; 256];
        for chunk in text.as_bytes().chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            mac.update(lower);
        }
        zeroize::Zeroize::zeroize(&mut buf);
        mac.finalize().into_bytes().into()
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts keys of any length")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_key_gives_the_same_digests_and_others_do_not() {
        let a = LimiterKey::derive(&IndexKey::new(SecretKey::from_bytes([1; 32])));
        let a2 = LimiterKey::derive(&IndexKey::new(SecretKey::from_bytes([1; 32])));
        let b = LimiterKey::derive(&IndexKey::new(SecretKey::from_bytes([2; 32])));
        assert_eq!(a.digest(b"alice"), a2.digest(b"alice"), "every node agrees");
        assert_ne!(a.digest(b"alice"), b.digest(b"alice"));
        assert_eq!(
            a.digest_ascii_lowercase("ALICE"),
            a.digest_ascii_lowercase("alice")
        );
        assert_eq!(a.digest_ascii_lowercase("alice"), a.digest(b"alice"));
        let long = "Ab".repeat(300);
        assert_eq!(
            a.digest_ascii_lowercase(&long),
            a.digest(long.to_ascii_lowercase().as_bytes())
        );
        // Not the index key's own MAC of the same text (a different key).
        let index = IndexKey::new(SecretKey::from_bytes([1; 32]));
        assert_ne!(a.digest(b"alice"), index.mac(b"", b"alice"));
        assert_eq!(format!("{a:?}"), "LimiterKey(..)");
    }
}
