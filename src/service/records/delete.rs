//! `DELETE /v1/employees/{id}`: crypto-shred (record key destroyed, indexes freed).

use super::RecordRef;
use crate::audit::{Action, Outcome, Recorded};
use crate::service::access::{Delete, Grant};
use crate::service::{Principal, RequestCtx, ServiceError, Vault};
use crate::store::{EmployeeEntry, Loaded, StoreError};

/// Writes the tombstone that destroys the record's key: only with a delete grant bound to this
/// record and the durable entry about it.
pub(crate) fn shred(
    v: &Vault,
    grant: &Grant<Delete>,
    recorded: &Recorded,
    loaded: &Loaded<EmployeeEntry>,
) -> Result<(), StoreError> {
    let id = loaded.value.live().map(|r| r.id);
    if id.is_none() || grant.record() != id || !id.is_some_and(|i| recorded.covers(&i)) {
        tracing::error!(
            seq = recorded.seq(),
            "a shred without its own grant and entry"
        );
        return Err(StoreError::Conflict("proof"));
    }
    v.inner.store.shred_employee(loaded, v.now()).map(drop)
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
            let recorded = v.record(e).await?;
            if let Err(err) = shred(&v, &grant, &recorded, &loaded) {
                return Err(v.write_failed(&who, &ctx, action, rec.id, err).await);
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
