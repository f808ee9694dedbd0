//! Logins, client credentials, per-request token checks and logout.
//!
//! Unknown usernames, wrong passwords and disabled accounts all get the same 401 after the same
//! argon2 work, so responses do not reveal which usernames exist. Attempts are limited per
//! username and per source address before any hashing happens (`auth::LoginLimiter`), and the
//! refusals are audited coalesced: one `auth.rate_limited` entry at a window's first refusal,
//! one with the count of the rest when the window ends.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::auth::{LimitKind, TokenError};
use crate::model::{UserKind, Username};
use crate::store::{DisabledReason, StoreError, StoredUser};

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
        ctx.entry(actor, action, outcome)
    }

    /// Checks a username + password (or client id + secret) and issues a token.
    ///
    /// The attempt reserves its place in the username's and the address's minute windows
    /// *before* the hash is checked (so a burst cannot overtake the limit), and gives it back
    /// only if it succeeds.
    pub(crate) async fn sign_in(
        &self,
        ctx: &RequestCtx,
        username: &str,
        secret: SecretString,
        kind: CredentialKind,
    ) -> Result<TokenGrant, ServiceError> {
        let u = self.check_credentials(ctx, username, secret, kind).await?;
        let (token, _) = self.inner.tokens.issue(
            self.inner.keys.token_key(),
            u.id,
            u.role,
            u.token_generation,
            self.now(),
        );
        Ok(TokenGrant {
            access_token: token.expose_secret().to_owned(),
            token_type: "Bearer",
            expires_in: self.inner.tokens.ttl_secs(),
        })
    }

    /// The credential check behind every sign-in (API token, OAuth, console session): limits,
    /// argon2, the `auth.login` / `auth.login_failed` entry. Returns the user as stored.
    pub(crate) async fn check_credentials(
        &self,
        ctx: &RequestCtx,
        username: &str,
        secret: SecretString,
        kind: CredentialKind,
    ) -> Result<StoredUser, ServiceError> {
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
        let addr = ctx.source_ip.as_deref().and_then(|a| a.parse().ok());
        let reservation =
            match self
                .inner
                .limiter
                .reserve(username, user.as_ref().map(|u| u.id), addr, now)
            {
                Ok(Ok(r)) => r,
                // Lost the compare-and-set race every time: a pile-up far past the limit.
                Err(StoreError::Conflict("limit")) => return Err(ServiceError::RateLimited(1)),
                Err(e) => return Err(e.into()),
                Ok(Err(refusal)) => {
                    if refusal.first {
                        let mut e = self.anonymous_entry(
                            ctx,
                            actor(),
                            Action::AuthRateLimited,
                            Outcome::Denied,
                        );
                        e.reason = Some(format!(
                            "{}: refused 1 attempt; further refusals in this minute are counted \
                             and recorded in one entry when the minute ends",
                            limit_name(refusal.kind)
                        ));
                        let recorded = self.record(e).await?;
                        self.inner.limiter.note_first_seq(&refusal, recorded.seq());
                    }
                    return Err(ServiceError::RateLimited(refusal.limited.retry_after_secs));
                }
            };
        let wanted = match kind {
            CredentialKind::Password => UserKind::Human,
            CredentialKind::ClientSecret => UserKind::Service,
        };
        let slot = match self.inner.slots.acquire().await {
            Ok(s) => s,
            Err(r) => {
                // No hash was checked: the attempt does not count.
                self.release_attempt(reservation);
                return Err(ServiceError::RateLimited(r.retry_after_secs));
            }
        };
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
                self.release_attempt(reservation);
                self.record(self.anonymous_entry(
                    ctx,
                    actor(),
                    Action::AuthLogin,
                    Outcome::Success,
                ))
                .await?;
                Ok(u.clone())
            }
            _ => {
                // The failure keeps its place in the windows.
                drop(reservation);
                let mut e =
                    self.anonymous_entry(ctx, actor(), Action::AuthLoginFailed, Outcome::Denied);
                e.reason = Some(match &user {
                    None if audit_name == Username::INVALID => "invalid username".into(),
                    None => "unknown user".into(),
                    Some(u) if u.kind != wanted => "wrong kind of credential for this user".into(),
                    // Only the right credential says the account is disabled (or terminated:
                    // the monitor's `terminated_user_access`), so nobody can raise that alert
                    // without knowing the password or secret.
                    Some(_) if !matched => "wrong credentials".into(),
                    Some(u) => disabled_reason(u).into(),
                });
                self.record(e).await?;
                Err(ServiceError::Unauthorized)
            }
        }
    }

    /// Gives an attempt's places back in the shared windows. A store failure here is logged, not
    /// answered: the credential was right (or never checked), and the worst outcome is that the
    /// attempt counts like a failure until its window ends.
    fn release_attempt(&self, reservation: crate::auth::Reservation) {
        if let Err(e) = self.inner.limiter.release(reservation) {
            tracing::warn!(error = %e, "could not give a login attempt's rate-limit place back");
        }
    }

    /// Audits the refusals counted in rate-limit windows that have ended (one
    /// `auth.rate_limited` entry per username or address per minute with more than one refusal;
    /// the first refusal had its own entry). Called by the housekeeping task.
    pub(crate) async fn record_ended_rate_limits(&self) -> Result<usize, ServiceError> {
        let ended = self.inner.limiter.take_ended(self.now());
        let n = ended.len();
        for w in ended {
            let user = match w.user_id {
                Some(id) => self.inner.store.user(&id)?.map(|l| l.value),
                None => None,
            };
            let actor = match &user {
                Some(u) => Actor {
                    user_id: Some(u.id),
                    username: Some(u.username.clone()),
                    role: Some(u.role),
                },
                None => Actor::default(),
            };
            let mut e = NewEntry::new(actor, Action::AuthRateLimited, Outcome::Denied);
            e.source_ip = w.addr.map(|a| a.to_string());
            let since = jiff::Timestamp::from_second(w.window_start)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let first = if w.first_seq > 0 {
                format!(" (first refusal: entry {})", w.first_seq)
            } else {
                String::new()
            };
            e.reason = Some(format!(
                "{}: refused {} more attempts in the minute from {since}{first}",
                limit_name(w.kind),
                w.more_refused
            ));
            self.record(e).await?;
        }
        Ok(n)
    }

    /// The JWK Set that verifies this vault's access tokens (`GET /.well-known/jwks.json`).
    pub fn jwks(&self) -> crate::auth::Jwks {
        self.inner.tokens.jwks()
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
        let refusal = match account_refusal(user.as_ref(), claims.role.as_str(), claims.tgen) {
            Some(why) => Some(why),
            None if self.inner.store.is_token_revoked(&jti)? => Some("token revoked (logged out)"),
            None => None,
        };
        if let Some(why) = refusal {
            self.reject_credential(ctx, user.as_ref(), user_id, why)
                .await?;
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

    /// Audits a refused token or console session of a known user (`auth.token_rejected`).
    pub(crate) async fn reject_credential(
        &self,
        ctx: &RequestCtx,
        user: Option<&StoredUser>,
        user_id: crate::model::UserId,
        why: &str,
    ) -> Result<(), ServiceError> {
        let actor = match user {
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
        let mut e = self.anonymous_entry(ctx, actor, Action::AuthTokenRejected, Outcome::Denied);
        e.reason = Some(why.to_owned());
        self.record(e).await?;
        Ok(())
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

fn limit_name(kind: LimitKind) -> &'static str {
    match kind {
        LimitKind::Username => "too many failed attempts for this username",
        LimitKind::Address => "too many failed attempts from this address",
    }
}

/// Why a credential issued to `user` under `role` and token generation `tgen` no longer
/// stands, if it does not: the account as stored now decides, never the credential.
pub(crate) fn account_refusal(
    user: Option<&StoredUser>,
    role: &str,
    tgen: u32,
) -> Option<&'static str> {
    match user {
        None => Some("user no longer exists"),
        Some(u) if !u.enabled => Some(disabled_reason(u)),
        Some(u) if u.role.as_str() != role => Some("role changed since the token was issued"),
        Some(u) if u.token_generation != tgen => Some("token invalidated by an account change"),
        Some(_) => None,
    }
}

fn disabled_reason(u: &StoredUser) -> &'static str {
    match u.disabled_reason {
        Some(DisabledReason::Termination) => crate::monitor::TERMINATED_REASON,
        _ => "account disabled",
    }
}
