//! `Idempotency-Key` on `POST /v1/employees`: a retried create returns the original record.
//!
//! A key is bound to its user and to a keyed MAC of the request body (the body holds an SSN,
//! so it is never stored, not even hashed without a key). Same key + same body within 24 h: the
//! original record, audited as a replay; another body: 409. The reservation is written in the
//! same store transaction as the record, so concurrent retries create one record.

use jiff::{SignedDuration, Timestamp};
use subtle::ConstantTimeEq;

use super::access::{Grant, Opens};
use super::records::plaintext::masked_view;
use super::{EmployeeView, Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Outcome};
use crate::model::{EmployeeId, UserId};
use crate::store::{Loaded, StoredIdempotency};

/// A validated `Idempotency-Key` and the keyed digest of the body it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    key: String,
    body_mac: [u8; 32],
}

/// What a known key means for a create.
pub(super) enum Replay {
    /// The original record: answer with it.
    Done(Box<EmployeeView>),
    /// Go ahead (replacing the expired reservation, if any).
    Fresh(Option<Loaded<StoredIdempotency>>),
}

impl IdempotencyKey {
    /// The reservation stored with the record this key creates.
    pub(super) fn reservation(
        &self,
        user_id: UserId,
        employee_id: EmployeeId,
        now: Timestamp,
    ) -> StoredIdempotency {
        StoredIdempotency {
            user_id,
            key: self.key.clone(),
            body_mac: self.body_mac,
            employee_id,
            created_at: now,
        }
    }
}

impl Vault {
    /// Looks up an idempotency key: the original record (audited as a replay), a 409 for another
    /// body, or `Fresh` (with the expired reservation to replace, if any) to go ahead.
    pub(super) async fn idempotent_replay<P: Opens>(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        grant: &Grant<P>,
        action: Action,
        k: &IdempotencyKey,
    ) -> Result<Replay, ServiceError> {
        let Some(found) = self.inner.store.idempotency(&who.user_id, &k.key)? else {
            return Ok(Replay::Fresh(None));
        };
        let expires = found
            .value
            .created_at
            .checked_add(SignedDuration::from_hours(24))
            .unwrap_or(Timestamp::MAX);
        if expires <= self.now() {
            return Ok(Replay::Fresh(Some(found)));
        }
        let employee = found.value.employee_id;
        if !bool::from(found.value.body_mac.ct_eq(&k.body_mac)) {
            let err = ServiceError::Conflict {
                field: None,
                message: "this Idempotency-Key was already used with a different request body"
                    .into(),
            };
            return Err(self.fail(who, ctx, action, Some(employee), err).await);
        }
        let Some((_, rec)) = self.load_live(&employee)? else {
            return Err(self
                .fail(who, ctx, action, Some(employee), ServiceError::NotFound)
                .await);
        };
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = Some(employee);
        e.reason = Some("idempotent replay: no new record".into());
        let recorded = self.record(e).await?;
        Ok(Replay::Done(Box::new(masked_view(
            self, grant, &recorded, &rec,
        )?)))
    }

    /// Validates an `Idempotency-Key` header (1-255 visible ASCII characters) and computes the
    /// keyed digest of the body it is bound to.
    pub fn idempotency_key(&self, key: &str, body: &[u8]) -> Result<IdempotencyKey, ServiceError> {
        if !(1..=255).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServiceError::BadRequest(
                "Idempotency-Key must be 1-255 visible ASCII characters".into(),
            ));
        }
        Ok(IdempotencyKey {
            key: key.to_owned(),
            body_mac: self
                .inner
                .keys
                .index_key()
                .mac(b"hrvault/idempotency/v1", body),
        })
    }
}
