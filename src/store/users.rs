//! Vault users (human and service accounts) and revoked token ids.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Batch, Check, Loaded, Op, Store, StoreError, Tree, codec};
use crate::model::{EmployeeId, Role, UserId, UserKind};

/// Why a user is disabled: the termination rule needs to tell a terminated person from a user an
/// admin simply switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisabledReason {
    /// `PATCH /v1/users/{id}` with `enabled: false`.
    Admin,
    /// A `termination` HR flag on the linked employee.
    Termination,
}

/// A stored user. `credential` is an argon2id PHC string of the password (human) or client
/// secret (service); it never leaves the service layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUser {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub kind: UserKind,
    pub employee_id: Option<EmployeeId>,
    pub enabled: bool,
    pub disabled_reason: Option<DisabledReason>,
    pub credential: String,
    /// Bumped whenever every outstanding token of this user must die (disable, role change,
    /// termination, secret rotation); tokens carry the generation they were issued under.
    pub token_generation: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl StoredUser {
    /// A new, enabled user with a fresh id and no token issued yet.
    pub fn new(
        username: &str,
        role: Role,
        kind: UserKind,
        employee_id: Option<EmployeeId>,
        credential: String,
        now: Timestamp,
    ) -> Self {
        Self {
            id: UserId::random(),
            username: username.to_owned(),
            role,
            kind,
            employee_id,
            enabled: true,
            disabled_reason: None,
            credential,
            token_generation: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

fn username_key(name: &str) -> Vec<u8> {
    name.to_ascii_lowercase().into_bytes()
}

impl Store {
    /// The user with this id.
    pub fn user(&self, id: &UserId) -> Result<Option<Loaded<StoredUser>>, StoreError> {
        self.load(Tree::Users, id.as_bytes())
    }

    /// The user with this username (case-insensitive).
    pub fn user_by_name(&self, name: &str) -> Result<Option<Loaded<StoredUser>>, StoreError> {
        match self.backend.get(Tree::Usernames, &username_key(name))? {
            None => Ok(None),
            Some(id) => {
                self.user(&UserId::from_slice(&id).map_err(|_| codec::CodecError::Malformed)?)
            }
        }
    }

    /// Inserts a user; `Conflict("username")` if the name is taken.
    pub fn insert_user(&self, u: &StoredUser) -> Result<(), StoreError> {
        let id = u.id.as_bytes().to_vec();
        self.backend.apply(&Batch {
            checks: vec![
                Check::Absent(Tree::Users, id.clone(), "id"),
                Check::Absent(Tree::Usernames, username_key(&u.username), "username"),
            ],
            ops: vec![
                Op::Put(Tree::Users, id.clone(), codec::encode(u)),
                Op::Put(Tree::Usernames, username_key(&u.username), id),
            ],
        })
    }

    /// Compare-and-set update (the username never changes).
    pub fn replace_user(
        &self,
        prev: &Loaded<StoredUser>,
        next: &StoredUser,
    ) -> Result<(), StoreError> {
        let id = next.id.as_bytes().to_vec();
        self.backend.apply(&Batch {
            checks: vec![Check::Equals(
                Tree::Users,
                id.clone(),
                prev.raw.clone(),
                "version",
            )],
            ops: vec![Op::Put(Tree::Users, id, codec::encode(next))],
        })
    }

    /// Removes a user and frees the username.
    pub fn delete_user(&self, prev: &Loaded<StoredUser>) -> Result<(), StoreError> {
        let id = prev.value.id.as_bytes().to_vec();
        self.backend.apply(&Batch {
            checks: vec![Check::Equals(
                Tree::Users,
                id.clone(),
                prev.raw.clone(),
                "version",
            )],
            ops: vec![
                Op::Delete(Tree::Users, id),
                Op::Delete(Tree::Usernames, username_key(&prev.value.username)),
            ],
        })
    }

    /// Every user, in id order.
    pub fn users(&self) -> impl Iterator<Item = Result<StoredUser, StoreError>> + '_ {
        self.backend
            .range(Tree::Users, &[], None)
            .map(|r| r.and_then(|(_, v)| Ok(codec::decode(&v)?)))
    }

    /// Marks a token id revoked until its expiry.
    pub fn revoke_token(&self, jti: &[u8; 16], expires: Timestamp) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![],
            ops: vec![Op::Put(
                Tree::RevokedTokens,
                jti.to_vec(),
                expires.as_second().to_be_bytes().to_vec(),
            )],
        })
    }

    /// Whether a token id was revoked.
    pub fn is_token_revoked(&self, jti: &[u8; 16]) -> Result<bool, StoreError> {
        Ok(self.backend.get(Tree::RevokedTokens, jti)?.is_some())
    }

    /// Forgets revocations of tokens that have expired anyway; returns how many.
    pub fn purge_revoked(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut expired = Vec::new();
        for r in self.backend.range(Tree::RevokedTokens, &[], None) {
            let (k, v) = r?;
            let secs = v
                .as_slice()
                .try_into()
                .map(i64::from_be_bytes)
                .unwrap_or(i64::MIN);
            if secs < now.as_second() {
                expired.push(Op::Delete(Tree::RevokedTokens, k));
            }
        }
        let n = expired.len();
        if n > 0 {
            self.backend.apply(&Batch {
                checks: vec![],
                ops: expired,
            })?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn user(name: &str) -> StoredUser {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        StoredUser {
            id: UserId::random(),
            username: name.into(),
            role: Role::Hr,
            kind: UserKind::Human,
            employee_id: None,
            enabled: true,
            disabled_reason: None,
            credential: "$argon2id$...".into(),
            token_generation: 0,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn usernames_are_unique_case_insensitively_and_freed_on_delete() {
        let (store, _dir) = temp_store();
        let a = user("Alice");
        store.insert_user(&a).unwrap();
        assert!(matches!(
            store.insert_user(&user("alice")),
            Err(StoreError::Conflict("username"))
        ));
        assert_eq!(store.user_by_name("ALICE").unwrap().unwrap().value.id, a.id);
        let loaded = store.user(&a.id).unwrap().unwrap();
        store.delete_user(&loaded).unwrap();
        assert!(store.user_by_name("alice").unwrap().is_none());
        store.insert_user(&user("alice")).unwrap();
    }

    #[test]
    fn revocations_expire() {
        let (store, _dir) = temp_store();
        store
            .revoke_token(&[1; 16], "2026-01-01T00:15:00Z".parse().unwrap())
            .unwrap();
        store
            .revoke_token(&[2; 16], "2026-01-01T02:00:00Z".parse().unwrap())
            .unwrap();
        assert!(store.is_token_revoked(&[1; 16]).unwrap());
        assert_eq!(
            store
                .purge_revoked("2026-01-01T01:00:00Z".parse().unwrap())
                .unwrap(),
            1
        );
        assert!(!store.is_token_revoked(&[1; 16]).unwrap());
        assert!(store.is_token_revoked(&[2; 16]).unwrap());
    }
}
