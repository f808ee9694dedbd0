//! `POST /v1/employees` and `POST /v1/honeytokens`: seal a new record under a key of its own.

use super::plaintext::{masked_view_of_new, new_record_key};
use super::{EmployeeView, Meta};
use crate::audit::{Action, Outcome};
use crate::model::{EmployeeDraft, EmployeeId, NewEmployee};
use crate::service::access::{Create, Grant, Opens, PlantHoneytoken};
use crate::service::idempotency::{IdempotencyKey, Replay};
use crate::service::{ChangeError, Principal, RequestCtx, ServiceError, Vault};
use crate::store::{Store, StoreError};

impl Vault {
    /// Creates a record and returns it as the caller may see it. With an idempotency key, a
    /// retry with the same body returns the record the first request created (no second
    /// record); the same key with another body is a 409. Runs to its end once started.
    pub async fn create_employee(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        draft: Result<EmployeeDraft, ServiceError>,
        idempotency: Result<Option<IdempotencyKey>, ServiceError>,
    ) -> Result<EmployeeView, ServiceError> {
        let grant = self.authorize::<Create>(who, ctx, None, None).await?;
        let (draft, idempotency) = (draft?, idempotency?);
        let (v, who, ctx) = (self.clone(), who.clone(), ctx.clone());
        self.detached(async move {
            v.create(&who, &ctx, &grant, draft, false, idempotency)
                .await
        })
        .await
    }

    /// Plants a honeytoken: a record like any other to everyone, whose every touch alerts.
    pub async fn create_honeytoken(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        draft: Result<EmployeeDraft, ServiceError>,
    ) -> Result<EmployeeView, ServiceError> {
        let grant = self
            .authorize::<PlantHoneytoken>(who, ctx, None, None)
            .await?;
        let draft = draft?;
        let (v, who, ctx) = (self.clone(), who.clone(), ctx.clone());
        self.detached(async move { v.create(&who, &ctx, &grant, draft, true, None).await })
            .await
    }

    async fn create<P: Opens>(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &Grant<P>,
        draft: EmployeeDraft,
        honeytoken: bool,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<EmployeeView, ServiceError> {
        let action = if honeytoken {
            Action::HoneytokenCreate
        } else {
            Action::EmployeeCreate
        };
        let expired = match &idempotency {
            None => None,
            Some(k) => match self.idempotent_replay(who, ctx, grant, action, k).await? {
                Replay::Done(view) => return Ok(*view),
                Replay::Fresh(expired) => expired,
            },
        };
        let new = match NewEmployee::parse(&draft) {
            Ok(n) => n,
            Err(errs) => {
                return Err(self
                    .fail(who, ctx, action, None, ServiceError::Invalid(errs))
                    .await);
            }
        };
        drop(draft);
        let index = self.inner.keys.index_key().ssn(&new.sensitive.ssn);
        let number = super::number_key(&new.public.employee_number);
        let _serial = self.inner.write_locks.lock(&[&number, &index.0]).await;
        let store = &self.inner.store;
        if store
            .employee_id_by_number(&new.public.employee_number)?
            .is_some()
        {
            let err =
                ServiceError::conflict("employee_number", "employee_number is already in use");
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        if store.employee_id_by_ssn(&index)?.is_some() {
            let err = ServiceError::conflict("ssn", "a record with this ssn already exists");
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        let id = EmployeeId::random();
        if honeytoken {
            // Known to the monitor before the decoy exists (see `service::honeytokens`).
            self.inner.honeytokens.add(store, id)?;
        }
        let now = self.now();
        let (key, key_ref) = new_record_key(self, &id)?;
        let meta = Meta {
            version: 1,
            created_at: now,
            updated_at: now,
            honeytoken,
        };
        let sealed = self.seal_record(id, &key, key_ref, new.public, &new.sensitive, meta);
        drop(key);
        let rec = match sealed {
            Ok(r) => r,
            Err(e) => {
                let _ = store.release_record_key(key_ref.slot);
                return Err(e);
            }
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(id);
        let reservation = idempotency
            .as_ref()
            .map(|k| k.reservation(who.user_id, id, now));
        let insert =
            Store::insert_employee_batch(&rec, reservation.as_ref().map(|r| (r, expired.as_ref())));
        // The key slot must be durable before the record that points at it can be.
        let recorded = match self.record_change(e, insert, true).await {
            Ok(r) => r,
            Err(ChangeError::Unrecorded(err)) => {
                let _ = store.release_record_key(key_ref.slot);
                return Err(err);
            }
            Err(ChangeError::Refused(StoreError::Conflict("idempotency"))) => {
                let _ = store.release_record_key(key_ref.slot);
                // A concurrent request with the same key won: this one created nothing.
                let _ = self
                    .write_failed(who, ctx, action, id, StoreError::Conflict("idempotency"))
                    .await;
                let key = idempotency.as_ref().expect("a reservation implies a key");
                return match self.idempotent_replay(who, ctx, grant, action, key).await? {
                    Replay::Done(view) => Ok(*view),
                    Replay::Fresh(_) => Err(ServiceError::Conflict {
                        field: None,
                        message: "the Idempotency-Key is in use; retry".into(),
                    }),
                };
            }
            Err(ChangeError::Refused(err)) => {
                let _ = store.release_record_key(key_ref.slot);
                return Err(self.write_failed(who, ctx, action, id, err).await);
            }
        };
        self.durable().await?;
        masked_view_of_new(grant, &recorded, &rec, &new.sensitive)
    }
}
