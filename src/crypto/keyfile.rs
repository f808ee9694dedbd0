//! The key file (`vault.keys`): everything needed to unseal, and nothing usable without the
//! passphrase. Pure data and crypto; reading and writing the file is the caller's job.
//!
//! Why a file of its own instead of a sled tree: a wrong passphrase must be detected before
//! anything under the data dir is opened for writing (sled rewrites files on open), so the key
//! check value has to be readable with plain file reads.

use std::collections::BTreeMap;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::aead::{cipher_for, open_with, seal_with};
use super::{CryptoError, IndexKey, Keyring, SecretKey, SigningKey, random_bytes};
use crate::model::Sealed;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The key check value does not match: the passphrase is wrong.
    #[error("the passphrase is wrong")]
    WrongPassphrase,
    /// The file is not a key file this version understands, or was tampered with.
    #[error("the key file is damaged or not a hrvault key file ({0})")]
    Corrupt(&'static str),
    /// A cryptographic primitive failed (RNG, KDF parameters).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Argon2id parameters and salt for deriving the unseal key, stored so they can be raised later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
    /// 16 random bytes, base64.
    pub salt: String,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane, fresh salt: the unseal default (~0.1–0.3 s once per start).
    pub fn recommended() -> Result<Self, CryptoError> {
        Self::with_cost(64 * 1024, 3)
    }

    /// Tiny parameters for unit tests only; never used by the binary.
    pub fn danger_insecure_fast() -> Result<Self, CryptoError> {
        Self::with_cost(256, 1)
    }

    fn with_cost(m_cost_kib: u32, t_cost: u32) -> Result<Self, CryptoError> {
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        Ok(Self {
            algorithm: "argon2id".into(),
            m_cost_kib,
            t_cost,
            p_cost: 1,
            salt: B64.encode(salt),
        })
    }

    /// Passphrase → 64 bytes: the first half is the key-encryption key, the second half only
    /// feeds the key check value (so the check reveals nothing about the KEK).
    fn derive(&self, passphrase: &SecretString) -> Result<Zeroizing<[u8; 64]>, KeyFileError> {
        // Bounds stop a tampered file from demanding absurd memory or time.
        let sane = self.algorithm == "argon2id"
            && (8..=4 * 1024 * 1024).contains(&self.m_cost_kib)
            && (1..=64).contains(&self.t_cost)
            && (1..=16).contains(&self.p_cost);
        if !sane {
            return Err(KeyFileError::Corrupt("kdf parameters"));
        }
        let salt = B64
            .decode(&self.salt)
            .map_err(|_| KeyFileError::Corrupt("salt"))?;
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(64))
            .map_err(|_| CryptoError::Kdf)?;
        let mut out = Zeroizing::new([0u8; 64]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.expose_secret().as_bytes(), &salt, &mut *out)
            .map_err(|_| CryptoError::Kdf)?;
        Ok(out)
    }
}

/// One master key version, sealed under the unseal key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterKeyEntry {
    /// 1, 2, ...
    pub version: u32,
    /// base64 of `seal(unseal key, master key, "hrvault/master-key/v1" 0 || version)`.
    pub sealed: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// The vault's own keys, sealed under one master key version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceKeys {
    /// Master key version that seals the three below.
    pub master_version: u32,
    /// Blind-index / keyed-digest key.
    pub index: String,
    /// Access-token (EdDSA) signing seed.
    pub token_signing: String,
    /// Audit checkpoint signing seed.
    pub audit_checkpoint: String,
}

/// The on-disk key file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// Format version of this file (1).
    pub format: u8,
    /// How the unseal key is derived.
    pub kdf: KdfParams,
    /// hex SHA-256 over the second half of the KDF output.
    pub key_check: String,
    /// Every master key version ever created.
    pub master_keys: Vec<MasterKeyEntry>,
    /// The version new record keys are wrapped under.
    pub current_master: u32,
    /// Index, token and checkpoint keys.
    pub service_keys: ServiceKeys,
}

