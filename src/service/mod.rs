//! The only place that combines auth, crypto, store and audit, and the only place that holds
//! plaintext sensitive values (DESIGN §1).
//!
//! Every operation follows the same order: authenticate → authorise (a denial is audited before
//! the 403) → validate → **audit** → act. An audit entry is durable before any data is decrypted
//! for a response and before any write is applied; writes are then made durable by the same group
//! commit (`AuditLog::sync_store`) before the response. If the audit log cannot be written the
//! request fails with 503 and returns nothing.

pub mod access;
mod alerts;
mod audit_log;
mod console;
mod error;
mod flags;
mod fresh;
mod honeytokens;
mod id_lists;
mod idempotency;
mod import;
mod keys;
mod lifecycle;
mod metrics;
mod monitor_task;
mod payroll;
pub mod records;
mod recover;
mod session;
mod store_copy;
#[cfg(test)]
mod store_mode_tests;
#[cfg(test)]
mod testing_support;
mod users;
mod webhook;

use std::sync::Arc;

use jiff::Timestamp;

use crate::audit::{Action, Actor, AuditLog, AuditReader, NewEntry, Outcome, Recorded};
use crate::auth::{HashSlots, LoginLimiter, TokenService};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::{Keyring, PasswordHasher};
use crate::model::{EmployeeId, Role, UserId, UserKind};
use crate::store::Store;

pub use alerts::{AlertFilter, AlertPatch, AlertView, RiskRow};
pub use audit_log::{AuditCheckpoint, AuditHours, CHART_HOURS, VerifyReport};
pub use console::{ConsoleSession, SessionEnded};
pub use error::ServiceError;
pub use flags::{FlagView, NewFlag};
pub use id_lists::INLINE_IDS;
pub use idempotency::IdempotencyKey;
pub use import::{CsvDrafts, CsvRow, ImportError, ImportReport, RowError};
pub use keys::RotateReport;
pub use lifecycle::{
    InitOptions, InitOutcome, Layout, Location, VaultError, data_dir_layout, open_store_chain,
};
pub use metrics::Metrics;
pub use payroll::{
    DeletedLine, ExportChunk, PayrollFields, PayrollLine, PayrollRecord, write_payroll_line,
};
pub use records::{
    EmployeeView, IMPORT_BODY_LIMIT, ImportResult, ListPage, ListQuery, LookupRequest, RecordRef,
    RejectedRow, RevealRequest, Revealed as RevealedFields,
};
pub use recover::Recovered;
pub use session::TokenGrant;
pub use store_copy::{CopyProgress, CopyReport, CopyStage, copy_data_dir_to_store};
pub use users::{NewUser, UserPatch, UserView, generate_password};

/// Starts the monitor, the webhook sender and periodic housekeeping (termination flags that
/// became effective, expired revocations, ended rate-limit windows).
pub fn spawn_background_tasks(vault: &Vault) {
    monitor_task::spawn_monitor(vault);
    webhook::spawn_webhook(vault);
    let terminations = vault.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            match terminations.enforce_due_terminations().await {
                Ok(n) if n > 0 => tracing::info!(disabled = n, "termination flags enforced"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not enforce due termination flags"),
            }
        }
    });
    let limits = vault.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = limits.record_ended_rate_limits().await {
                tracing::warn!(error = %e, "could not audit ended rate-limit windows");
            }
        }
    });
    let v = vault.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let store = v.inner.store.clone();
            let now = v.now();
            let day_ago = now
                .checked_sub(jiff::SignedDuration::from_hours(24))
                .unwrap_or(now);
            let purge = move || -> Result<(usize, usize), crate::store::StoreError> {
                let limits = store.purge_limits(now.as_second())?;
                tracing::debug!(limit_windows = limits, "ended rate-limit windows removed");
                Ok((store.purge_revoked(now)?, store.purge_idempotency(day_ago)?))
            };
            if let Err(e) = v.purge_console_sessions() {
                tracing::warn!(error = %e, "could not remove expired console sessions");
            }
            match tokio::task::spawn_blocking(purge).await {
                Ok(Ok((revoked, keys))) => {
                    tracing::debug!(
                        revoked,
                        idempotency_keys = keys,
                        "expired revocations and idempotency keys removed"
                    )
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "housekeeping failed"),
                Err(_) => {}
            }
        }
    });
}

/// Where a request came from, for the audit entry.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    /// The server's own id of this request (unique; the audit entry's `request_id`).
    pub request_id: Option<String>,
    /// The client's `x-request-id`, if it sent a valid one (the entry's `client_request_id`).
    pub client_request_id: Option<String>,
    /// Peer address.
    pub source_ip: Option<String>,
}

impl RequestCtx {
    /// An entry for `actor` doing `action` in this request (its ids and address filled in).
    pub(crate) fn entry(&self, actor: Actor, action: Action, outcome: Outcome) -> NewEntry {
        let mut e = NewEntry::new(actor, action, outcome);
        e.request_id = self.request_id.clone();
        e.client_request_id = self.client_request_id.clone();
        e.source_ip = self.source_ip.clone();
        e
    }
}

/// An authenticated caller, re-checked against the store on this request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub kind: UserKind,
    pub employee_id: Option<EmployeeId>,
    /// Token id (for logout).
    pub(crate) jti: [u8; 16],
    /// Token expiry (for logout).
    pub(crate) exp: i64,
}

impl Principal {
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            username: Some(self.username.clone()),
            role: Some(self.role),
        }
    }
}

