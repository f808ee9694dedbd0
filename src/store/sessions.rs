//! Web console sessions, keyed by the SHA-256 of the session secret.
//!
//! The secret lives only in the browser's cookie; the store holds its hash, so neither a copy of
//! the data dir nor a database dump can be replayed as a session. Sessions live in the store,
//! not in a node's memory, so every node of a cluster sees a sign-in and a sign-out at once.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Batch, Op, Store, StoreError, Tree, codec};
use crate::model::{Role, UserId};

/// A signed-in console session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub user_id: UserId,
    /// The role and token generation at sign-in: a change to either ends the session, as it
    /// refuses a bearer token.
    pub role: Role,
    pub token_generation: u32,
    pub created_at: Timestamp,
    /// Last request seen (updated at most once a minute, so an idle timeout may end up to a
    /// minute early, never late).
    pub last_seen: Timestamp,
}

impl Store {
    /// The session under this key, if any.
    pub fn session(&self, key: &[u8; 32]) -> Result<Option<StoredSession>, StoreError> {
        Ok(self.load(Tree::ConsoleSessions, key)?.map(|l| l.value))
    }

    /// Creates or replaces a session.
    pub fn put_session(&self, key: &[u8; 32], s: &StoredSession) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![],
            ops: vec![Op::Put(
                Tree::ConsoleSessions,
                key.to_vec(),
                codec::encode(s),
            )],
        })
    }

    /// Ends a session (no error if it is already gone).
    pub fn delete_session(&self, key: &[u8; 32]) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![],
            ops: vec![Op::Delete(Tree::ConsoleSessions, key.to_vec())],
        })
    }

    /// Removes sessions that are over: idle since before `idle_before` or created before
    /// `created_before` (and any whose bytes do not decode). Returns how many.
    pub fn purge_sessions(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut over = Vec::new();
        for r in self.backend.range(Tree::ConsoleSessions, &[], None) {
            let (k, v) = r?;
            let done = match codec::decode::<StoredSession>(&v) {
                Ok(s) => s.last_seen < idle_before || s.created_at < created_before,
                Err(_) => true,
            };
            if done {
                over.push(Op::Delete(Tree::ConsoleSessions, k));
            }
        }
        let n = over.len();
        if n > 0 {
            self.backend.apply(&Batch {
                checks: vec![],
                ops: over,
            })?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn sessions_round_trip_and_expire_by_idle_or_age() {
        let (store, _dir) = temp_store();
        let s = |created: &str, seen: &str| StoredSession {
            user_id: UserId::random(),
            role: Role::Hr,
            token_generation: 3,
            created_at: at(created),
            last_seen: at(seen),
        };
        let fresh = s("2026-01-01T08:00:00Z", "2026-01-01T09:59:00Z");
        let idle = s("2026-01-01T09:00:00Z", "2026-01-01T09:30:00Z");
        let old = s("2026-01-01T01:00:00Z", "2026-01-01T09:59:00Z");
        for (k, v) in [([1; 32], &fresh), ([2; 32], &idle), ([3; 32], &old)] {
            store.put_session(&k, v).unwrap();
        }
        assert_eq!(store.session(&[1; 32]).unwrap().as_ref(), Some(&fresh));
        let n = store
            .purge_sessions(at("2026-01-01T09:45:00Z"), at("2026-01-01T02:00:00Z"))
            .unwrap();
        assert_eq!(n, 2);
        assert!(store.session(&[1; 32]).unwrap().is_some());
        assert!(store.session(&[2; 32]).unwrap().is_none());
        assert!(store.session(&[3; 32]).unwrap().is_none());
        store.delete_session(&[1; 32]).unwrap();
        store.delete_session(&[1; 32]).unwrap();
        assert!(store.session(&[1; 32]).unwrap().is_none());
    }
}
