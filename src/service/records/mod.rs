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
mod delete;
mod list;
mod lookup;
pub(crate) mod plaintext;
mod read;
mod reveal;
mod seal;
mod update;
mod view;

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