pub(crate) struct Inner {
    /// The data dir (held) or the store this vault lives in.
    pub(crate) place: lifecycle::Place,
    pub(crate) store: Store,
    pub(crate) keys: Keyring,
    pub(crate) audit: AuditLog,
    pub(crate) reader: AuditReader,
    pub(crate) clock: SharedClock,
    pub(crate) settings: Settings,
    pub(crate) tokens: TokenService,
    pub(crate) hasher: Arc<PasswordHasher>,
    pub(crate) limiter: LoginLimiter,
    pub(crate) slots: HashSlots,
    /// Every HR flag (few; read on each reveal and by the monitor), kept in step with the store.
    pub(crate) flags: fresh::Fresh<Vec<crate::store::StoredFlag>>,
    pub(crate) metrics: Arc<Metrics>,
    /// Every honeytoken id (for the monitor).
    pub(crate) honeytokens: honeytokens::Honeytokens,
    /// SSN lookups per user and minute.
    pub(crate) lookups: records::LookupQuota,
    /// One writer at a time per record and per unique value (see `records::WriteLocks`).
    pub(crate) write_locks: records::WriteLocks,
    pub(crate) webhook_wake: tokio::sync::Notify,
    /// Audited requests per hour and outcome, counted incrementally (the console's chart).
    pub(crate) audit_hours: parking_lot::Mutex<audit_log::HourCache>,
    /// The last whole-chain verification on this node (when, and what it found).
    pub(crate) last_verify: parking_lot::Mutex<Option<(String, VerifyReport)>>,
}

/// An unsealed, running vault. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

impl Vault {
    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The settings the vault runs with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The audit writer (for metrics and the monitor).
    pub fn audit_log(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// Every metric (also read by the benchmarks).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The data directory (`None` for a vault in a PostgreSQL store).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.inner.place {
            lifecycle::Place::DataDir { dir, .. } => Some(dir),
            lifecycle::Place::Store { .. } => None,
        }
    }

    /// Where this node may put files that must be local (the import spool): the data dir, or
    /// the node's private temporary directory in cluster mode.
    pub(crate) fn local_dir(&self) -> &std::path::Path {
        match &self.inner.place {
            lifecycle::Place::DataDir { dir, .. } => dir,
            lifecycle::Place::Store { scratch, .. } => scratch.path(),
        }
    }

    /// The shared chain, in cluster mode.
    pub(crate) fn shared_chain(&self) -> Option<&crate::store::PgChain> {
        match &self.inner.place {
            lifecycle::Place::DataDir { .. } => None,
            lifecycle::Place::Store { chain, .. } => Some(chain),
        }
    }

    /// The last committed entry of the whole chain: this node's writer's head for a data dir
    /// (it is the only writer), the chain's head row for a store (every node's entries).
    pub(crate) fn committed_head(&self) -> Result<crate::audit::Head, ServiceError> {
        match self.shared_chain() {
            None => Ok(self.inner.audit.head()),
            Some(chain) => chain.head().map_err(ServiceError::from),
        }
    }

    /// An entry for `who` doing `action`.
    fn entry(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        action: Action,
        outcome: Outcome,
    ) -> NewEntry {
        ctx.entry(who.actor(), action, outcome)
    }

    /// Appends an entry and waits for it to be durable. The one place entries are produced.
    async fn record(&self, entry: NewEntry) -> Result<Recorded, ServiceError> {
        Ok(self.inner.audit.append(entry).await?)
    }

    /// Like `record`, and in the same group commit makes every store write so far durable (key
    /// slots first): used when the next write will point at a key slot written just before.
    async fn record_and_sync(&self, entry: NewEntry) -> Result<Recorded, ServiceError> {
        Ok(self.inner.audit.append_and_sync_store(entry).await?)
    }

    /// Records a failed attempt at `action` (`outcome: error`) and returns `err`.
    async fn fail(
        &self,
        who: &Principal,
        ctx: &RequestCtx,
        action: Action,
        employee: Option<EmployeeId>,
        err: ServiceError,
    ) -> ServiceError {
        let mut e = self.entry(who, ctx, action, Outcome::Error);
        e.employee_id = employee;
        match self.record(e).await {
            Ok(_) => err,
            Err(unavailable) => unavailable,
        }
    }

    /// Runs an audited operation to its end whatever happens to the request that started it:
    /// the connection may close, or the request time out, once its entry is on its way, and the
    /// change it records is still made (or recorded as `error`), so the log never says
    /// `success` about a change that was never applied.
    pub(crate) async fn detached<T, F>(&self, op: F) -> Result<T, ServiceError>
    where
        F: std::future::Future<Output = Result<T, ServiceError>> + Send + 'static,
        T: Send + 'static,
    {
        tokio::spawn(op).await.map_err(|e| {
            tracing::error!(error = %e, "a detached operation panicked or was cancelled");
            ServiceError::Internal
        })?
    }

    /// Acts as an existing user without a token: for the operator's own commands (`demo` seeding).
    pub fn principal_named(&self, username: &str) -> Result<Principal, ServiceError> {
        let u = self
            .inner
            .store
            .user_by_name(username)?
            .ok_or(ServiceError::NotFound)?
            .value;
        Ok(Principal {
            user_id: u.id,
            username: u.username,
            role: u.role,
            kind: u.kind,
            employee_id: u.employee_id,
            jti: [0; 16],
            exp: 0,
        })
    }

    /// Makes every store write applied so far durable (group-committed with the audit log).
    async fn durable(&self) -> Result<(), ServiceError> {
        self.inner.audit.sync_store().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
