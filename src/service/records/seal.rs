//! Sealing a record's sensitive fields for storage. Sealing needs a record key but never opens
//! anything: the key is a fresh one (create) or the one `plaintext::merge_patch` unwrapped
//! (update). Every field gets a fresh nonce and associated data binding it to (record id, field,
//! key version).

use jiff::Timestamp;

use crate::crypto::RecordKey;
use crate::model::{EmployeeId, FieldName, PublicFields, RecordKeyRef, SensitiveFields};
use crate::service::{ServiceError, Vault};
use crate::store::StoredEmployee;

/// What a sealed record carries besides its fields.
pub(crate) struct Meta {
    pub(crate) version: u64,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
    pub(crate) honeytoken: bool,
}

impl Vault {
    /// Seals a new or updated record under `key`.
    pub(crate) fn seal_record(
        &self,
        id: EmployeeId,
        key: &RecordKey,
        key_ref: RecordKeyRef,
        public: PublicFields,
        sensitive: &SensitiveFields,
        meta: Meta,
    ) -> Result<StoredEmployee, ServiceError> {
        let ssn_text = sensitive.ssn.formatted();
        Ok(StoredEmployee {
            id,
            public,
            version: meta.version,
            created_at: meta.created_at,
            updated_at: meta.updated_at,
            honeytoken: meta.honeytoken,
            record_key: key_ref,
            ssn: key.seal_field(&id, FieldName::Ssn, ssn_text.as_bytes())?,
            ssn_index: self.inner.keys.index_key().ssn(&sensitive.ssn),
            date_of_birth: key.seal_field(
                &id,
                FieldName::DateOfBirth,
                sensitive.date_of_birth.as_str().as_bytes(),
            )?,
            home_address: sensitive
                .home_address
                .as_ref()
                .map(|a| key.seal_field(&id, FieldName::HomeAddress, &a.to_plaintext()))
                .transpose()?,
            bank_account: sensitive
                .bank_account
                .as_ref()
                .map(|b| key.seal_field(&id, FieldName::BankAccount, &b.to_plaintext()))
                .transpose()?,
        })
    }
}
