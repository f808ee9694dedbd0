//! Ed25519 signing keys: one signs access tokens (JWT EdDSA), another signs audit checkpoints.

use ed25519_dalek::Signer;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// An Ed25519 private key (zeroized on drop by ed25519-dalek); no `Debug` or `Clone`.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        random_bytes(&mut *seed)?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// Rebuilds a key from its 32-byte seed (after unwrapping).
    pub fn from_seed(seed: &[u8]) -> Result<Self, CryptoError> {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.try_into().map_err(|_| CryptoError::Decrypt)?);
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The seed, for wrapping under the master key.
    pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// Signs `msg` (deterministic Ed25519, RFC 8032).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
}

/// Checks an Ed25519 signature (used by tests and offline checkpoint verification).
pub fn verify(public_key: &[u8; 32], msg: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_seed_round_trip() {
        let k = SigningKey::generate().unwrap();
        let sig = k.sign(b"checkpoint");
        assert!(verify(&k.public_key(), b"checkpoint", &sig));
        assert!(!verify(&k.public_key(), b"checkpoinT", &sig));
        let k2 = SigningKey::from_seed(&*k.seed()).unwrap();
        assert_eq!(k.public_key(), k2.public_key());
    }
}
