//! Sealing and opening a record's sensitive fields.
//!
//! Opening for a response needs both proofs: the policy's `AccessGranted` and the writer's
//! `AuditRecorded`, so plaintext cannot be produced for a request whose audit entry is not
//! durable yet. Opening to merge a PATCH produces plaintext that never leaves the service.

use jiff::Timestamp;
use zeroize::Zeroizing;

use super::{ServiceError, Vault};
use crate::audit::AuditRecorded;
use crate::auth::AccessGranted;
use crate::crypto::RecordKey;
use crate::model::{
    BankAccount, DateOfBirth, EmployeeId, FieldName, HomeAddress, PublicFields, RecordKeyRef,
    SensitiveFields, Ssn,
};
use crate::store::StoredEmployee;

impl Vault {
    /// Seals a new or updated record. `key` is the record's existing key on update, or a fresh
    /// one on create; every field gets a fresh nonce either way.
    pub(crate) fn seal_record(
        &self,
        id: EmployeeId,
        key: &RecordKey,
        key_ref: RecordKeyRef,
        public: PublicFields,
        sensitive: &SensitiveFields,
        meta: (u64, Timestamp, Timestamp, bool),
    ) -> Result<StoredEmployee, ServiceError> {
        let (version, created_at, updated_at, honeytoken) = meta;
        let keys = &self.inner.keys;
        let ssn_text = sensitive.ssn.formatted();
        Ok(StoredEmployee {
            id,
            public,
            version,
            created_at,
            updated_at,
            honeytoken,
            record_key: key_ref,
            ssn: key.seal_field(&id, FieldName::Ssn, ssn_text.as_bytes())?,
            ssn_index: keys.index_key().ssn(&sensitive.ssn),
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

    /// A fresh record key for `id`, wrapped under the current master key and stored in its own
    /// key slot (freed with `release_record_key` if the record is not stored after all).
    pub(crate) fn new_record_key(
        &self,
        id: &EmployeeId,
    ) -> Result<(RecordKey, RecordKeyRef), ServiceError> {
        let key = RecordKey::generate()?;
        let wrapped = self.inner.keys.wrap_record_key(id, &key)?;
        let slot = self.inner.store.put_record_key(&wrapped.sealed)?;
        Ok((
            key,
            RecordKeyRef {
                slot,
                master_version: wrapped.master_version,
                key_version: wrapped.key_version,
            },
        ))
    }

    /// The record's key, unwrapped from its slot.
    pub(crate) fn record_key(&self, rec: &StoredEmployee) -> Result<RecordKey, ServiceError> {
        let wrapped = self.inner.store.record_key(rec)?;
        Ok(self.inner.keys.unwrap_record_key(&rec.id, &wrapped)?)
    }

    /// Opens one field. Stored bytes that do not open are a damaged or tampered store: 500,
    /// logged by id and field only.
    fn open_field(
        key: &RecordKey,
        rec: &StoredEmployee,
        field: FieldName,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, ServiceError> {
        let sealed = match field {
            FieldName::Ssn => Some(&rec.ssn),
            FieldName::DateOfBirth => Some(&rec.date_of_birth),
            FieldName::HomeAddress => rec.home_address.as_ref(),
            FieldName::BankAccount => rec.bank_account.as_ref(),
        };
        sealed
            .map(|s| {
                key.open_field(&rec.id, field, s).map_err(|_| {
                    tracing::error!(employee_id = %rec.id, field = field.as_str(), "sealed field does not open");
                    ServiceError::Internal
                })
            })
            .transpose()
    }

    fn damaged(rec: &StoredEmployee, field: FieldName) -> ServiceError {
        tracing::error!(employee_id = %rec.id, field = field.as_str(), "opened field does not parse");
        ServiceError::Internal
    }

    pub(crate) fn open_ssn(key: &RecordKey, rec: &StoredEmployee) -> Result<Ssn, ServiceError> {
        let raw = Self::open_field(key, rec, FieldName::Ssn)?
            .ok_or_else(|| Self::damaged(rec, FieldName::Ssn))?;
        let text = std::str::from_utf8(&raw).map_err(|_| Self::damaged(rec, FieldName::Ssn))?;
        Ssn::parse(text).map_err(|_| Self::damaged(rec, FieldName::Ssn))
    }

    pub(crate) fn open_dob(
        key: &RecordKey,
        rec: &StoredEmployee,
    ) -> Result<DateOfBirth, ServiceError> {
        let raw = Self::open_field(key, rec, FieldName::DateOfBirth)?
            .ok_or_else(|| Self::damaged(rec, FieldName::DateOfBirth))?;
        let text =
            std::str::from_utf8(&raw).map_err(|_| Self::damaged(rec, FieldName::DateOfBirth))?;
        DateOfBirth::parse(text).ok_or_else(|| Self::damaged(rec, FieldName::DateOfBirth))
    }

    pub(crate) fn open_address(
        key: &RecordKey,
        rec: &StoredEmployee,
    ) -> Result<Option<HomeAddress>, ServiceError> {
        Self::open_field(key, rec, FieldName::HomeAddress)?
            .map(|raw| {
                HomeAddress::from_plaintext(&raw)
                    .ok_or_else(|| Self::damaged(rec, FieldName::HomeAddress))
            })
            .transpose()
    }

    pub(crate) fn open_bank(
        key: &RecordKey,
        rec: &StoredEmployee,
    ) -> Result<Option<BankAccount>, ServiceError> {
        Self::open_field(key, rec, FieldName::BankAccount)?
            .map(|raw| {
                BankAccount::from_plaintext(&raw)
                    .ok_or_else(|| Self::damaged(rec, FieldName::BankAccount))
            })
            .transpose()
    }

    /// All sensitive fields, to merge a PATCH (never returned to the caller as such).
    pub(crate) fn open_for_update(
        &self,
        _grant: &AccessGranted,
        rec: &StoredEmployee,
    ) -> Result<(RecordKey, SensitiveFields), ServiceError> {
        let key = self.record_key(rec)?;
        let fields = SensitiveFields {
            ssn: Self::open_ssn(&key, rec)?,
            date_of_birth: Self::open_dob(&key, rec)?,
            home_address: Self::open_address(&key, rec)?,
            bank_account: Self::open_bank(&key, rec)?,
        };
        Ok((key, fields))
    }

    /// The record key, for a response: requires the audit entry to be durable.
    pub(crate) fn key_for_response(
        &self,
        _grant: &AccessGranted,
        _recorded: &AuditRecorded,
        rec: &StoredEmployee,
    ) -> Result<RecordKey, ServiceError> {
        self.record_key(rec)
    }
}
