//! Vault users: admin-managed humans and service accounts.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::lifecycle::{MAX_PASSWORD, MIN_PASSWORD};
use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Outcome};
use crate::crypto::generate_secret;
use crate::model::{EmployeeId, FieldError, Role, UserId, UserKind, Username, ValidationErrors};
use crate::store::{DisabledReason, Loaded, StoreError, StoredUser};

/// `POST /v1/users` body. Holds a password: zeroized, no `Debug`.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "A new vault user: a person (`human`) or an integration (`service`).")]
#[schema(examples(
    json!({"username": "jdoe", "password": "a long passphrase", "role": "hr", "kind": "human"}),
    json!({"username": "payroll-sync", "role": "payroll", "kind": "service"})
))]
pub struct NewUser {
    #[schema(required, nullable = false)]
    pub username: Option<String>,
    /// Required for `human` users; refused for `service` users (they get a `client_secret`).
    #[schema(nullable = false, format = Password)]
    pub password: Option<String>,
    #[schema(required, nullable = false, value_type = Option<Role>)]
    pub role: Option<String>,
    /// The employee record of the person behind this user (how HR flags reach the monitor).
    #[schema(format = "uuid")]
    pub employee_id: Option<String>,
    /// Default `human`.
    #[schema(nullable = false, value_type = Option<UserKind>)]
    pub kind: Option<String>,
}

/// `PATCH /v1/users/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"enabled": false})))]
pub struct UserPatch {
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
    #[schema(nullable = false, value_type = Option<Role>)]
    pub role: Option<String>,
}

/// A user as the API shows it: never a secret or hash. `client_secret` appears once, in the
/// response that created a service account (or rotated its secret).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    #[schema(format = "uuid")]
    pub id: String,
    pub username: String,
    #[schema(value_type = Role)]
    pub role: &'static str,
    #[schema(value_type = UserKind)]
    pub kind: &'static str,
    #[schema(required, format = "uuid")]
    pub employee_id: Option<String>,
    pub enabled: bool,
    /// Only in the response that created a service account or rotated its secret: shown once.
    /// Its `client_id` is the username.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = Password)]
    pub client_secret: Option<String>,
    /// When the user was created (RFC 3339). Not part of the API's JSON (the contract fixes
    /// its keys); the console's users table shows it.
    #[serde(skip)]
    #[schema(ignore)]
    pub created_at: String,
}

impl std::fmt::Debug for UserView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserView")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Drop for UserView {
    fn drop(&mut self) {
        self.client_secret.zeroize();
    }
}

impl UserView {
    pub(crate) fn of(u: &StoredUser) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            role: u.role.as_str(),
            kind: u.kind.as_str(),
            employee_id: u.employee_id.map(|e| e.to_string()),
            enabled: u.enabled,
            client_secret: None,
            created_at: crate::clock::rfc3339(u.created_at),
        }
    }
}

/// A strong random password (the same generator as a service account's secret), for a console
/// admin who leaves a new human user's password empty.
pub fn generate_password() -> Result<SecretString, ServiceError> {
    crate::crypto::generate_secret().map_err(|_| ServiceError::Internal)
}

impl Vault {
    /// Hashes a password or secret off the async threads, within the argon2 concurrency limit.
    pub(crate) async fn hash_secret(&self, secret: &SecretString) -> Result<String, ServiceError> {
        let _slot = self
            .inner
            .slots
            .acquire()
            .await
            .map_err(|r| ServiceError::RateLimited(r.retry_after_secs))?;
        let hasher = self.inner.hasher.clone();
        let s = SecretString::from(secret.expose_secret().to_owned());
        tokio::task::spawn_blocking(move || hasher.hash(s.expose_secret().as_bytes()))
            .await
            .map_err(|_| ServiceError::Internal)?
            .map_err(ServiceError::from)
    }

