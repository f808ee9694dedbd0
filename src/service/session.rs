//! Logins, client credentials, per-request token checks and logout.
//!
//! Unknown usernames, wrong passwords and disabled accounts all get the same 401 after the same
//! argon2 work, so responses do not reveal which usernames exist. Failures are limited per
//! username before any hashing happens.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::auth::TokenError;
use crate::model::{UserKind, Username};
use crate::store::{DisabledReason, StoredUser};

/// `{"access_token","token_type":"Bearer","expires_in"}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(examples(json!({"access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJ...", "token_type": "Bearer", "expires_in": 900})))]
pub struct TokenGrant {
    /// A JWT (EdDSA) to send as `Authorization: Bearer ...`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(examples("Bearer"))]
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl Drop for TokenGrant {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.access_token);
    }
}

/// Which credential a sign-in presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    /// `POST /v1/auth/login`.
    Password,
    /// `POST /v1/oauth/token`.
    ClientSecret,
}

impl Vault {
    fn anonymous_entry(
        &self,
        ctx: &RequestCtx,
        actor: Actor,
        action: Action,
        outcome: Outcome,
    ) -> NewEntry {
        let mut e = NewEntry::new(actor, action, outcome);
        e.request_id = ctx.request_id.clone();
        e.source_ip = ctx.source_ip.clone();
        e
    }

    /// Checks a username + password (or client id + secret) and issues a token.
    pub(crate) async fn sign_in(
        &self,
        ctx: &RequestCtx,
        username: &str,
        secret: SecretString,
        kind: CredentialKind,
    ) -> Result<TokenGrant, ServiceError> {
        let now = self.now();
        let audit_name = Username::for_audit(username);
        let user = match Username::parse(username) {
            Ok(_) => self.inner.store.user_by_name(username)?.map(|l| l.value),
            Err(_) => None,
        };
        let actor = || match &user {
            Some(u) => Actor {
                user_id: Some(u.id),
                username: Some(u.username.clone()),
                role: Some(u.role),
            },
            None => Actor {
                user_id: None,
                username: Some(audit_name.clone()),
                role: None,
            },
        };
        if let Err(limited) = self.inner.limiter.check(username, now) {
            let mut e =
                self.anonymous_entry(ctx, actor(), Action::AuthLoginFailed, Outcome::Denied);
            e.reason = Some("rate limited: too many failed attempts".into());
            self.record(e).await?;
            return Err(ServiceError::RateLimited(limited.retry_after_secs));
        }
        let wanted = match kind {
            CredentialKind::Password => UserKind::Human,
            CredentialKind::ClientSecret => UserKind::Service,
        };
        let slot = self
            .inner
            .slots
            .acquire()
            .await
            .map_err(|r| ServiceError::RateLimited(r.retry_after_secs))?;
        let hasher = self.inner.hasher.clone();
        let credential = user
            .as_ref()
            .filter(|u| u.kind == wanted)
            .map(|u| u.credential.clone());
        let matched = tokio::task::spawn_blocking(move || match credential {
            Some(phc) => hasher.verify(secret.expose_secret().as_bytes(), &phc),
            None => {
                hasher.verify_dummy(secret.expose_secret().as_bytes());
                false
            }
        })
        .await
        .map_err(|_| ServiceError::Internal)?;
        drop(slot);
        match &user {
            Some(u) if matched && u.enabled => {
                let (token, _) = self.inner.tokens.issue(
                    self.inner.keys.token_key(),
                    u.id,
                    u.role,
                    u.token_generation,
                    now,
                );
                self.record(self.anonymous_entry(
                    ctx,
                    actor(),
                    Action::AuthLogin,
                    Outcome::Success,
                ))
                .await?;
                Ok(TokenGrant {
                    access_token: token.expose_secret().to_owned(),
                    token_type: "Bearer",
                    expires_in: self.inner.tokens.ttl_secs(),
                })
            }
            _ => {
                self.inner.limiter.record_failure(username, now);
                let mut e =
                    self.anonymous_entry(ctx, actor(), Action::AuthLoginFailed, Outcome::Denied);
                e.reason = Some(match &user {
                    None => "unknown user".into(),
                    Some(u) if u.disabled_reason == Some(DisabledReason::Termination) => {
                        disabled_reason(u).into()
                    }
                    Some(u) if u.kind != wanted => "wrong kind of credential for this user".into(),
                    Some(_) if !matched => "wrong credentials".into(),
                    Some(u) => disabled_reason(u).into(),
                });
                self.record(e).await?;
                Err(ServiceError::Unauthorized)
            }
        }
    }

