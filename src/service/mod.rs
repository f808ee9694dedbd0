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
mod duty;
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
use std::time::{Duration, Instant};

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
    let v = vault.clone();
    // Housekeeping is a duty: in a store, one node at a time runs it (`service::duty`). Its
    // loop turns every `RENEW_EVERY` so the lease stays renewed between the jobs.
    tokio::spawn(async move {
        let mut duty = v.duty(duty::HOUSEKEEPING);
        let mut tick = tokio::time::interval(duty::RENEW_EVERY);
        let (mut terminations_at, mut purge_at) = (Instant::now(), Instant::now());
        loop {
            tick.tick().await;
            if !duty.hold() {
                continue;
            }
            if Instant::now() >= terminations_at {
                terminations_at = Instant::now() + Duration::from_secs(30);
                match v.enforce_due_terminations().await {
                    Ok(n) if n > 0 => tracing::info!(disabled = n, "termination flags enforced"),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "could not enforce due termination flags")
                    }
                }
            }
            if Instant::now() >= purge_at {
                purge_at = Instant::now() + Duration::from_secs(600);
                v.purge_expired().await;
            }
        }
    });
    // Each node audits the rate-limit windows it refused in (per node by design: see
    // docs/design/cluster.md), so this one is not a duty.
    let limits = vault.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = limits.record_ended_rate_limits().await {
                tracing::warn!(error = %e, "could not audit ended rate-limit windows");
            }
        }
    });
}

impl Vault {
    /// Removes what has expired: rate-limit windows, revocations of expired tokens, day-old
    /// idempotency keys, console sessions (housekeeping; idempotent).
    async fn purge_expired(&self) {
        let store = self.inner.store.clone();
        let now = self.now();
        let day_ago = now
            .checked_sub(jiff::SignedDuration::from_hours(24))
            .unwrap_or(now);
        let purge = move || -> Result<(usize, usize), crate::store::StoreError> {
            let limits = store.purge_limits(now.as_second())?;
            tracing::debug!(limit_windows = limits, "ended rate-limit windows removed");
            // Dead rows of shredded keys (PostgreSQL) do not wait for autovacuum.
            store.reclaim_key_slots()?;
            Ok((store.purge_revoked(now)?, store.purge_idempotency(day_ago)?))
        };
        if let Err(e) = self.purge_console_sessions() {
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
}

/// Why [`Vault::record_change`] did not make its change.
enum ChangeError {
    /// Nothing was recorded and nothing changed: the audit log is unavailable (503).
    Unrecorded(ServiceError),
    /// The change was refused (a check failed) or could not be applied. In a store nothing was
    /// recorded either; in a data dir the `success` entry is durable. Either way the caller
    /// records the failure (`write_failed`) and answers with it.
    Refused(crate::store::StoreError),
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
    /// This node as the holder of single-runner duties (monitor, webhook, housekeeping).
    pub(crate) node: Arc<duty::Node>,
    /// When the shared store was last probed for `/healthz`, and whether it answered.
    pub(crate) store_probe: parking_lot::Mutex<Option<(Instant, bool)>>,
}

impl Inner {
    /// Whether the vault lives in a shared store (cluster mode), not a data dir.
    pub(crate) fn store_mode(&self) -> bool {
        matches!(self.place, lifecycle::Place::Store { .. })
    }
}

/// An unsealed, running vault. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

impl Vault {
    /// The single-runner duty `name` as this node sees it (always held in a data dir).
    pub(crate) fn duty(&self, name: &'static str) -> duty::Duty {
        let store = self.inner.store_mode().then(|| self.inner.store.clone());
        duty::Duty::new(name, store, self.inner.node.clone())
    }

    /// Gives up this node's duties (monitor, webhook, housekeeping) so another node takes them
    /// over at once instead of after their lease expires: called by `serve` at a clean
    /// shutdown. A no-op in a data dir.
    pub fn step_down(&self) {
        if self.inner.store_mode() {
            self.inner.node.step_down(&self.inner.store);
        }
    }

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

    /// Whether the shared store answers (cluster mode; always true for a data dir), for
    /// `/healthz`: a load balancer takes a node out while its database is out of reach. At
    /// most one probe a second, whatever the request rate, so unauthenticated `/healthz`
    /// traffic cannot become database load.
    pub async fn store_reachable(&self) -> bool {
        let Some(chain) = self.shared_chain().cloned() else {
            return true;
        };
        let probe = &self.inner.store_probe;
        {
            let last = probe.lock();
            if let Some((at, ok)) = *last
                && at.elapsed() < Duration::from_secs(1)
            {
                return ok;
            }
        }
        let probed = tokio::task::spawn_blocking(move || chain.head().is_ok());
        let ok = matches!(
            tokio::time::timeout(Duration::from_secs(2), probed).await,
            Ok(Ok(true))
        );
        *probe.lock() = Some((Instant::now(), ok));
        ok
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

    /// Records `entry` and makes the store change it describes (`change`, built by a
    /// `Store::*_batch` function). In a store (cluster mode) the two commit in one database
    /// transaction (`audit::Change`): a change whose check fails is refused together with its
    /// entry, so the log never says `success` about a change that was not made, not even across
    /// a crash. In a data dir the entry is durable first (with every store write so far, if
    /// `sync_first`) and the change applied after it, the order DESIGN §4 describes.
    async fn record_change(
        &self,
        entry: NewEntry,
        change: crate::store::Batch,
        sync_first: bool,
    ) -> Result<Recorded, ChangeError> {
        if self.inner.store_mode() {
            return match self
                .inner
                .audit
                .append_with_change(entry, crate::audit::Change::new(change))
                .await
            {
                Ok(r) => Ok(r),
                Err(crate::audit::AuditError::Conflict(label)) => Err(ChangeError::Refused(
                    crate::store::StoreError::Conflict(label),
                )),
                Err(e) => Err(ChangeError::Unrecorded(e.into())),
            };
        }
        let recorded = if sync_first {
            self.record_and_sync(entry).await
        } else {
            self.record(entry).await
        }
        .map_err(ChangeError::Unrecorded)?;
        self.inner
            .store
            .apply_change(&change)
            .map_err(ChangeError::Refused)?;
        Ok(recorded)
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
