//! The record wing: one file per operation on employee records, each authorizing itself through
//! `service::access` and reaching plaintext only through `plaintext` (DESIGN §8).
//!
//! Every operation follows one order: decide (a refusal is audited before the 403) → parse and
//! validate → **audit** → act → answer. An entry is durable before any plaintext is produced for
//! a response and before a write is applied; the write is made durable by the same group commit
//! before the response. Operations that change something run detached from the request
//! (`Vault::detached`), so a client that hangs up cannot leave an entry saying `success` about a
//! change that was never made.

mod create;
pub(crate) mod delete;
mod import;
mod list;
mod lookup;
pub(crate) mod plaintext;
mod read;
mod reveal;
mod seal;
mod update;
mod view;

pub use import::{IMPORT_BODY_LIMIT, ImportResult, RejectedRow};
pub use list::{ListPage, ListQuery};
pub(crate) use lookup::LookupQuota;
pub use lookup::LookupRequest;
pub use plaintext::Revealed;
pub(crate) use plaintext::new_record_key;
pub use reveal::RevealRequest;
pub(crate) use seal::Meta;
pub use view::EmployeeView;

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::Action;
use crate::model::EmployeeId;
use crate::store::{EmployeeEntry, Loaded, StoreError, StoredEmployee};

/// A record id from a path, parsed at the edge: `None` for text that is no id, which every
/// operation answers like an unknown id (404), after the role check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef(Option<EmployeeId>);

impl RecordRef {
    /// Parses a path segment.
    pub fn parse(s: &str) -> Self {
        Self(s.parse().ok())
    }

    /// The id, if the text was one.
    pub fn id(self) -> Option<EmployeeId> {
        self.0
    }
}

impl From<EmployeeId> for RecordRef {
    fn from(id: EmployeeId) -> Self {
        Self(Some(id))
    }
}

/// Locks that make each write's check → audit → apply one step per record and per unique value:
/// two writes that could conflict (an update and a delete of one record, two creates with one
/// SSN) run one after the other, so the second sees what the first did *before* it writes its
/// entry, and an entry that says `success` is never followed by a store conflict that undoes
/// it. Striped (a fixed number of mutexes, chosen by a hash of the key), so memory is bounded
/// and writes to different records rarely wait for each other.
#[derive(Debug)]
pub(crate) struct WriteLocks {
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

impl Default for WriteLocks {
    fn default() -> Self {
        Self {
            stripes: (0..256).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl WriteLocks {
    /// Locks the stripes of every key, in stripe order (so two writers never deadlock).
    pub(crate) async fn lock(&self, keys: &[&[u8]]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hasher = BuildHasherDefault::<DefaultHasher>::default();
        let mut idx: Vec<usize> = keys
            .iter()
            .map(|k| (hasher.hash_one(k) as usize) % self.stripes.len())
            .collect();
        idx.sort_unstable();
        idx.dedup();
        let mut guards = Vec::with_capacity(idx.len());
        for i in idx {
            guards.push(self.stripes[i].lock().await);
        }
        guards
    }
}

/// The lock key of an employee number (compared case-insensitively, as the store does).
fn number_key(number: &str) -> Vec<u8> {
    let mut k = b"number:".to_vec();
    k.extend(number.trim().to_ascii_lowercase().bytes());
    k
}

impl Vault {
    /// The live record `id`, with the loaded entry (for compare-and-set writes).
    pub(crate) fn load_live(
        &self,
        id: &EmployeeId,
    ) -> Result<Option<(Loaded<EmployeeEntry>, StoredEmployee)>, ServiceError> {
        Ok(self.inner.store.employee(id)?.and_then(|l| {
            let live = l.value.live().cloned();
            live.map(|e| (l, e))
        }))
    }

    fn find(
        &self,
        r: RecordRef,
    ) -> Result<Option<(Loaded<EmployeeEntry>, StoredEmployee)>, ServiceError> {
        match r.0 {
            Some(id) => self.load_live(&id),
            None => Ok(None),
        }
    }

    /// A write that was audited as successful did not apply (a concurrent request won a race,
    /// or the store failed): record a second entry with the same request id saying so.
    async fn write_failed(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        action: Action,
        id: EmployeeId,
        err: StoreError,
    ) -> ServiceError {
        let mapped = match err {
            StoreError::Conflict("employee_number") => {
                ServiceError::conflict("employee_number", "employee_number is already in use")
            }
            StoreError::Conflict("ssn") => {
                ServiceError::conflict("ssn", "a record with this ssn already exists")
            }
            StoreError::Conflict(_) => ServiceError::Conflict {
                field: None,
                message: "the record was changed concurrently; retry".into(),
            },
            other => ServiceError::from(other),
        };
        self.fail(who, ctx, action, Some(id), mapped).await
    }
}
