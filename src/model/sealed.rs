//! Sealed bytes and the names of sensitive fields: the vocabulary `crypto` and `store` share
//! without importing each other.

use serde::{Deserialize, Serialize};

/// AES-256-GCM output: `nonce (12) || ciphertext || tag (16)`. Opaque to everyone but `crypto`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(pub Vec<u8>);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// The sensitive fields of an employee record, each encrypted on its own.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FieldName {
    /// Social security number.
    Ssn,
    /// Birth date.
    DateOfBirth,
    /// Postal address.
    HomeAddress,
    /// Routing + account number.
    BankAccount,
}

impl FieldName {
    /// Every sensitive field, in record order.
    pub const ALL: [FieldName; 4] = [
        FieldName::Ssn,
        FieldName::DateOfBirth,
        FieldName::HomeAddress,
        FieldName::BankAccount,
    ];

    /// The JSON field name; also bound into each ciphertext's associated data.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldName::Ssn => "ssn",
            FieldName::DateOfBirth => "date_of_birth",
            FieldName::HomeAddress => "home_address",
            FieldName::BankAccount => "bank_account",
        }
    }

    /// Parses a JSON field name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A record key sealed under a master-key version: what the store keeps next to the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedRecordKey {
    /// Which master key wraps it (changes on `keys rotate`).
    pub master_version: u32,
    /// The record key's own version (bound into every field's associated data).
    pub key_version: u32,
    /// `seal(master, record key, record_key_aad)`.
    pub sealed: Sealed,
}

/// A keyed blind index value (HMAC-SHA256), usable as a store key without revealing its input.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlindIndex(pub [u8; 32]);

impl std::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndex(..)")
    }
}

/// Where a record's wrapped key lives: a slot of the key-slot file (which is overwritten in
/// place when the record is shredded), and the versions its wrap is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordKeyRef {
    /// Slot number in `keyslots.bin`.
    pub slot: u64,
    /// Master key version that wraps it.
    pub master_version: u32,
    /// The record key's own version.
    pub key_version: u32,
}
