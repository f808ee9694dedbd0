//! Password and client-secret hashing with argon2id.
//!
//! OWASP's minimum (19 MiB, t=2, p=1) costs ~28 ms and holds 19 MiB per hash in flight, which is
//! why callers run it on blocking threads behind a small concurrency limit. Unknown usernames are
//! verified against a dummy hash so that timing does not reveal which usernames exist.
//!
//! Verification reuses its 19 MiB working memory from a small pool instead of allocating it per
//! call: glibc's malloc raises its mmap threshold after the first such block is freed, so later
//! blocks come from the heap and fragment it — issue 10 measured 100 failed logins growing the
//! server by ~430 MiB that way. With the pool the memory is `hashes in flight × 19 MiB`, once.

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

/// Hashes and verifies passwords with fixed argon2id parameters.
pub struct PasswordHasher {
    params: Params,
    dummy: String,
    /// Working memory of finished verifications, wiped, for the next ones.
    pool: Mutex<Vec<Vec<Block>>>,
}

/// At most this many working-memory buffers are kept for reuse (about the hashes in flight).
const POOLED: usize = 8;

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
            pool: Mutex::new(Vec::new()),
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
    /// Same computation as argon2's `PasswordVerifier`, with pooled working memory and a
    /// constant-time comparison of the outputs.
    pub fn verify(&self, password: &[u8], phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
            return false;
        };
        let version = match hash.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(&hash) else {
            return false;
        };
        let mut blocks = self.take_blocks(params.block_count());
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        let hashed = Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt.as_ref(), &mut out[..], &mut blocks[..])
            .is_ok();
        blocks.iter_mut().for_each(Block::zeroize); // derived from the password
        self.return_blocks(blocks);
        hashed && bool::from(out.ct_eq(expected.as_bytes()))
    }

    fn take_blocks(&self, len: usize) -> Vec<Block> {
        let mut pool = self.pool.lock();
        match pool.iter().position(|b| b.len() == len) {
            Some(i) => pool.swap_remove(i),
            None => vec![Block::new(); len],
        }
    }

    fn return_blocks(&self, blocks: Vec<Block>) {
        let mut pool = self.pool.lock();
        if pool.len() < POOLED {
            pool.push(blocks);
        }
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

    /// The pooled verifier agrees with argon2's own `PasswordVerifier` on hashes it did not
    /// make (other parameters, argon2i/argon2d, another version) and reuses its memory.
    #[test]
    fn pooled_verify_agrees_with_the_argon2_crate() {
        use argon2::password_hash::PasswordVerifier as _;
        let h = PasswordHasher::danger_insecure_fast().unwrap();
        for (alg, ver, m) in [
            (Algorithm::Argon2id, Version::V0x13, 64),
            (Algorithm::Argon2i, Version::V0x13, 300),
            (Algorithm::Argon2d, Version::V0x10, 128),
        ] {
            let a = Argon2::new(alg, ver, Params::new(m, 2, 1, None).unwrap());
            let phc = a
                .hash_password_with_salt(b"pw", b"saltsaltsalt")
                .unwrap()
                .to_string();
            assert!(a.verify_password(b"pw", phc.as_str()).is_ok());
            assert!(h.verify(b"pw", &phc), "{phc}");
            assert!(!h.verify(b"px", &phc), "{phc}");
        }
        assert!(!h.pool.lock().is_empty(), "memory is kept for reuse");
        assert!(h.pool.lock().len() <= POOLED);
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
