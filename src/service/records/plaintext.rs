//! The one door to plaintext: the only place a record key is unwrapped and a sealed field opened
//! (DESIGN §8).
//!
//! Every function here takes a [`Grant`] of the exact permission it serves and the [`Recorded`]
//! proof of an audit entry that names the same record, checked here; so nothing leaves sealed
//! storage for a caller without a decision of `service::access` *and* a durable entry about that
//! record. Work that must look at a stored value before the entry is written (merging a PATCH)
//! yields an [`Unrecorded`] whose contents are released only against such an entry.
//!
//! Must never: return a value to a caller whose `Recorded` names another record, log a value,
//! or keep plaintext outside a zeroizing type. Plaintext intermediates here are `Zeroizing` or
//! zeroize on drop (`Ssn`, `DateOfBirth`, `HomeAddress`, `BankAccount`).

use serde::Serialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::EmployeeView;
use crate::audit::{Action, Recorded};
use crate::auth::{FieldView, field_view};
use crate::clock::rfc3339;
use crate::crypto::RecordKey;
use crate::model::{
    BankAccount, DateOfBirth, EmployeeDraft, EmployeeId, EmployeePatch, FieldName, HomeAddress,
    NewEmployee, SensitiveFields, Ssn, ValidationErrors,
};
use crate::service::access::{Compare, Export, Grant, Opens, Reveal, Update};
use crate::service::payroll::{PayrollFields, write_payroll_line};
use crate::service::{ServiceError, Vault};
use crate::store::StoredEmployee;

/// A result computed from plaintext before its audit entry exists: it reaches the caller only
/// through [`Unrecorded::release`], with an entry naming the same record.
pub(crate) struct Unrecorded<T> {
    record: EmployeeId,
    value: T,
}

impl<T> Unrecorded<T> {
    /// Looks inside without releasing: for choosing the entry's outcome and fields only.
    pub(super) fn peek(&self) -> &T {
        &self.value
    }

    /// The value, once `recorded` (an entry about this record) is durable.
    pub(super) fn release(self, recorded: &Recorded) -> Result<T, ServiceError> {
        same_record(recorded, &self.record)?;
        Ok(self.value)
    }
}

/// A PATCH merged with the stored record: the validated result (or what is wrong with it) and
/// the record key to seal it with.
pub(crate) struct Merged {
    pub(super) key: RecordKey,
    pub(super) result: Result<NewEmployee, ValidationErrors>,
}

/// The plaintext body of a reveal: the fields asked for, in full.
#[derive(Serialize, ToSchema)]
#[schema(
    as = RevealedFields,
    description = "The fields asked for, in full; the others are left out."
)]
pub struct Revealed<'a> {
    /// `AAA-GG-SSSS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    ssn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = Date)]
    date_of_birth: Option<&'a str>,
    /// Null if the record has no address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<HomeAddress>)]
    home_address: Option<Option<&'a HomeAddress>>,
    /// Null if the record has no bank account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BankAccount>)]
    bank_account: Option<Option<&'a BankAccount>>,
}

/// A bug, not an input: an entry about one record used to open another. Logged by ids only.
fn same_record(recorded: &Recorded, id: &EmployeeId) -> Result<(), ServiceError> {
    if recorded.covers(id) {
        return Ok(());
    }
    tracing::error!(seq = recorded.seq(), employee_id = %id, "audit proof names another record");
    Err(ServiceError::Internal)
}

/// The record's key, unwrapped from its slot: the only unwrap of a record key for a request.
fn record_key(v: &Vault, rec: &StoredEmployee) -> Result<RecordKey, ServiceError> {
    let wrapped = v.inner.store.record_key(rec)?;
    Ok(v.inner.keys.unwrap_record_key(&rec.id, &wrapped)?)
}

/// Opens one field. Stored bytes that do not open are a damaged or tampered store: 500, logged
/// by id and field only.
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

fn open_ssn(key: &RecordKey, rec: &StoredEmployee) -> Result<Ssn, ServiceError> {
    let raw = open_field(key, rec, FieldName::Ssn)?.ok_or_else(|| damaged(rec, FieldName::Ssn))?;
    let text = std::str::from_utf8(&raw).map_err(|_| damaged(rec, FieldName::Ssn))?;
    Ssn::parse(text).map_err(|_| damaged(rec, FieldName::Ssn))
}

