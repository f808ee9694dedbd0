//! Keyed blind indexes: find a record by SSN without decrypting anything, and without storing a
//! value an attacker holding the database could brute-force (there are only 10^9 SSNs, so a plain
//! hash would fall in seconds; an HMAC under a vault key does not).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::SecretKey;
use crate::model::{BlindIndex, Ssn};

/// The index key (wrapped by the master key at rest).
pub struct IndexKey(SecretKey);

impl IndexKey {
    pub(crate) fn new(key: SecretKey) -> Self {
        Self(key)
    }

    pub(crate) fn secret(&self) -> &SecretKey {
        &self.0
    }

    /// `HMAC-SHA256(index key, "hrvault/ssn/v1" || nine digits)`: the SSN index key. Both input
    /// forms normalise to the same digits first.
    pub fn ssn(&self, ssn: &Ssn) -> BlindIndex {
        BlindIndex(self.mac(b"hrvault/ssn/v1", ssn.digits()))
    }

    /// A keyed digest of `data` in its own domain (e.g. idempotency request bodies, which contain
    /// sensitive values and so must not be stored as a plain hash).
    pub fn mac(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(&(domain.len() as u64).to_be_bytes());
        mac.update(domain);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ssn_forms_index_the_same_and_keys_differ() {
        let k1 = IndexKey::new(SecretKey::from_bytes([1; 32]));
        let k2 = IndexKey::new(SecretKey::from_bytes([2; 32]));
        let a = Ssn::parse("123-45-6789").unwrap();
        let b = Ssn::parse("123456789").unwrap();
        let c = Ssn::parse("123-45-6780").unwrap();
        assert_eq!(k1.ssn(&a), k1.ssn(&b));
        assert_ne!(k1.ssn(&a), k1.ssn(&c));
        assert_ne!(k1.ssn(&a), k2.ssn(&a));
        assert_ne!(k1.mac(b"a", b"bc"), k1.mac(b"ab", b"c"));
    }
}
