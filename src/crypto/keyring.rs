//! The unsealed keys of a running vault.

use std::collections::BTreeMap;

use aes_gcm::Aes256Gcm;

use super::aead::{open_with, seal_with};
use super::record::record_key_aad;
use super::{
    CryptoError, IndexKey, LimiterKey, RecordKey, SecretKey, SigningKey, WrappedRecordKey,
};
use crate::model::EmployeeId;

/// Master key versions (as ready ciphers), the index key and the two signing keys.
/// No `Debug`, no `Clone`: there is one keyring per unsealed vault.
pub struct Keyring {
    masters: BTreeMap<u32, Aes256Gcm>,
    current: u32,
    index: IndexKey,
    token: SigningKey,
    checkpoint: SigningKey,
}

impl Keyring {
    pub(crate) fn new(
        masters: BTreeMap<u32, Aes256Gcm>,
        current: u32,
        index: IndexKey,
        token: SigningKey,
        checkpoint: SigningKey,
    ) -> Self {
        Self {
            masters,
            current,
            index,
            token,
            checkpoint,
        }
    }

    pub(crate) fn add_master(&mut self, version: u32, cipher: Aes256Gcm) {
        self.masters.insert(version, cipher);
        self.current = version;
    }

    /// The master version new record keys are wrapped under.
    pub fn current_master_version(&self) -> u32 {
        self.current
    }

    /// Wraps a record key under the current master version.
    pub fn wrap_record_key(
        &self,
        record: &EmployeeId,
        key: &RecordKey,
    ) -> Result<WrappedRecordKey, CryptoError> {
        let master = self
            .masters
            .get(&self.current)
            .expect("the current master version is always loaded");
        let sealed = seal_with(
            master,
            key.secret().expose_secret(),
            &record_key_aad(record, self.current),
        )?;
        Ok(WrappedRecordKey {
            master_version: self.current,
            key_version: key.version(),
            sealed,
        })
    }

    /// Unwraps a record key; fails (opaquely) for a wrong record, version or tampered bytes.
    pub fn unwrap_record_key(
        &self,
        record: &EmployeeId,
        wrapped: &WrappedRecordKey,
    ) -> Result<RecordKey, CryptoError> {
        let master = self
            .masters
            .get(&wrapped.master_version)
            .ok_or(CryptoError::Decrypt)?;
        let raw = open_with(
            master,
            &wrapped.sealed,
            &record_key_aad(record, wrapped.master_version),
        )?;
        Ok(RecordKey::from_parts(
            SecretKey::from_slice(&raw)?,
            wrapped.key_version,
        ))
    }

    /// Re-wraps under the current master version (key rotation). Field ciphertexts are untouched
    /// because the record key itself does not change.
    pub fn rewrap_record_key(
        &self,
        record: &EmployeeId,
        wrapped: &WrappedRecordKey,
    ) -> Result<WrappedRecordKey, CryptoError> {
        let key = self.unwrap_record_key(record, wrapped)?;
        self.wrap_record_key(record, &key)
    }

    /// Key for blind indexes and keyed digests.
    pub fn index_key(&self) -> &IndexKey {
        &self.index
    }

    /// Keys the rate limiters' digests (usernames, addresses, users): derived from the index
    /// key, so every node of the vault derives the same one. A new value per call (one HMAC).
    pub fn limiter_key(&self) -> LimiterKey {
        LimiterKey::derive(&self.index)
    }

    /// Signs access tokens.
    pub fn token_key(&self) -> &SigningKey {
        &self.token
    }

    /// Signs audit checkpoints.
    pub fn checkpoint_key(&self) -> &SigningKey {
        &self.checkpoint
    }
}