fn open_dob(key: &RecordKey, rec: &StoredEmployee) -> Result<DateOfBirth, ServiceError> {
    let raw = open_field(key, rec, FieldName::DateOfBirth)?
        .ok_or_else(|| damaged(rec, FieldName::DateOfBirth))?;
    let text = std::str::from_utf8(&raw).map_err(|_| damaged(rec, FieldName::DateOfBirth))?;
    DateOfBirth::parse(text).ok_or_else(|| damaged(rec, FieldName::DateOfBirth))
}

fn open_address(
    key: &RecordKey,
    rec: &StoredEmployee,
) -> Result<Option<HomeAddress>, ServiceError> {
    open_field(key, rec, FieldName::HomeAddress)?
        .map(|raw| {
            HomeAddress::from_plaintext(&raw).ok_or_else(|| damaged(rec, FieldName::HomeAddress))
        })
        .transpose()
}

fn open_bank(key: &RecordKey, rec: &StoredEmployee) -> Result<Option<BankAccount>, ServiceError> {
    open_field(key, rec, FieldName::BankAccount)?
        .map(|raw| {
            BankAccount::from_plaintext(&raw).ok_or_else(|| damaged(rec, FieldName::BankAccount))
        })
        .transpose()
}

/// The public part of a record's view; the sensitive fields are filled in per role.
fn public_view(rec: &StoredEmployee) -> EmployeeView {
    let p = &rec.public;
    EmployeeView {
        id: rec.id.to_string(),
        employee_number: p.employee_number.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        preferred_name: p.preferred_name.clone(),
        work_email: p.work_email.clone(),
        department: p.department.clone(),
        job_title: p.job_title.clone(),
        manager_id: p.manager_id.map(|m| m.to_string()),
        location: p.location.clone(),
        hire_date: p.hire_date.to_string(),
        status: p.status.as_str(),
        termination_date: p.termination_date.map(|d| d.to_string()),
        ssn: None,
        date_of_birth: None,
        home_address: None,
        bank_account: None,
        version: rec.version,
        created_at: rfc3339(rec.created_at),
        updated_at: rfc3339(rec.updated_at),
    }
}

/// Fills the masked sensitive fields (CONTRACT §2: hr and payroll).
fn mask(
    view: &mut EmployeeView,
    ssn: &Ssn,
    address: Option<&HomeAddress>,
    bank: Option<&BankAccount>,
) {
    view.ssn = Some(ssn.masked());
    view.date_of_birth = Some("****-**-**");
    view.home_address = Some(address.map(HomeAddress::masked));
    view.bank_account = Some(bank.map(BankAccount::masked));
}

/// The record as the grant's role may see it (CONTRACT §2 masking table). Decrypts only what
/// the mask needs (SSN and account last digits, address city/state/country), and nothing for a
/// role that sees no sensitive field.
pub(crate) fn masked_view<P: Opens>(
    v: &Vault,
    grant: &Grant<P>,
    recorded: &Recorded,
    rec: &StoredEmployee,
) -> Result<EmployeeView, ServiceError> {
    same_record(recorded, &rec.id)?;
    let mut view = public_view(rec);
    if field_view(grant.role()) == FieldView::Masked {
        let key = record_key(v, rec)?;
        let ssn = open_ssn(&key, rec)?;
        let address = open_address(&key, rec)?;
        let bank = open_bank(&key, rec)?;
        mask(&mut view, &ssn, address.as_ref(), bank.as_ref());
    }
    Ok(view)
}

/// The view of a record just sealed, built from the plaintext the request already holds (no
/// key unwrap, no decryption).
pub(crate) fn masked_view_of_new<P: Opens>(
    grant: &Grant<P>,
    recorded: &Recorded,
    rec: &StoredEmployee,
    sensitive: &SensitiveFields,
) -> Result<EmployeeView, ServiceError> {
    same_record(recorded, &rec.id)?;
    let mut view = public_view(rec);
    if field_view(grant.role()) == FieldView::Masked {
        let s = sensitive;
        mask(
            &mut view,
            &s.ssn,
            s.home_address.as_ref(),
            s.bank_account.as_ref(),
        );
    }
    Ok(view)
}

