//! `DELETE /v1/employees/{id}`: crypto-shred (record key destroyed, indexes freed).

use super::RecordRef;
use crate::audit::{Action, Outcome};
use crate::service::access::{Delete, Grant};
use crate::service::{ChangeError, Principal, RequestCtx, ServiceError, Vault};
use crate::store::{Batch, EmployeeEntry, Loaded, Store, StoreError};

/// The tombstone batch that destroys the record's key: only with a delete grant bound to this
/// record, committed with the entry about it (`Vault::record_change`).
pub(crate) fn shred_change(
    v: &Vault,
    grant: &Grant<Delete>,
    loaded: &Loaded<EmployeeEntry>,
) -> Result<Batch, StoreError> {
    let id = loaded.value.live().map(|r| r.id);
    if id.is_none() || grant.record() != id {
        tracing::error!("a shred without its own grant");
        return Err(StoreError::Conflict("proof"));
    }
    Store::shred_employee_batch(loaded, v.now()).map(|(batch, _)| batch)
}

impl Vault {
    /// Shreds a record. Refused on one's own linked record (403) and on any record a vault user
    /// is linked to (409). Runs to its end once started.
    pub async fn delete_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: RecordRef,
    ) -> Result<(), ServiceError> {
        let grant = self.authorize::<Delete>(who, ctx, id.id(), None).await?;
        let (v, who, ctx) = (self.clone(), who.clone(), ctx.clone());
        self.detached(async move {
            let action = Action::EmployeeDelete;
            let key = id.id().map(|i| *i.as_bytes()).unwrap_or_default();
            let _serial = v.inner.write_locks.lock(&[&key]).await;
            let Some((loaded, rec)) = v.find(id)? else {
                return Err(v
                    .fail(&who, &ctx, action, id.id(), ServiceError::NotFound)
                    .await);
            };
            let grant = v.bind(&who, &ctx, grant, &rec, action).await?;
            let mut e = v.entry(&who, &ctx, action, Outcome::Success);
            e.employee_id = Some(rec.id);
            let shred = match shred_change(&v, &grant, &loaded) {
                Ok(b) => b,
                Err(err) => return Err(v.write_failed(&who, &ctx, action, rec.id, err).await),
            };
            match v.record_change(e, shred, false).await {
                Ok(_) => {}
                Err(ChangeError::Unrecorded(err)) => return Err(err),
                Err(ChangeError::Refused(err)) => {
                    return Err(v.write_failed(&who, &ctx, action, rec.id, err).await);
                }
            }
            // The tombstone (with its shred mark) is durable before the key slot is overwritten,
            // so a crash can never leave a live record without its key.
            v.durable().await?;
            let store = v.inner.store.clone();
            tokio::task::spawn_blocking(move || store.complete_pending_shreds())
                .await
                .map_err(|_| ServiceError::Internal)??;
            Ok(())
        })
        .await
    }
}
