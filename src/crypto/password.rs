//! Password and client-secret hashing with argon2id.
//!
//! OWASP's minimum (19 MiB, t=2, p=1) costs ~28 ms and holds 19 MiB per hash in flight, which is
//! why callers run it on blocking threads behind a small concurrency limit. Unknown usernames are
//! verified against a dummy hash so that timing does not reveal which usernames exist.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// Hashes and verifies passwords with fixed argon2id parameters.
pub struct PasswordHasher {
    params: Params,
    dummy: String,
}

impl PasswordHasher {
    /// OWASP Password Storage Cheat Sheet parameters: m = 19 MiB, t = 2, p = 1.
    pub fn owasp() -> Result<Self, CryptoError> {
        Self::with_params(19 * 1024, 2, 1)
    }

    /// Cheap parameters for unit tests only; never used by the binary.
    pub fn danger_insecure_fast() -> Result<Self, CryptoError> {
        Self::with_params(256, 1, 1)
    }

    fn with_params(m_kib: u32, t: u32, p: u32) -> Result<Self, CryptoError> {
        let params = Params::new(m_kib, t, p, Some(32)).map_err(|_| CryptoError::Kdf)?;
        let mut hasher = Self {
            params,
            dummy: String::new(),
        };
        let dummy_pw = generate_secret()?;
        hasher.dummy = hasher.hash(dummy_pw.expose_secret().as_bytes())?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh 16-byte salt.
    pub fn hash(&self, password: &[u8]) -> Result<String, CryptoError> {
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        let hash = self
            .argon2()
            .hash_password_with_salt(password, &salt)
            .map_err(|_| CryptoError::Kdf)?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches `phc`. A malformed stored hash simply does not match.
    pub fn verify(&self, password: &[u8], phc: &str) -> bool {
        self.argon2().verify_password(password, phc).is_ok()
    }

    /// Spends the same time as a real verification, for unknown usernames.
    pub fn verify_dummy(&self, password: &[u8]) {
        let _ = self.verify(password, &self.dummy);
    }
}

/// 24 random bytes, base64url: generated passwords and client secrets (192 bits).
pub fn generate_secret() -> Result<SecretString, CryptoError> {
    let mut raw = Zeroizing::new([0u8; 24]);
    random_bytes(&mut *raw)?;
    Ok(SecretString::from(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*raw),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_and_phc_form() {
        let h = PasswordHasher::danger_insecure_fast().unwrap();
        let phc = h.hash(b"correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"));
        assert!(h.verify(b"correct horse", &phc));
        assert!(!h.verify(b"correct horsf", &phc));
        assert!(!h.verify(b"correct horse", "garbage"));
        assert_ne!(phc, h.hash(b"correct horse").unwrap(), "salts are fresh");
    }

    #[test]
    fn owasp_parameters_are_what_the_docs_say() {
        let h = PasswordHasher::owasp().unwrap();
        let phc = h.hash(b"pw").unwrap();
        assert!(phc.contains("m=19456,t=2,p=1"), "{phc}");
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_eq!(a.expose_secret().len(), 32);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