/// The fields asked for, in full, serialized straight into a zeroizing buffer.
pub(crate) fn reveal_body(
    v: &Vault,
    _grant: &Grant<Reveal>,
    recorded: &Recorded,
    rec: &StoredEmployee,
    fields: &[FieldName],
) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
    same_record(recorded, &rec.id)?;
    if recorded.action() != Action::EmployeeReveal {
        tracing::error!(
            seq = recorded.seq(),
            "a reveal opened under another action's entry"
        );
        return Err(ServiceError::Internal);
    }
    let key = record_key(v, rec)?;
    let want = |f: FieldName| fields.contains(&f);
    let ssn = want(FieldName::Ssn)
        .then(|| open_ssn(&key, rec))
        .transpose()?
        .map(|s| s.formatted());
    let dob = want(FieldName::DateOfBirth)
        .then(|| open_dob(&key, rec))
        .transpose()?;
    let address = want(FieldName::HomeAddress)
        .then(|| open_address(&key, rec))
        .transpose()?;
    let bank = want(FieldName::BankAccount)
        .then(|| open_bank(&key, rec))
        .transpose()?;
    let body = Revealed {
        ssn: ssn.as_deref().map(String::as_str),
        date_of_birth: dob.as_ref().map(DateOfBirth::as_str),
        home_address: address.as_ref().map(Option::as_ref),
        bank_account: bank.as_ref().map(Option::as_ref),
    };
    // Reserve enough that serialization never reallocates and strands plaintext copies.
    let mut out = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(&mut *out, &body).map_err(|_| ServiceError::Internal)?;
    Ok(out)
}

/// One NDJSON line of the payroll export, appended to `out`. The export's entry names its
/// records inline, or (for a very large export) by the digest of the id list the records are
/// streamed from; either way it must be an export entry.
pub(crate) fn payroll_line(
    v: &Vault,
    _grant: &Grant<Export>,
    recorded: &Recorded,
    rec: &StoredEmployee,
    out: &mut Zeroizing<Vec<u8>>,
) -> Result<(), ServiceError> {
    if recorded.action() != Action::EmployeeExport {
        tracing::error!(
            seq = recorded.seq(),
            "an export opened under another action's entry"
        );
        return Err(ServiceError::Internal);
    }
    if !recorded.names_no_record() {
        same_record(recorded, &rec.id)?;
    }
    let key = record_key(v, rec)?;
    let ssn = open_ssn(&key, rec)?;
    let address = open_address(&key, rec)?;
    let bank = open_bank(&key, rec)?;
    let fields = PayrollFields {
        id: rec.id,
        public: &rec.public,
        ssn: &ssn,
        home_address: address.as_ref(),
        bank_account: bank.as_ref(),
        version: rec.version,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
    };
    write_payroll_line(&fields, out);
    Ok(())
}

/// Merges `patch` into the stored record and validates the result by the rules of a create.
/// With `compare` (the patch changes `hire_date` but not `date_of_birth`, so the age rule tests
/// the new date against the stored birth date), a conflict says only that it conflicts with the
/// stored `date_of_birth`, on the field the caller supplied.
pub(crate) fn merge_patch(
    v: &Vault,
    _grant: &Grant<Update>,
    compare: Option<&Grant<Compare>>,
    rec: &StoredEmployee,
    patch: EmployeePatch,
) -> Result<Unrecorded<Merged>, ServiceError> {
    let key = record_key(v, rec)?;
    let current = SensitiveFields {
        ssn: open_ssn(&key, rec)?,
        date_of_birth: open_dob(&key, rec)?,
        home_address: open_address(&key, rec)?,
        bank_account: open_bank(&key, rec)?,
    };
    let mut draft = EmployeeDraft::from_parts(&rec.public, &current);
    drop(current);
    draft.apply(patch);
    let mut result = NewEmployee::parse(&draft);
    drop(draft);
    if compare.is_some()
        && let Err(errors) = &mut result
    {
        for e in &mut errors.0 {
            if e.field == "date_of_birth" {
                e.field = "hire_date".into();
                e.message = "conflicts with the stored date_of_birth".into();
            }
        }
    }
    Ok(Unrecorded {
        record: rec.id,
        value: Merged { key, result },
    })
}

/// A fresh record key for a record being created, wrapped under the current master key and
/// stored in its own key slot (freed with `release_record_key` if the record is not stored).
pub(crate) fn new_record_key(
    v: &Vault,
    id: &EmployeeId,
) -> Result<(RecordKey, crate::model::RecordKeyRef), ServiceError> {
    let key = RecordKey::generate()?;
    let wrapped = v.inner.keys.wrap_record_key(id, &key)?;
    let slot = v.inner.store.put_record_key(&wrapped.sealed)?;
    Ok((
        key,
        crate::model::RecordKeyRef {
            slot,
            master_version: wrapped.master_version,
            key_version: wrapped.key_version,
        },
    ))
}

#[cfg(test)]
mod tests;
