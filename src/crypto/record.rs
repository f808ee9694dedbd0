//! Per-record keys and field sealing.
//!
//! Threat: ciphertext swapping. A field sealed for (record A, `ssn`, key v1) must not open as
//! record B's SSN, as A's bank account, or under another key version, so the associated data names
//! all three. Record keys are wrapped under a master-key version, bound the same way.

use zeroize::Zeroizing;

use super::{CryptoError, SecretKey, aead};
pub use crate::model::WrappedRecordKey;
use crate::model::{EmployeeId, FieldName, Sealed};

/// Associated data of a sensitive field: `"hrvault/field/v1" 0x00 || record id (16) ||
/// record-key version (u32 BE) || field name`.
pub fn field_aad(record: &EmployeeId, field: FieldName, key_version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    aad.extend_from_slice(b"hrvault/field/v1\0");
    aad.extend_from_slice(record.as_bytes());
    aad.extend_from_slice(&key_version.to_be_bytes());
    aad.extend_from_slice(field.as_str().as_bytes());
    aad
}

/// Associated data of a wrapped record key: `"hrvault/record-key/v1" 0x00 || record id (16) ||
/// master-key version (u32 BE)`.
pub fn record_key_aad(record: &EmployeeId, master_version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(48);
    aad.extend_from_slice(b"hrvault/record-key/v1\0");
    aad.extend_from_slice(record.as_bytes());
    aad.extend_from_slice(&master_version.to_be_bytes());
    aad
}

/// A record's own data key, in clear. Lives only while one request handles that record.
pub struct RecordKey {
    key: SecretKey,
    version: u32,
}

impl RecordKey {
    /// A fresh random key, version 1.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            key: SecretKey::generate()?,
            version: 1,
        })
    }

    pub(crate) fn from_parts(key: SecretKey, version: u32) -> Self {
        Self { key, version }
    }

    pub(crate) fn secret(&self) -> &SecretKey {
        &self.key
    }

    /// The version bound into field associated data.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Seals one sensitive field of `record`.
    pub fn seal_field(
        &self,
        record: &EmployeeId,
        field: FieldName,
        plaintext: &[u8],
    ) -> Result<Sealed, CryptoError> {
        aead::seal(
            &self.key,
            plaintext,
            &field_aad(record, field, self.version),
        )
    }

    /// Opens one sensitive field of `record`; fails if the bytes were sealed for anything else.
    pub fn open_field(
        &self,
        record: &EmployeeId,
        field: FieldName,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        aead::open(&self.key, sealed, &field_aad(record, field, self.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_field_opens_only_where_it_was_sealed(pt in proptest::collection::vec(any::<u8>(), 1..64), f in 0usize..4, g in 0usize..4) {
            let key = RecordKey::generate().unwrap();
            let a = EmployeeId::random();
            let b = EmployeeId::random();
            let (fa, fg) = (FieldName::ALL[f], FieldName::ALL[g]);
            let sealed = key.seal_field(&a, fa, &pt).unwrap();
            let opened = key.open_field(&a, fa, &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), pt.as_slice());
            // swapped record
            prop_assert!(key.open_field(&b, fa, &sealed).is_err());
            // swapped field
            if f != g {
                prop_assert!(key.open_field(&a, fg, &sealed).is_err());
            }
            // other key version, same key bytes
            let v2 = RecordKey::from_parts(SecretKey::from_bytes(*key.secret().expose_secret()), 2);
            prop_assert!(v2.open_field(&a, fa, &sealed).is_err());
            // other record key
            prop_assert!(RecordKey::generate().unwrap().open_field(&a, fa, &sealed).is_err());
        }
    }
}
