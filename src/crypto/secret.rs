//! A 256-bit symmetric key.

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{CryptoError, random_bytes};

/// 32 bytes of key material. Zeroized on drop; deliberately no `Debug`, `Clone` or `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = [0u8; 32];
        random_bytes(&mut k)?;
        Ok(Self(k))
    }

    /// Takes ownership of raw key bytes (the caller's copy should be zeroized).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads 32 bytes of key material out of a decrypted buffer.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Decrypt)?;
        Ok(Self(arr))
    }

    /// The raw bytes. Every call site is inside `crypto/`.
    pub(crate) fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}