    /// `POST /v1/users`.
    pub async fn create_user(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        req: Result<NewUser, ServiceError>,
    ) -> Result<UserView, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ManageUsers>(who, ctx, None, None)
            .await?;
        let req = req?;
        let action = Action::UserCreate;
        let mut errs = Vec::new();
        let mut err = |field: &str, message: &str| {
            errs.push(FieldError {
                field: field.into(),
                message: message.into(),
            })
        };
        let username = match req.username.as_deref() {
            None => {
                err("username", "is required");
                None
            }
            Some(u) => Username::parse(u).map_err(|m| err("username", m)).ok(),
        };
        let role = match req.role.as_deref() {
            None => {
                err("role", "is required");
                None
            }
            Some(r) => r
                .parse::<Role>()
                .map_err(|()| {
                    err(
                        "role",
                        "must be one of admin, hr, payroll, auditor, security",
                    )
                })
                .ok(),
        };
        let kind = match req.kind.as_deref() {
            None => Some(UserKind::Human),
            Some(k) => k
                .parse::<UserKind>()
                .map_err(|()| err("kind", "must be human or service"))
                .ok(),
        };
        let employee_id = match req.employee_id.as_deref() {
            None => None,
            Some(e) => e
                .parse::<EmployeeId>()
                .map_err(|_| err("employee_id", "must be an employee id (UUID)"))
                .ok(),
        };
        match (kind, req.password.as_deref()) {
            (Some(UserKind::Human), None) => err("password", "is required for a human user"),
            (Some(UserKind::Human), Some(p)) if p.chars().count() < MIN_PASSWORD => {
                err("password", "must be at least 8 characters")
            }
            (Some(UserKind::Human), Some(p)) if p.len() > MAX_PASSWORD => {
                err("password", "must be at most 1024 bytes")
            }
            (Some(UserKind::Service), Some(_)) => err(
                "password",
                "a service account takes no password; its client_secret is generated",
            ),
            _ => {}
        }
        if let Some(e) = employee_id
            && self.load_live(&e)?.is_none()
        {
            err("employee_id", "no such employee record");
        }
        if !errs.is_empty() {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    None,
                    ServiceError::Invalid(ValidationErrors(errs)),
                )
                .await);
        }
        let (username, role, kind) = (
            username.expect("validated"),
            role.expect("validated"),
            kind.expect("validated"),
        );
        if self.inner.store.user_by_name(username.as_str())?.is_some() {
            return Err(self
                .fail(
                    who,
                    ctx,
                    action,
                    None,
                    ServiceError::conflict("username", "username is already taken"),
                )
                .await);
        }
        let (secret, client_secret) = match kind {
            UserKind::Human => (
                SecretString::from(req.password.clone().expect("validated")),
                None,
            ),
            UserKind::Service => {
                let s = generate_secret()?;
                (SecretString::from(s.expose_secret().to_owned()), Some(s))
            }
        };
        let credential = self.hash_secret(&secret).await?;
        let now = self.now();
        let user = StoredUser::new(username.as_str(), role, kind, employee_id, credential, now);
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.employee_id = employee_id;
        e.reason = Some(format!(
            "created user {} ({}, role {})",
            user.id, user.username, role
        ));
        self.record(e).await?;
        match self.inner.store.insert_user(&user) {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(self
                    .fail(
                        who,
                        ctx,
                        action,
                        None,
                        ServiceError::conflict("username", "username is already taken"),
                    )
                    .await);
            }
            Err(other) => return Err(other.into()),
        }
        self.durable().await?;
        let mut view = UserView::of(&user);
        view.client_secret = client_secret.map(|s| s.expose_secret().to_owned());
        Ok(view)
    }

    /// `GET /v1/users`.
    pub async fn list_users(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
    ) -> Result<Vec<UserView>, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ManageUsers>(who, ctx, None, None)
            .await?;
        self.inner
            .store
            .users()
            .map(|u| Ok(UserView::of(&u?)))
            .collect()
    }

    fn load_user(&self, id: &str) -> Result<Option<Loaded<StoredUser>>, ServiceError> {
        match id.parse::<UserId>() {
            Ok(id) => Ok(self.inner.store.user(&id)?),
            Err(_) => Ok(None),
        }
    }

    /// `PATCH /v1/users/{id}`: enable/disable or change role; either kills outstanding tokens.
    pub async fn update_user(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
        patch: Result<UserPatch, ServiceError>,
    ) -> Result<UserView, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ManageUsers>(who, ctx, None, None)
            .await?;
        let patch = patch?;
        let action = Action::UserUpdate;
        let Some(loaded) = self.load_user(id)? else {
            return Err(self
                .fail(who, ctx, action, None, ServiceError::NotFound)
                .await);
        };
        let role = match patch.role.as_deref() {
            None => None,
            Some(r) => match r.parse::<Role>() {
                Ok(r) => Some(r),
                Err(()) => {
                    return Err(self
                        .fail(
                            who,
                            ctx,
                            action,
                            None,
                            ServiceError::invalid(
                                "role",
                                "must be one of admin, hr, payroll, auditor, security",
                            ),
                        )
                        .await);
                }
            },
        };
        let u = &loaded.value;
        if u.id == who.user_id
            && (patch.enabled == Some(false) || role.is_some_and(|r| r != u.role))
        {
            let err = ServiceError::Conflict {
                field: None,
                message: "you cannot disable or demote your own account".into(),
            };
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        let mut next = u.clone();
        let mut changes = Vec::new();
        if let Some(enabled) = patch.enabled
            && enabled != u.enabled
        {
            next.enabled = enabled;
            next.disabled_reason = if enabled {
                None
            } else {
                Some(DisabledReason::Admin)
            };
            changes.push(if enabled { "enabled" } else { "disabled" }.to_owned());
        }
        if let Some(r) = role
            && r != u.role
        {
            next.role = r;
            changes.push(format!("role {} -> {}", u.role, r));
        }
        if !changes.is_empty() {
            next.token_generation = next.token_generation.wrapping_add(1);
            next.updated_at = self.now();
        }
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.reason = Some(format!(
            "user {} ({}): {}",
            u.id,
            u.username,
            if changes.is_empty() {
                "no change".to_owned()
            } else {
                changes.join(", ")
            }
        ));
        self.record(e).await?;
        if !changes.is_empty() {
            if let Err(err) = self.inner.store.replace_user(&loaded, &next) {
                return Err(self.user_write_failed(who, ctx, action, err).await);
            }
            self.durable().await?;
        }
        Ok(UserView::of(&next))
    }

    /// `DELETE /v1/users/{id}`: the user and every token of theirs are gone at once.
    pub async fn delete_user(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<(), ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ManageUsers>(who, ctx, None, None)
            .await?;
        let action = Action::UserDelete;
        let Some(loaded) = self.load_user(id)? else {
            return Err(self
                .fail(who, ctx, action, None, ServiceError::NotFound)
                .await);
        };
        if loaded.value.id == who.user_id {
            let err = ServiceError::Conflict {
                field: None,
                message: "you cannot delete your own account".into(),
            };
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.reason = Some(format!(
            "deleted user {} ({})",
            loaded.value.id, loaded.value.username
        ));
        self.record(e).await?;
        if let Err(err) = self.inner.store.delete_user(&loaded) {
            return Err(self.user_write_failed(who, ctx, action, err).await);
        }
        self.durable().await
    }

    /// `POST /v1/users/{id}/client-secret`: a new secret for a service account, shown once; the
    /// old secret and every token issued with it stop working at once.
    pub async fn rotate_client_secret(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<UserView, ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ManageUsers>(who, ctx, None, None)
            .await?;
        let secret = generate_secret()?;
        let credential = self.hash_secret(&secret).await?;
        let user = self
            .replace_credential(who, ctx, id, credential, "client secret rotated")
            .await?;
        let mut view = UserView::of(&user);
        view.client_secret = Some(secret.expose_secret().to_owned());
        Ok(view)
    }

    /// `DELETE /v1/users/{id}/client-secret`: the account keeps its identity and audit history
    /// but cannot authenticate until a new secret is rotated in.
    pub async fn revoke_client_secret(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<(), ServiceError> {
        let _grant = self
            .authorize::<crate::service::access::ManageUsers>(who, ctx, None, None)
            .await?;
        // A hash of a random secret nobody is ever told: no input matches it.
        let unusable = self.hash_secret(&generate_secret()?).await?;
        self.replace_credential(who, ctx, id, unusable, "client secret revoked")
            .await
            .map(|_| ())
    }

    async fn replace_credential(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        id: &str,
        credential: String,
        what: &str,
    ) -> Result<StoredUser, ServiceError> {
        let action = Action::UserUpdate;
        let Some(loaded) = self.load_user(id)? else {
            return Err(self
                .fail(who, ctx, action, None, ServiceError::NotFound)
                .await);
        };
        if loaded.value.kind != UserKind::Service {
            let err = ServiceError::Conflict {
                field: None,
                message: "only service accounts have a client secret".into(),
            };
            return Err(self.fail(who, ctx, action, None, err).await);
        }
        let mut next = loaded.value.clone();
        next.credential = credential;
        next.token_generation = next.token_generation.wrapping_add(1);
        next.updated_at = self.now();
        let mut e = self.entry(who, ctx, action, Outcome::Success);
        e.reason = Some(format!("user {} ({}): {what}", next.id, next.username));
        self.record(e).await?;
        if let Err(err) = self.inner.store.replace_user(&loaded, &next) {
            return Err(self.user_write_failed(who, ctx, action, err).await);
        }
        self.durable().await?;
        Ok(next)
    }

    /// A user write that was audited as successful did not apply: record it and say why.
    async fn user_write_failed(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        action: Action,
        err: StoreError,
    ) -> ServiceError {
        let mapped = match err {
            StoreError::Conflict(_) => ServiceError::Conflict {
                field: None,
                message: "the user was changed concurrently; retry".into(),
            },
            other => other.into(),
        };
        self.fail(who, ctx, action, None, mapped).await
    }
}
