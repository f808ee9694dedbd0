//! All cryptography of the vault, and nothing else: no I/O, no async, no logging.
//!
//! Key hierarchy (docs/design/keys.md):
//!
//! ```text
//! passphrase ──argon2id──► unseal key ──wraps──► master key vN ──wraps──► record key ──► fields
//!                                                      └──wraps──► index key, token key, checkpoint key
//! ```
//!
//! Every key lives in a type that zeroizes on drop and has no `Debug`, `Clone` or `Serialize`.
//! Errors are deliberately opaque: a failed open never says which check failed.

mod aead;
mod blind_index;
mod keyfile;
mod keyring;
mod limiter_key;
mod password;
mod record;
mod secret;
mod session;
mod signing;

pub use aead::{open, seal};
pub use blind_index::IndexKey;
pub use keyfile::{KdfParams, KeyFile, KeyFileError};
pub use keyring::Keyring;
pub use limiter_key::LimiterKey;
pub use password::{PasswordHasher, generate_secret};
pub use record::{RecordKey, WrappedRecordKey, field_aad, record_key_aad};
pub use secret::SecretKey;
pub use session::SessionSecret;
pub use signing::{SigningKey, verify as verify_signature};

/// Opaque failures of cryptographic operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Authentication failed: wrong key, wrong associated data, or tampered bytes.
    #[error("decryption failed")]
    Decrypt,
    /// The operating system's random number generator failed.
    #[error("random number generator unavailable")]
    Rng,
    /// Key derivation or password hashing could not run (bad parameters).
    #[error("key derivation failed")]
    Kdf,
}

/// Fills `buf` from the operating system CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Rng)
}