fn master_aad(version: u32) -> Vec<u8> {
    let mut aad = b"hrvault/master-key/v1\0".to_vec();
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn service_aad(name: &str, master_version: u32) -> Vec<u8> {
    let mut aad = b"hrvault/service-key/v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&master_version.to_be_bytes());
    aad
}

fn key_check(derived: &[u8; 64]) -> String {
    let mut h = Sha256::new();
    h.update(b"hrvault/key-check/v1\0");
    h.update(&derived[32..]);
    hex::encode(h.finalize())
}

struct Unsealed {
    kek: SecretKey,
}

impl KeyFile {
    /// A new vault's keys: master v1 plus fresh index, token and checkpoint keys.
    pub fn create(
        passphrase: &SecretString,
        kdf: KdfParams,
        now: &str,
    ) -> Result<(Self, Keyring), KeyFileError> {
        let derived = kdf.derive(passphrase)?;
        let kek = SecretKey::from_slice(&derived[..32])?;
        let master = SecretKey::generate()?;
        let keyring = Keyring::new(
            BTreeMap::from([(1, cipher_for(&master))]),
            1,
            IndexKey::new(SecretKey::generate()?),
            SigningKey::generate()?,
            SigningKey::generate()?,
        );
        let sealed_master = seal_with(&cipher_for(&kek), master.expose_secret(), &master_aad(1))?;
        let file = Self {
            format: 1,
            key_check: key_check(&derived),
            kdf,
            master_keys: vec![MasterKeyEntry {
                version: 1,
                sealed: B64.encode(&sealed_master.0),
                created_at: now.into(),
            }],
            current_master: 1,
            service_keys: Self::seal_service_keys(&keyring, &master, 1)?,
        };
        Ok((file, keyring))
    }

    fn seal_service_keys(
        k: &Keyring,
        master: &SecretKey,
        version: u32,
    ) -> Result<ServiceKeys, CryptoError> {
        let c = cipher_for(master);
        let seal = |name: &str, bytes: &[u8]| -> Result<String, CryptoError> {
            Ok(B64.encode(seal_with(&c, bytes, &service_aad(name, version))?.0))
        };
        Ok(ServiceKeys {
            master_version: version,
            index: seal("index", k.index_key().secret().expose_secret())?,
            token_signing: seal("token_signing", &*k.token_key().seed())?,
            audit_checkpoint: seal("audit_checkpoint", &*k.checkpoint_key().seed())?,
        })
    }

    fn check(&self, passphrase: &SecretString) -> Result<Unsealed, KeyFileError> {
        if self.format != 1 {
            return Err(KeyFileError::Corrupt("unknown format version"));
        }
        let derived = self.kdf.derive(passphrase)?;
        let expected =
            hex::decode(&self.key_check).map_err(|_| KeyFileError::Corrupt("key check"))?;
        let actual =
            hex::decode(key_check(&derived)).map_err(|_| KeyFileError::Corrupt("key check"))?;
        if !bool::from(expected.ct_eq(&actual)) {
            return Err(KeyFileError::WrongPassphrase);
        }
        Ok(Unsealed {
            kek: SecretKey::from_slice(&derived[..32])?,
        })
    }

    /// Checks the passphrase, then unwraps every master version and the service keys.
    pub fn unseal(&self, passphrase: &SecretString) -> Result<Keyring, KeyFileError> {
        let u = self.check(passphrase)?;
        let kek = cipher_for(&u.kek);
        let mut masters = BTreeMap::new();
        let mut service_master = None;
        for entry in &self.master_keys {
            let sealed = Sealed(
                B64.decode(&entry.sealed)
                    .map_err(|_| KeyFileError::Corrupt("master key"))?,
            );
            let raw = open_with(&kek, &sealed, &master_aad(entry.version))
                .map_err(|_| KeyFileError::Corrupt("master key"))?;
            let key =
                SecretKey::from_slice(&raw).map_err(|_| KeyFileError::Corrupt("master key"))?;
            if entry.version == self.service_keys.master_version {
                service_master = Some(cipher_for(&key));
            }
            masters.insert(entry.version, cipher_for(&key));
        }
        if !masters.contains_key(&self.current_master) {
            return Err(KeyFileError::Corrupt("current master key missing"));
        }
        let c = service_master.ok_or(KeyFileError::Corrupt("service keys' master missing"))?;
        let v = self.service_keys.master_version;
        let open = |name: &str, b64: &str| -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
            let sealed = Sealed(
                B64.decode(b64)
                    .map_err(|_| KeyFileError::Corrupt("service key"))?,
            );
            open_with(&c, &sealed, &service_aad(name, v))
                .map_err(|_| KeyFileError::Corrupt("service key"))
        };
        let index = IndexKey::new(SecretKey::from_slice(&open(
            "index",
            &self.service_keys.index,
        )?)?);
        let token =
            SigningKey::from_seed(&open("token_signing", &self.service_keys.token_signing)?)?;
        let checkpoint = SigningKey::from_seed(&open(
            "audit_checkpoint",
            &self.service_keys.audit_checkpoint,
        )?)?;
        Ok(Keyring::new(
            masters,
            self.current_master,
            index,
            token,
            checkpoint,
        ))
    }

    /// Adds master key version N+1, makes it current and re-seals the service keys under it.
    /// The caller then re-wraps every record key (`Keyring::rewrap_record_key`).
    pub fn rotate(
        &mut self,
        passphrase: &SecretString,
        keyring: &mut Keyring,
        now: &str,
    ) -> Result<u32, KeyFileError> {
        let u = self.check(passphrase)?;
        let version = self
            .master_keys
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
            + 1;
        let master = SecretKey::generate()?;
        let sealed = seal_with(
            &cipher_for(&u.kek),
            master.expose_secret(),
            &master_aad(version),
        )?;
        self.master_keys.push(MasterKeyEntry {
            version,
            sealed: B64.encode(&sealed.0),
            created_at: now.into(),
        });
        self.service_keys = Self::seal_service_keys(keyring, &master, version)?;
        self.current_master = version;
        keyring.add_master(version, cipher_for(&master));
        Ok(version)
    }

    /// Pretty JSON, as written to disk.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("key file is plain data");
        v.push(b'\n');
        v
    }

    /// Parses the on-disk bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyFileError> {
        serde_json::from_slice(bytes).map_err(|_| KeyFileError::Corrupt("not valid key file JSON"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::RecordKey;
    use crate::model::EmployeeId;

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn create_unseal_round_trip() {
        let (file, ring) = KeyFile::create(
            &pass("correct horse"),
            KdfParams::danger_insecure_fast().unwrap(),
            "t",
        )
        .unwrap();
        let file = KeyFile::from_bytes(&file.to_bytes()).unwrap();
        let again = file.unseal(&pass("correct horse")).unwrap();
        assert_eq!(
            ring.token_key().public_key(),
            again.token_key().public_key()
        );
        assert_eq!(
            ring.checkpoint_key().public_key(),
            again.checkpoint_key().public_key()
        );
        let id = EmployeeId::random();
        let rk = RecordKey::generate().unwrap();
        let wrapped = ring.wrap_record_key(&id, &rk).unwrap();
        assert!(again.unwrap_record_key(&id, &wrapped).is_ok());
    }

    #[test]
    fn wrong_passphrase_is_recognised_by_the_check_value() {
        let (file, _) = KeyFile::create(
            &pass("correct horse"),
            KdfParams::danger_insecure_fast().unwrap(),
            "t",
        )
        .unwrap();
        assert!(matches!(
            file.unseal(&pass("correct horsE")),
            Err(KeyFileError::WrongPassphrase)
        ));
    }

    #[test]
    fn tampered_master_key_is_corrupt_not_wrong_passphrase() {
        let (mut file, _) =
            KeyFile::create(&pass("pw"), KdfParams::danger_insecure_fast().unwrap(), "t").unwrap();
        let mut raw = B64.decode(&file.master_keys[0].sealed).unwrap();
        raw[20] ^= 1;
        file.master_keys[0].sealed = B64.encode(raw);
        assert!(matches!(
            file.unseal(&pass("pw")),
            Err(KeyFileError::Corrupt(_))
        ));
    }

    #[test]
    fn absurd_kdf_parameters_are_refused_before_deriving() {
        let (mut file, _) =
            KeyFile::create(&pass("pw"), KdfParams::danger_insecure_fast().unwrap(), "t").unwrap();
        file.kdf.m_cost_kib = u32::MAX;
        assert!(matches!(
            file.unseal(&pass("pw")),
            Err(KeyFileError::Corrupt(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_record_keys_readable_and_rewraps_them() {
        let (mut file, mut ring) =
            KeyFile::create(&pass("pw"), KdfParams::danger_insecure_fast().unwrap(), "t").unwrap();
        let id = EmployeeId::random();
        let rk = RecordKey::generate().unwrap();
        let sealed = rk
            .seal_field(&id, crate::model::FieldName::Ssn, b"x")
            .unwrap();
        let old = ring.wrap_record_key(&id, &rk).unwrap();
        assert_eq!(file.rotate(&pass("pw"), &mut ring, "t2").unwrap(), 2);
        assert!(matches!(
            file.rotate(&pass("nope"), &mut ring, "t2"),
            Err(KeyFileError::WrongPassphrase)
        ));
        let new = ring.rewrap_record_key(&id, &old).unwrap();
        assert_eq!(new.master_version, 2);
        let reopened = file.unseal(&pass("pw")).unwrap();
        let rk2 = reopened.unwrap_record_key(&id, &new).unwrap();
        assert_eq!(
            rk2.open_field(&id, crate::model::FieldName::Ssn, &sealed)
                .unwrap()
                .as_slice(),
            b"x"
        );
        assert!(
            reopened.unwrap_record_key(&id, &old).is_ok(),
            "old versions stay readable"
        );
        // A wrapped key cannot be relabelled with another master version.
        let mut forged = new.clone();
        forged.master_version = 1;
        assert!(reopened.unwrap_record_key(&id, &forged).is_err());
    }
}