    /// `POST /v1/auth/login`.
    pub async fn login(
        &self,
        ctx: &RequestCtx,
        username: &str,
        password: SecretString,
    ) -> Result<TokenGrant, ServiceError> {
        self.sign_in(ctx, username, password, CredentialKind::Password)
            .await
    }

    /// `POST /v1/oauth/token` with `grant_type=client_credentials`.
    pub async fn client_credentials(
        &self,
        ctx: &RequestCtx,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<TokenGrant, ServiceError> {
        self.sign_in(ctx, client_id, client_secret, CredentialKind::ClientSecret)
            .await
    }

    /// Turns a bearer token into a principal: signature and expiry, then the user as stored now
    /// (exists, enabled, same role, same token generation) and the revocation list. A refused
    /// token of a known user is audited as `auth.token_rejected`.
    pub async fn authenticate(
        &self,
        ctx: &RequestCtx,
        token: &str,
    ) -> Result<Principal, ServiceError> {
        let now = self.now();
        let claims = self.inner.tokens.verify(token, now).map_err(|e| match e {
            TokenError::Invalid | TokenError::Expired => ServiceError::Unauthorized,
        })?;
        let user_id = claims.user_id().map_err(|_| ServiceError::Unauthorized)?;
        let jti = claims.jti_bytes().map_err(|_| ServiceError::Unauthorized)?;
        let user = self.inner.store.user(&user_id)?.map(|l| l.value);
        let refusal = match &user {
            None => Some("user no longer exists"),
            Some(u) if !u.enabled => Some(disabled_reason(u)),
            Some(u) if u.role.as_str() != claims.role => {
                Some("role changed since the token was issued")
            }
            Some(u) if u.token_generation != claims.tgen => {
                Some("token invalidated by an account change")
            }
            Some(_) if self.inner.store.is_token_revoked(&jti)? => {
                Some("token revoked (logged out)")
            }
            Some(_) => None,
        };
        if let Some(why) = refusal {
            let actor = match &user {
                Some(u) => Actor {
                    user_id: Some(u.id),
                    username: Some(u.username.clone()),
                    role: Some(u.role),
                },
                None => Actor {
                    user_id: Some(user_id),
                    username: None,
                    role: None,
                },
            };
            let mut e =
                self.anonymous_entry(ctx, actor, Action::AuthTokenRejected, Outcome::Denied);
            e.reason = Some(why.to_owned());
            self.record(e).await?;
            return Err(ServiceError::Unauthorized);
        }
        let u = user.expect("refusal covers a missing user");
        Ok(Principal {
            user_id: u.id,
            username: u.username,
            role: u.role,
            kind: u.kind,
            employee_id: u.employee_id,
            jti,
            exp: claims.exp,
        })
    }

    /// `POST /v1/auth/logout`: the token is revoked before the response.
    pub async fn logout(&self, who: &Principal, ctx: &RequestCtx) -> Result<(), ServiceError> {
        self.record(self.entry(who, ctx, Action::AuthLogout, Outcome::Success))
            .await?;
        let exp = jiff::Timestamp::from_second(who.exp).map_err(|_| ServiceError::Internal)?;
        self.inner.store.revoke_token(&who.jti, exp)?;
        self.durable().await
    }
}

fn disabled_reason(u: &StoredUser) -> &'static str {
    match u.disabled_reason {
        Some(DisabledReason::Termination) => crate::monitor::TERMINATED_REASON,
        _ => "account disabled",
    }
}
