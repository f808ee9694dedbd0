//! `hrvault users recover`: break-glass for operators when no admin can sign in (every admin
//! disabled — a termination flag on the employee an admin was linked to does that at once —,
//! deleted, or its password lost).
//!
//! Offline only (the vault lock keeps a server from running at the same time), and only with the
//! passphrase: whoever can unseal the vault already holds everything, so this adds no power, it
//! only gives a way back. The user is re-enabled (or re-created) as an admin with a new
//! password, its old tokens die, and it is unlinked from any employee record so the flag that
//! disabled it cannot do so again. One `user.recover` entry records it.

use secrecy::{ExposeSecret, SecretString};

use super::lifecycle::{MAX_PASSWORD, MIN_PASSWORD};
use super::{ServiceError, Vault};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::crypto::generate_secret;
use crate::model::{Role, UserId, UserKind, Username};
use crate::store::StoredUser;

/// What recovery did.
pub struct Recovered {
    /// The user's id.
    pub user_id: UserId,
    /// Whether the user did not exist and was created.
    pub created: bool,
    /// The password, when it was generated (shown once); `None` when the operator gave it.
    pub generated_password: Option<SecretString>,
}

impl Vault {
    /// Re-enables (or re-creates) the admin `username` with `password` (or a generated one),
    /// revokes its tokens, unlinks it from any employee, and appends `user.recover`.
    pub async fn recover_admin(
        &self,
        username: &str,
        password: Option<SecretString>,
    ) -> Result<Recovered, ServiceError> {
        let name = Username::parse(username).map_err(|m| ServiceError::invalid("username", m))?;
        if let Some(p) = &password {
            let n = p.expose_secret().chars().count();
            if n < MIN_PASSWORD || p.expose_secret().len() > MAX_PASSWORD {
                return Err(ServiceError::invalid(
                    "password",
                    "must be 8 characters to 1024 bytes",
                ));
            }
        }
        let generated = match password {
            Some(_) => None,
            None => Some(generate_secret()?),
        };
        let secret = generated
            .as_ref()
            .or(password.as_ref())
            .expect("a password is given or generated just above");
        let credential = self.hash_secret(secret).await?;
        let now = self.now();
        let existing = self.inner.store.user_by_name(name.as_str())?;
        let (user, was) = match &existing {
            Some(l) => {
                let u = &l.value;
                let next = StoredUser {
                    role: Role::Admin,
                    kind: UserKind::Human,
                    employee_id: None,
                    enabled: true,
                    disabled_reason: None,
                    credential,
                    token_generation: u.token_generation.wrapping_add(1),
                    updated_at: now,
                    ..u.clone()
                };
                let was = format!(
                    "was role {}, {}{}",
                    u.role,
                    if u.enabled { "enabled" } else { "disabled" },
                    u.employee_id
                        .map(|e| format!(", linked to employee {e}"))
                        .unwrap_or_default()
                );
                (next, was)
            }
            None => (
                StoredUser::new(
                    name.as_str(),
                    Role::Admin,
                    UserKind::Human,
                    None,
                    credential,
                    now,
                ),
                "did not exist".to_owned(),
            ),
        };
        let mut e = NewEntry::new(Actor::default(), Action::UserRecover, Outcome::Success);
        e.employee_id = existing.as_ref().and_then(|l| l.value.employee_id);
        e.reason = Some(format!(
            "break-glass recovery of admin {} ({}) by the operator: {was}; now an enabled \
             admin with a new password, old tokens revoked, unlinked",
            user.id, user.username
        ));
        self.record(e).await?;
        match &existing {
            Some(l) => self.inner.store.replace_user(l, &user)?,
            None => self.inner.store.insert_user(&user)?,
        }
        self.durable().await?;
        Ok(Recovered {
            user_id: user.id,
            created: existing.is_none(),
            generated_password: generated,
        })
    }
}
