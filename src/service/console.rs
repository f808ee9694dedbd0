//! Web console sessions: the same credential check, limits and audit entries as a bearer token,
//! with the state in the store so every node sees a sign-in and a sign-out at once.
//!
//! A session stands while its user, as stored now, is enabled and has the role and token
//! generation it signed in with (the rule that refuses tokens, `account_refusal`), it has been
//! used within the idle timeout, and it is younger than the absolute timeout.

use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;

use super::session::{CredentialKind, account_refusal};
use super::{Principal, RequestCtx, ServiceError, Vault};
use crate::audit::{Action, Outcome};
use crate::crypto::SessionSecret;
use crate::model::UserKind;
use crate::store::StoredSession;

/// How often `last_seen` is written back: the idle timeout may end a session up to this much
/// early, never late, and a burst of page loads costs one write.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// A signed-in console user on this request. Holds the session secret: no `Debug`, no `Clone`.
pub struct ConsoleSession {
    /// Who, re-checked against the store on this request.
    pub principal: Principal,
    secret: SessionSecret,
}

impl ConsoleSession {
    /// The CSRF token the session's forms carry.
    pub fn csrf_token(&self) -> String {
        self.secret.csrf_token()
    }

    /// Whether a submitted CSRF token is this session's (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        self.secret.csrf_matches(given)
    }
}

/// Why a cookie did not open a session (the console sends the browser to sign in again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnded {
    /// No cookie, a malformed one, or one the store does not know (signed out, purged).
    Unknown,
    /// Unused for longer than the idle timeout, or older than the absolute timeout.
    Expired,
    /// The account changed (disabled, terminated, deleted, new role or token generation).
    Revoked,
}

impl Vault {
    /// Signs in to the console: `POST /v1/auth/login`'s check, limits and `auth.login` entry,
    /// then a new session in the store. Returns the session and the cookie value to set.
    pub async fn console_sign_in(
        &self,
        ctx: &RequestCtx,
        username: &str,
        password: SecretString,
    ) -> Result<(ConsoleSession, zeroize::Zeroizing<String>), ServiceError> {
        let u = self
            .check_credentials(ctx, username, password, CredentialKind::Password)
            .await?;
        debug_assert_eq!(u.kind, UserKind::Human);
        let secret = SessionSecret::generate().map_err(|_| ServiceError::Internal)?;
        let now = self.now();
        let stored = StoredSession {
            user_id: u.id,
            role: u.role,
            token_generation: u.token_generation,
            created_at: now,
            last_seen: now,
        };
        self.inner
            .store
            .put_session(&secret.lookup_key(), &stored)?;
        self.durable().await?;
        let cookie = secret.to_cookie();
        let principal = self.session_principal(&secret, &stored, u);
        Ok((ConsoleSession { principal, secret }, cookie))
    }

    /// The session a cookie names, re-checked on this request. A session the account no longer
    /// supports is deleted and audited (`auth.token_rejected`), like a refused token.
    pub async fn console_session(
        &self,
        ctx: &RequestCtx,
        cookie: &str,
    ) -> Result<Result<ConsoleSession, SessionEnded>, ServiceError> {
        let Some(secret) = SessionSecret::from_cookie(cookie) else {
            return Ok(Err(SessionEnded::Unknown));
        };
        let key = secret.lookup_key();
        let Some(mut s) = self.inner.store.session(&key)? else {
            return Ok(Err(SessionEnded::Unknown));
        };
        let now = self.now();
        let c = &self.settings().console;
        let idle = SignedDuration::from_secs(c.idle_timeout_secs as i64);
        let absolute = SignedDuration::from_secs(c.absolute_timeout_secs as i64);
        if now.duration_since(s.last_seen) > idle || now.duration_since(s.created_at) > absolute {
            self.inner.store.delete_session(&key)?;
            return Ok(Err(SessionEnded::Expired));
        }
        let user = self.inner.store.user(&s.user_id)?.map(|l| l.value);
        if let Some(why) = account_refusal(user.as_ref(), s.role.as_str(), s.token_generation) {
            self.inner.store.delete_session(&key)?;
            self.reject_credential(ctx, user.as_ref(), s.user_id, why)
                .await?;
            return Ok(Err(SessionEnded::Revoked));
        }
        let user = user.expect("account_refusal covers a missing user");
        if now.duration_since(s.last_seen) >= TOUCH_EVERY {
            s.last_seen = now;
            self.inner.store.put_session(&key, &s)?;
        }
        let principal = self.session_principal(&secret, &s, user);
        Ok(Ok(ConsoleSession { principal, secret }))
    }

    /// Signs out: the `auth.logout` entry, then the session is gone (durably) before the
    /// response, on every node.
    pub async fn console_sign_out(
        &self,
        session: ConsoleSession,
        ctx: &RequestCtx,
    ) -> Result<(), ServiceError> {
        self.record(self.entry(
            &session.principal,
            ctx,
            Action::AuthLogout,
            Outcome::Success,
        ))
        .await?;
        self.inner
            .store
            .delete_session(&session.secret.lookup_key())?;
        self.durable().await
    }

    /// Removes sessions past their idle or absolute timeout (housekeeping).
    pub(crate) fn purge_console_sessions(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let c = &self.settings().console;
        let back = |secs: u64| {
            now.checked_sub(SignedDuration::from_secs(secs as i64))
                .unwrap_or(Timestamp::MIN)
        };
        Ok(self
            .inner
            .store
            .purge_sessions(back(c.idle_timeout_secs), back(c.absolute_timeout_secs))?)
    }

    fn session_principal(
        &self,
        secret: &SessionSecret,
        s: &StoredSession,
        u: crate::store::StoredUser,
    ) -> Principal {
        let key = secret.lookup_key();
        let mut jti = [0u8; 16];
        jti.copy_from_slice(&key[..16]);
        let exp = s.created_at.as_second() + self.settings().console.absolute_timeout_secs as i64;
        Principal {
            user_id: u.id,
            username: u.username,
            role: u.role,
            kind: u.kind,
            employee_id: u.employee_id,
            jti,
            exp,
        }
    }
}
