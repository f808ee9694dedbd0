//! `Idempotency-Key` reservations for `POST /v1/employees`: per user and key, a keyed digest of
//! the request body (it contains sensitive values, so never a plain hash) and the record created.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Batch, Check, Loaded, Op, Store, StoreError, Tree, codec};
use crate::model::{EmployeeId, UserId};

/// One reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIdempotency {
    pub user_id: UserId,
    pub key: String,
    /// HMAC of the request body under the vault's index key.
    pub body_mac: [u8; 32],
    pub employee_id: EmployeeId,
    pub created_at: Timestamp,
}

pub(super) fn idempotency_key(user: &UserId, key: &str) -> Vec<u8> {
    let mut k = user.as_bytes().to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

impl StoredIdempotency {
    /// The store key of this reservation.
    pub(super) fn store_key(&self) -> Vec<u8> {
        idempotency_key(&self.user_id, &self.key)
    }

    /// The check and write that reserve it inside a record insert: the key must still be free,
    /// or still hold exactly the expired reservation being replaced.
    pub(super) fn reserve(&self, replacing: Option<&Loaded<StoredIdempotency>>, batch: &mut Batch) {
        let key = self.store_key();
        batch.checks.push(match replacing {
            None => Check::Absent(Tree::Idempotency, key.clone(), "idempotency"),
            Some(old) => Check::Equals(
                Tree::Idempotency,
                key.clone(),
                old.raw.clone(),
                "idempotency",
            ),
        });
        batch
            .ops
            .push(Op::Put(Tree::Idempotency, key, codec::encode(self)));
    }
}

impl Store {
    /// The reservation of `key` by `user`, if any (expired or not).
    pub fn idempotency(
        &self,
        user: &UserId,
        key: &str,
    ) -> Result<Option<Loaded<StoredIdempotency>>, StoreError> {
        self.load(Tree::Idempotency, &idempotency_key(user, key))
    }

    /// Forgets reservations created before `cutoff`; returns how many.
    pub fn purge_idempotency(&self, cutoff: Timestamp) -> Result<usize, StoreError> {
        let mut ops = Vec::new();
        for r in self.backend.range(Tree::Idempotency, &[], None) {
            let (k, v) = r?;
            match codec::decode::<StoredIdempotency>(&v) {
                Ok(i) if i.created_at >= cutoff => {}
                _ => ops.push(Op::Delete(Tree::Idempotency, k)),
            }
        }
        let n = ops.len();
        if n > 0 {
            self.backend.apply(&Batch {
                checks: vec![],
                ops,
            })?;
        }
        Ok(n)
    }
}
