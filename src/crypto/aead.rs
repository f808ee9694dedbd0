//! AES-256-GCM with a fresh random 96-bit nonce per message.
//!
//! Threat: a ciphertext moved to another record or field, or replayed under another key version.
//! Callers pass associated data that names exactly where the ciphertext belongs (see `record.rs`).
//! Random nonces are safe up to 2^32 messages per key (NIST SP 800-38D §8.3); per-record keys seal
//! at most four fields per write, and master-key wraps are one per record write.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::{CryptoError, SecretKey, random_bytes};
use crate::model::Sealed;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

fn cipher(key: &SecretKey) -> Aes256Gcm {
    Aes256Gcm::new(key.expose_secret().into())
}

/// Encrypts `plaintext` bound to `aad`: `nonce || ciphertext || tag`.
pub fn seal(key: &SecretKey, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, CryptoError> {
    seal_with(&cipher(key), plaintext, aad)
}

/// Decrypts what `seal` produced with the same key and `aad`; the plaintext buffer zeroizes.
pub fn open(
    key: &SecretKey,
    sealed: &Sealed,
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open_with(&cipher(key), sealed, aad)
}

pub(crate) fn seal_with(
    c: &Aes256Gcm,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Sealed, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    // Reserve the whole output up front so the buffer never reallocates and leaves a copy of the
    // plaintext behind in freed memory.
    let mut buf = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    c.encrypt_in_place(&Nonce::from(nonce), aad, &mut buf)
        .map_err(|_| CryptoError::Decrypt)?;
    let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(Sealed(out))
}

pub(crate) fn open_with(
    c: &Aes256Gcm,
    sealed: &Sealed,
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let bytes = &sealed.0;
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, body) = bytes.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
    let mut buf = Zeroizing::new(body.to_vec());
    c.decrypt_in_place(&Nonce::from(nonce), aad, &mut *buf)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(buf)
}

/// Builds a reusable cipher (for keys used on every request, like the master key).
pub(crate) fn cipher_for(key: &SecretKey) -> Aes256Gcm {
    cipher(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answer_nist_gcm_vector_shape() {
        // Round trip plus the fixed overhead: 12-byte nonce + 16-byte tag.
        let key = SecretKey::from_bytes([7u8; 32]);
        let sealed = seal(&key, b"hello", b"aad").unwrap();
        assert_eq!(sealed.0.len(), 5 + NONCE_LEN + TAG_LEN);
        assert_eq!(open(&key, &sealed, b"aad").unwrap().as_slice(), b"hello");
    }

    #[test]
    fn nonces_are_fresh() {
        let key = SecretKey::from_bytes([1u8; 32]);
        let a = seal(&key, b"same", b"").unwrap();
        let b = seal(&key, b"same", b"").unwrap();
        assert_ne!(a.0[..NONCE_LEN], b.0[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let key = SecretKey::from_bytes([1u8; 32]);
        for len in 0..(NONCE_LEN + TAG_LEN) {
            assert_eq!(
                open(&key, &Sealed(vec![0; len]), b"").err(),
                Some(CryptoError::Decrypt)
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(pt in proptest::collection::vec(any::<u8>(), 0..512), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
            let key = SecretKey::from_bytes([9u8; 32]);
            let sealed = seal(&key, &pt, &aad).unwrap();
            let opened = open(&key, &sealed, &aad).unwrap();
            prop_assert_eq!(opened.as_slice(), pt.as_slice());
        }

        #[test]
        fn any_flipped_bit_fails(pt in proptest::collection::vec(any::<u8>(), 0..128), pos in any::<usize>(), bit in 0u8..8) {
            let key = SecretKey::from_bytes([3u8; 32]);
            let mut sealed = seal(&key, &pt, b"ctx").unwrap();
            let i = pos % sealed.0.len();
            sealed.0[i] ^= 1 << bit;
            prop_assert_eq!(open(&key, &sealed, b"ctx").err(), Some(CryptoError::Decrypt));
        }

        #[test]
        fn other_aad_or_key_fails(pt in proptest::collection::vec(any::<u8>(), 0..64), a in any::<u8>(), b in any::<u8>()) {
            prop_assume!(a != b);
            let key = SecretKey::from_bytes([a; 32]);
            let other = SecretKey::from_bytes([b; 32]);
            let sealed = seal(&key, &pt, &[a]).unwrap();
            prop_assert!(open(&key, &sealed, &[b]).is_err());
            prop_assert!(open(&other, &sealed, &[a]).is_err());
        }
    }
}
