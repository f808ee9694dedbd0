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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditQuery;
    use crate::service::UserPatch;
    use crate::service::testing_support::{user, vault_with};

    async fn sign_in(v: &Vault, name: &str) -> zeroize::Zeroizing<String> {
        let (s, cookie) = v
            .console_sign_in(
                &RequestCtx::default(),
                name,
                SecretString::from("password-1".to_owned()),
            )
            .await
            .expect("sign in");
        assert_eq!(s.principal.username, name);
        cookie
    }

    async fn open(v: &Vault, cookie: &str) -> Result<ConsoleSession, SessionEnded> {
        v.console_session(&RequestCtx::default(), cookie)
            .await
            .expect("no service error")
    }

    async fn rejected(v: &Vault, username: &str) -> Vec<String> {
        let auditor = v.principal_named("aud").expect("auditor");
        let q = AuditQuery {
            action: Some("auth.token_rejected".into()),
            limit: 100,
            ..AuditQuery::default()
        };
        v.query_audit(&auditor, &RequestCtx::default(), Ok(q))
            .await
            .expect("audit")
            .entries
            .into_iter()
            .filter(|e| e.actor.username.as_deref() == Some(username))
            .filter_map(|e| e.reason.map(|r| r.into_owned()))
            .collect()
    }

    #[tokio::test]
    async fn a_role_change_or_disable_ends_the_session_at_the_next_request_and_is_audited() {
        let dir = tempfile::tempdir().unwrap();
        let (v, _clock) = vault_with(&dir.path().join("v"), "").await;
        let admin = v.principal_named("admin").unwrap();
        user(&v, "aud", "auditor", None).await;
        let hr = user(&v, "hr1", "hr", None).await;
        let hr2 = user(&v, "hr2", "hr", None).await;
        let (c1, c2) = (sign_in(&v, "hr1").await, sign_in(&v, "hr2").await);
        assert!(open(&v, &c1).await.is_ok());
        let patch = |enabled, role: Option<&str>| UserPatch {
            enabled,
            role: role.map(str::to_owned),
        };
        v.update_user(
            &admin,
            &RequestCtx::default(),
            &hr.user_id.to_string(),
            Ok(patch(None, Some("auditor"))),
        )
        .await
        .unwrap();
        v.update_user(
            &admin,
            &RequestCtx::default(),
            &hr2.user_id.to_string(),
            Ok(patch(Some(false), None)),
        )
        .await
        .unwrap();
        assert_eq!(open(&v, &c1).await.err(), Some(SessionEnded::Revoked));
        assert_eq!(open(&v, &c2).await.err(), Some(SessionEnded::Revoked));
        // The session is gone, not just refused once.
        assert_eq!(open(&v, &c1).await.err(), Some(SessionEnded::Unknown));
        assert_eq!(rejected(&v, "hr1").await.len(), 1);
        assert_eq!(
            rejected(&v, "hr2").await,
            vec!["account disabled".to_owned()]
        );
    }

    #[tokio::test]
    async fn idle_and_absolute_timeouts_end_sessions_and_sign_out_is_final() {
        let dir = tempfile::tempdir().unwrap();
        let (v, clock) = vault_with(&dir.path().join("v"), "").await;
        user(&v, "aud", "auditor", None).await;
        user(&v, "hr1", "hr", None).await;
        let idle = sign_in(&v, "hr1").await;
        clock.advance_secs(14 * 60);
        assert!(open(&v, &idle).await.is_ok(), "used within 15 minutes");
        clock.advance_secs(15 * 60 + 1);
        assert_eq!(open(&v, &idle).await.err(), Some(SessionEnded::Expired));

        let busy = sign_in(&v, "hr1").await;
        for _ in 0..(8 * 60 / 10) {
            clock.advance_secs(10 * 60);
            assert!(open(&v, &busy).await.is_ok());
        }
        clock.advance_secs(60);
        assert_eq!(open(&v, &busy).await.err(), Some(SessionEnded::Expired));

        let out = sign_in(&v, "hr1").await;
        let s = open(&v, &out).await.ok().unwrap();
        v.console_sign_out(s, &RequestCtx::default()).await.unwrap();
        assert_eq!(open(&v, &out).await.err(), Some(SessionEnded::Unknown));
        assert_eq!(
            open(&v, "not a cookie").await.err(),
            Some(SessionEnded::Unknown)
        );
    }

    #[tokio::test]
    async fn service_accounts_cannot_open_a_console_session() {
        let dir = tempfile::tempdir().unwrap();
        let (v, _) = vault_with(&dir.path().join("v"), "").await;
        user(&v, "pay", "payroll", None).await;
        let r = v
            .console_sign_in(
                &RequestCtx::default(),
                "pay",
                SecretString::from("password-1".to_owned()),
            )
            .await;
        assert!(matches!(r, Err(ServiceError::Unauthorized)));
    }
}
