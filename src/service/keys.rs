//! Master key rotation (offline, `hrvault keys rotate`).

use secrecy::{ExposeSecret, SecretString};

use super::lifecycle::{KEY_FILE_META, data_dir_layout, replace_file};
use super::{ServiceError, Vault};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::clock::rfc3339;

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateReport {
    /// The new current master key version.
    pub version: u32,
    /// Record keys re-wrapped under it.
    pub rewrapped: usize,
}

impl Vault {
    /// Adds master key version N+1 to the key file (written atomically first, so every record
    /// stays readable if the process dies half way: each wrapped key names its version), then
    /// re-wraps every record key under it. Field ciphertexts are untouched. Re-running finishes an
    /// interrupted rotation.
    pub async fn rotate_master_key(
        &self,
        passphrase: &SecretString,
    ) -> Result<RotateReport, ServiceError> {
        let read = self
            .key_file_bytes()
            .and_then(|b| Ok((crate::crypto::KeyFile::from_bytes(&b)?, b)));
        let (mut keyfile, before) = read.map_err(|e| {
            tracing::error!(error = %e, "cannot read the key file");
            ServiceError::Internal
        })?;
        let pass = SecretString::from(passphrase.expose_secret().to_owned());
        let now = rfc3339(self.now());
        let (keyfile, ring, version) = tokio::task::spawn_blocking(move || {
            let mut ring = keyfile.unseal(&pass)?;
            let version = keyfile.rotate(&pass, &mut ring, &now)?;
            Ok::<_, crate::crypto::KeyFileError>((keyfile, ring, version))
        })
        .await
        .map_err(|_| ServiceError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "key rotation refused");
            ServiceError::Internal
        })?;
        // Audited before anything changes, like every other write.
        let mut e = NewEntry::new(Actor::default(), Action::KeysRotate, Outcome::Success);
        e.reason = Some(format!(
            "master key v{version} created; every record key is re-wrapped under it"
        ));
        self.record(e).await?;
        let written = match self.data_dir() {
            Some(dir) => replace_file(&data_dir_layout(dir).keys, &keyfile.to_bytes()),
            // Compare-and-set: a rotation that raced another (on another node) loses instead
            // of dropping the master key version the other one added.
            None => self
                .inner
                .store
                .replace_meta(KEY_FILE_META, Some(&before), &keyfile.to_bytes())
                .map_err(|e| super::VaultError::Store(e.to_string())),
        };
        written.map_err(|e| {
            tracing::error!(error = %e, "cannot write the key file");
            ServiceError::Internal
        })?;

        let mut failed = 0usize;
        let rewrapped = self.inner.store.rewrap_record_keys(|rec, wrapped| {
            if wrapped.master_version == version {
                return None;
            }
            match ring.rewrap_record_key(&rec.id, &wrapped) {
                Ok(new) => Some(new),
                Err(_) => {
                    tracing::error!(employee_id = %rec.id, "record key does not unwrap; left as is");
                    failed += 1;
                    None
                }
            }
        })?;
        // New slots and the switched records are durable before the old slots are zeroed.
        self.durable().await?;
        self.inner.store.complete_pending_shreds()?;
        if failed > 0 {
            let mut e = NewEntry::new(Actor::default(), Action::KeysRotate, Outcome::Error);
            e.reason = Some(format!(
                "master key v{version}: {rewrapped} record keys re-wrapped, {failed} could not be unwrapped"
            ));
            self.record(e).await?;
            return Err(ServiceError::Internal);
        }
        Ok(RotateReport { version, rewrapped })
    }
}
