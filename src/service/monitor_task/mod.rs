//! The task that runs the insider-threat rules over the audit log.
//!
//! It tails the log from a durable cursor (`store::MonitorCursor`), rebuilding the rule windows
//! on start by replaying the last window without raising anything, then evaluates every new
//! committed entry. Each batch's alert changes and the new cursor are committed atomically, so
//! after a crash the alerts match the cursor exactly and a replay raises nothing twice. Alert ids
//! derive from (rule, subject, triggering seq), which makes a raise itself idempotent too.
//!
//! Not every batch is written at once. A batch that raises nothing and adds no evidence seq
//! (it fires nothing, or only adds to the count of an alert whose evidence list is full, as a
//! user scraping records does with every read) keeps its firings in memory; they are written,
//! with the cursor, together with the next batch that raises or adds evidence, after
//! `CURSOR_EVERY` or `CURSOR_EVERY_ENTRIES`, or when the log goes quiet. Writing every batch was
//! a sled transaction (and a rewrite of a 1000-seq alert) every few entries under load, the
//! monitor's largest cost. So an alert's `evidence_total` may lag by up to a second; every
//! alert is still raised, and every new evidence seq recorded, with the batch that causes it.
//! A crash loses at most the unwritten cursor progress: those entries are evaluated again on
//! start, and `StoredAlert::add_evidence` counts each seq once, so nothing is counted twice.
//!
//! In a store (cluster mode) the monitor is a duty (`service::duty`): it runs on the node that
//! holds the `monitor` lease, over the whole cluster's committed chain, and every commit carries
//! the lease's fence, so a node that lost the lease cannot commit an alert the new holder will
//! also raise. The new holder starts from the committed cursor like a restart does.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

mod fold;

use jiff::{SignedDuration, Timestamp};

use super::Vault;
use super::duty::{self, Duty};
use crate::audit::{SegmentDir, Tail};
use crate::model::{EmployeeId, UserId};
use crate::monitor::{Directory, Engine, Event, Firing, FlagView};
use crate::store::{Check, EmployeeEntry, MonitorCursor, Store, StoredFlag};

const BATCH: usize = 4096;

/// Longest a cursor advance without alert changes waits before it is written.
const CURSOR_EVERY: Duration = Duration::from_secs(1);
/// Most entries a cursor advance without alert changes covers before it is written.
const CURSOR_EVERY_ENTRIES: u64 = 65_536;

/// Directory lookups against the store, memoised for one batch.
struct StoreDirectory<'a> {
    store: &'a Store,
    flags: Vec<StoredFlag>,
    users: HashMap<UserId, Option<EmployeeId>>,
    records: HashMap<EmployeeId, (Option<String>, bool)>,
    honeytokens: std::collections::HashSet<EmployeeId>,
}

impl StoreDirectory<'_> {
    fn record(&mut self, e: &EmployeeId) -> (Option<String>, bool) {
        if let Some(r) = self.records.get(e) {
            return r.clone();
        }
        let r = match self.store.employee(e) {
            Ok(Some(l)) => match l.value {
                EmployeeEntry::Live(rec) => (rec.public.department.clone(), rec.honeytoken),
                EmployeeEntry::Deleted(t) => (None, t.honeytoken),
            },
            _ => (None, false),
        };
        self.records.insert(*e, r.clone());
        r
    }
}

impl Directory for StoreDirectory<'_> {
    fn employee_of(&mut self, user: &UserId) -> Option<EmployeeId> {
        *self.users.entry(*user).or_insert_with(|| {
            self.store
                .user(user)
                .ok()
                .flatten()
                .and_then(|l| l.value.employee_id)
        })
    }
    fn department_of(&mut self, employee: &EmployeeId) -> Option<String> {
        self.record(employee).0
    }
    fn is_honeytoken(&mut self, employee: &EmployeeId) -> bool {
        self.honeytokens.contains(employee)
    }
    fn flags_of(&mut self, employee: &EmployeeId) -> Vec<FlagView> {
        self.flags
            .iter()
            .filter(|f| f.employee_id == *employee)
            .map(|f| FlagView {
                kind: f.kind,
                effective_date: f.effective_date,
                created_at: f.created_at,
                cleared_at: f.cleared_at,
            })
            .collect()
    }
}

/// First sequence number seen in each minute of the current window: where a restart must begin
/// replaying to rebuild the rule windows.
#[derive(Default)]
struct WindowStart {
    minutes: VecDeque<(i64, u64)>,
}

impl WindowStart {
    fn observe(&mut self, ts: Timestamp, seq: u64, window: SignedDuration) {
        let minute = ts.as_second().div_euclid(60);
        if self.minutes.back().is_none_or(|(m, _)| *m < minute) {
            self.minutes.push_back((minute, seq));
        }
        let oldest = (ts.as_second() - window.as_secs()).div_euclid(60) - 1;
        while self.minutes.len() > 1 && self.minutes.front().is_some_and(|(m, _)| *m < oldest) {
            self.minutes.pop_front();
        }
    }

    fn first_seq(&self, fallback: u64) -> u64 {
        self.minutes.front().map_or(fallback, |(_, s)| *s)
    }
}

/// The monitor's working state between batches.
pub(crate) struct Runner {
    /// Weak, so the thread ends when the vault is dropped (and never keeps it alive).
    vault: std::sync::Weak<super::Inner>,
    engine: Engine,
    tail: Tail,
    starts: WindowStart,
    processed: u64,
    /// `processed` as last written to the store, and when.
    committed: u64,
    committed_at: Instant,
    /// `CURSOR_EVERY` (a field so tests can choose it instead of waiting for it).
    cursor_every: Duration,
    /// Firings of batches not yet written (they only add to evidence counts).
    deferred: Vec<Firing>,
    /// The monitor lease's fence, carried by every commit (`None` in a data dir).
    fence: Option<Check>,
}

/// Why the monitor's loop ended without an error.
enum Stopped {
    /// The vault was dropped: the node is shutting down.
    VaultGone,
    /// Another node holds the monitor now: this one stands by.
    LostDuty,
}

impl Runner {
    /// Loads the cursor and rebuilds the rule windows by replaying the last window of
    /// already-evaluated entries (nothing fires during the rebuild).
    pub(crate) fn start(vault: &Vault) -> Result<Self, String> {
        let cursor = vault
            .inner
            .store
            .monitor_cursor()
            .map_err(|e| e.to_string())?;
        let mut engine = Engine::new(vault.inner.settings.monitor.clone());
        let window = engine.window();
        let mut starts = WindowStart::default();
        let after = cursor.window_from.saturating_sub(1);
        let mut tail = match (vault.data_dir(), vault.shared_chain()) {
            (Some(dir), _) => Tail::new(SegmentDir::new(dir.join("audit")), after),
            (None, Some(chain)) => Tail::over(std::sync::Arc::new(chain.clone()), after),
            (None, None) => return Err("the vault has neither a data dir nor a store".into()),
        };
        while tail.next_seq() <= cursor.processed {
            let n = tail
                .read(cursor.processed, BATCH, |e| {
                    if let Some(mut ev) = Event::from_entry(&e) {
                        if let Some(digest) = ev.id_list.take() {
                            ev.employees = vault.kept_ids(&digest).unwrap_or_default();
                        }
                        starts.observe(ev.ts, ev.seq, window);
                        engine.warm(&ev);
                    }
                })
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
        }
        let processed = cursor.processed.max(tail.next_seq().saturating_sub(1));
        Ok(Self {
            vault: std::sync::Arc::downgrade(&vault.inner),
            engine,
            tail,
            starts,
            processed,
            committed: cursor.processed,
            committed_at: Instant::now(),
            cursor_every: CURSOR_EVERY,
            deferred: Vec::new(),
            fence: None,
        })
    }

    /// Sets the fence every later commit carries (`run` sets it from the duty on each turn).
    #[cfg(test)]
    pub(crate) fn set_fence(&mut self, fence: Option<Check>) {
        self.fence = fence;
    }

    /// Evaluates committed entries up to the current head, in batches; returns alerts raised.
    pub(crate) fn catch_up(&mut self) -> Result<usize, String> {
        let Some(inner) = self.vault.upgrade() else {
            return Ok(0);
        };
        let v = Vault { inner };
        let mut raised_total = 0;
        loop {
            // The whole chain's head: in a store, every node's entries.
            let head = v.committed_head().map_err(|e| e.to_string())?.seq;
            if self.processed >= head {
                if self.committed < self.processed
                    && self.committed_at.elapsed() >= self.cursor_every
                {
                    let quiet = MonitorCursor {
                        processed: self.processed,
                        window_from: self.starts.first_seq(self.processed + 1),
                    };
                    let deferred = std::mem::take(&mut self.deferred);
                    let raised = v
                        .commit_firings(&deferred, None, quiet, self.fence.as_ref())
                        .map_err(|e| e.to_string())?;
                    self.committed = self.processed;
                    self.committed_at = Instant::now();
                    raised_total += self.announce(&v, &raised, self.processed);
                }
                return Ok(raised_total);
            }
            let started = Instant::now();
            let mut events = Vec::with_capacity(BATCH);
            self.tail
                .read(head, BATCH, |e| {
                    if let Some(ev) = Event::from_entry(&e) {
                        events.push(ev);
                    }
                })
                .map_err(|e| e.to_string())?;
            let last = self.tail.next_seq().saturating_sub(1);
            if last == self.processed {
                return Err(format!(
                    "audit entry {} could not be read",
                    self.processed + 1
                ));
            }
            let window = self.engine.window();
            let mut directory = StoreDirectory {
                store: &v.inner.store,
                flags: v.current_flags().as_ref().clone(),
                users: HashMap::new(),
                records: HashMap::new(),
                honeytokens: v.inner.honeytokens.snapshot(&v.inner.store),
            };
            for ev in &mut events {
                if let Some(digest) = ev.id_list.take() {
                    // A very large export names its records by the digest of their list: every
                    // one of them is a read all the same.
                    match v.kept_ids(&digest) {
                        Ok(ids) => ev.employees = ids,
                        Err(_) => {
                            tracing::error!(seq = ev.seq, "an export's id list cannot be read")
                        }
                    }
                }
            }
            let mut firings = Vec::new();
            for ev in &events {
                self.starts.observe(ev.ts, ev.seq, window);
                firings.extend(self.engine.observe(ev, &mut directory));
            }
            let next = MonitorCursor {
                processed: last,
                window_from: self.starts.first_seq(last + 1),
            };
            let may_wait = last - self.committed < CURSOR_EVERY_ENTRIES
                && self.committed_at.elapsed() < self.cursor_every;
            let folded = if firings.is_empty() {
                Vec::new()
            } else {
                v.fold_firings(&firings).map_err(|e| e.to_string())?
            };
            let raised = if may_wait && fold::counts_only(&folded) {
                self.deferred.append(&mut firings);
                Vec::new()
            } else {
                // Folded against the stored alerts, which is all there is when nothing waits.
                let reuse = self.deferred.is_empty().then_some(folded);
                let mut all = std::mem::take(&mut self.deferred);
                all.append(&mut firings);
                let raised = v
                    .commit_firings(&all, reuse, next, self.fence.as_ref())
                    .map_err(|e| e.to_string())?;
                self.committed = last;
                self.committed_at = Instant::now();
                raised
            };
            let metrics = &v.inner.metrics;
            metrics.monitor_events.inc_by(last - self.processed);
            metrics.monitor_processed.set(last as i64);
            raised_total += self.announce(&v, &raised, last);
            if !raised.is_empty() {
                tracing::debug!(
                    took_us = started.elapsed().as_micros() as u64,
                    "insider-threat batch"
                );
            }
            self.processed = last;
        }
    }

    /// Counts, wakes the webhook for and logs the alerts a commit raised; returns how many.
    fn announce(&self, v: &Vault, raised: &[&'static str], up_to: u64) -> usize {
        if !raised.is_empty() {
            for rule in raised {
                v.inner.metrics.alert_raised(rule);
            }
            v.inner.webhook_wake.notify_one();
            tracing::info!(raised = raised.len(), up_to, "insider-threat alerts raised");
        }
        raised.len()
    }

    /// Catches up, then waits for the next commit (or a second), until the vault is dropped or
    /// `duty` is another node's. In a store, other nodes' commits do not wake this node's
    /// writer, so it also looks at the chain's head every 200 ms.
    fn run(mut self, duty: &mut Duty) -> Result<Stopped, String> {
        loop {
            if !duty.hold() {
                return Ok(Stopped::LostDuty);
            }
            self.fence = duty.fence();
            if let Err(e) = self.catch_up() {
                if !duty.recheck() {
                    return Ok(Stopped::LostDuty);
                }
                return Err(e);
            }
            let Some(inner) = self.vault.upgrade() else {
                return Ok(Stopped::VaultGone);
            };
            let audit = inner.audit.clone();
            let poll = if inner.store_mode() {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(1)
            };
            drop(inner);
            audit.wait_for_commit(self.processed, poll);
        }
    }
}

/// Starts the monitor on its own thread (it reads files and evaluates rules: blocking work).
pub(crate) fn spawn_monitor(vault: &Vault) {
    let weak = std::sync::Arc::downgrade(&vault.inner);
    let mut duty = vault.duty(duty::MONITOR);
    let spawned = std::thread::Builder::new().name("monitor".into()).spawn(move || {
        let mut backoff = Duration::from_millis(200);
        loop {
            let Some(inner) = weak.upgrade() else { return };
            if !duty.hold() {
                // Standing by: another node runs the monitor.
                drop(inner);
                std::thread::sleep(duty::STANDBY_POLL);
                continue;
            }
            let started = Runner::start(&Vault { inner });
            match started.and_then(|r| r.run(&mut duty)) {
                Ok(Stopped::VaultGone) => return,
                Ok(Stopped::LostDuty) => {
                    tracing::info!("insider-threat monitor standing by: another node runs it");
                }
                Err(e) => {
                    tracing::error!(error = %e, "insider-threat monitor stopped; restarting from its cursor");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the insider-threat monitor");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Rule;
    use crate::service::access::{ReadAudit, Reveal};
    use crate::service::testing_support::{draft, user, vault_with};
    use crate::service::{NewFlag, RecordRef, RequestCtx};
    use crate::store::StoredAlert;

    async fn vault(dir: &std::path::Path) -> (Vault, crate::clock::FixedClock) {
        vault_with(dir, "[monitor]\ndenied_probing_threshold = 2").await
    }

    fn alerts_of(v: &Vault, rule: Rule) -> Vec<StoredAlert> {
        v.inner
            .store
            .alerts()
            .unwrap()
            .into_iter()
            .filter(|a| a.rule == rule)
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn alerts_are_raised_once_across_restarts_and_replays() {
        let dir = tempfile::tempdir().unwrap();
        let (v, _clock) = vault(&dir.path().join("v")).await;
        let ctx = RequestCtx::default();
        let hr = user(&v, "hr", "hr", None).await;
        let me = v
            .create_employee(&hr, &ctx, Ok(draft("E1", "123-45-6781")), Ok(None))
            .await
            .unwrap();
        let other = v
            .create_employee(&hr, &ctx, Ok(draft("E2", "123-45-6782")), Ok(None))
            .await
            .unwrap();
        let bob = user(&v, "bob", "hr", Some(me.id.clone())).await;
        let flag = NewFlag {
            employee_id: Some(me.id.clone()),
            kind: Some("pip".into()),
            effective_date: Some("2026-03-01".into()),
            note: None,
        };
        v.create_flag(&hr, &ctx, Ok(flag)).await.unwrap();

        let other_ref = RecordRef::parse(&other.id);
        v.get_employee(&bob, &ctx, other_ref).await.unwrap();
        v.get_employee(&bob, &ctx, other_ref).await.unwrap();
        for _ in 0..3 {
            assert!(
                v.authorize::<ReadAudit>(&bob, &ctx, None, None)
                    .await
                    .is_err()
            );
        }

        let mut runner = Runner::start(&v).unwrap();
        assert_eq!(
            runner.catch_up().unwrap(),
            2,
            "hr_flagged_access and denied_probing"
        );
        let flagged = alerts_of(&v, Rule::HrFlaggedAccess);
        assert_eq!(flagged.len(), 1);
        assert_eq!(
            flagged[0].evidence_seqs.len(),
            2,
            "the second read joined the open alert"
        );
        assert_eq!(
            flagged[0].employee_id.map(|e| e.to_string()),
            Some(me.id.clone())
        );
        let probing = alerts_of(&v, Rule::DeniedProbing);
        assert_eq!(probing.len(), 1);
        assert_eq!(
            probing[0].evidence_seqs.len(),
            3,
            "threshold 2 exceeded at the third denial"
        );
        assert!(
            alerts_of(&v, Rule::OffHoursAccess).is_empty(),
            "10:00 on a Monday"
        );

        // Restart: resume from the cursor.
        drop(runner);
        let mut runner = Runner::start(&v).unwrap();
        assert_eq!(runner.catch_up().unwrap(), 0);

        // Lost cursor: replay everything; still nothing new, evidence unchanged.
        v.inner
            .store
            .set_monitor_cursor(MonitorCursor::default())
            .unwrap();
        let mut runner = Runner::start(&v).unwrap();
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert_eq!(v.inner.store.alerts().unwrap().len(), 2);
        assert_eq!(
            alerts_of(&v, Rule::HrFlaggedAccess)[0].evidence_seqs,
            flagged[0].evidence_seqs
        );

        // Restriction: bob's reveal is refused while the pip flag is active.
        assert!(
            v.authorize::<Reveal>(&bob, &ctx, None, None).await.is_err(),
            "restricted"
        );
        let req = crate::service::RevealRequest {
            fields: Some(vec!["ssn".into()]),
            reason: Some("checking payroll".into()),
        };
        assert!(matches!(
            v.reveal(&bob, &ctx, other_ref, Ok(req)).await,
            Err(crate::service::ServiceError::Forbidden(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_quiet_cursor_is_written_late_and_a_crash_before_it_raises_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let (v, _clock) = vault(&dir.path().join("v")).await;
        let ctx = RequestCtx::default();
        let hr = user(&v, "hr", "hr", None).await;
        let stored = |v: &Vault| v.inner.store.monitor_cursor().unwrap().processed;
        let head = |v: &Vault| v.inner.audit.head().seq;

        let mut runner = Runner::start(&v).unwrap();
        runner.cursor_every = Duration::from_secs(3600);
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert!(stored(&v) < head(&v), "nothing fired: the cursor waits");

        // An alert change writes the cursor with it.
        for _ in 0..3 {
            assert!(
                v.authorize::<ReadAudit>(&hr, &ctx, None, None)
                    .await
                    .is_err()
            );
        }
        assert_eq!(runner.catch_up().unwrap(), 1, "denied_probing");
        assert_eq!(stored(&v), head(&v));

        // Quiet entries after it, then a crash before their cursor is written.
        v.create_employee(&hr, &ctx, Ok(draft("E9", "123-45-6789")), Ok(None))
            .await
            .unwrap();
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert!(stored(&v) < head(&v));
        drop(runner);
        let before = v.inner.store.alerts().unwrap();
        let mut runner = Runner::start(&v).unwrap();
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert_eq!(v.inner.store.alerts().unwrap(), before);

        // Once the log is quiet for `cursor_every`, the cursor catches up.
        runner.cursor_every = Duration::ZERO;
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert_eq!(stored(&v), head(&v));

        // Fill the probing alert's evidence list; past it, denials only add to its count, and
        // those batches wait too, across a crash, without losing or double-counting one.
        runner.cursor_every = Duration::from_secs(3600);
        let deny = || async {
            assert!(
                v.authorize::<ReadAudit>(&hr, &ctx, None, None)
                    .await
                    .is_err()
            );
        };
        for _ in 0..crate::store::EVIDENCE_CAP {
            deny().await;
        }
        assert_eq!(runner.catch_up().unwrap(), 0);
        let probing = || alerts_of(&v, Rule::DeniedProbing).remove(0);
        assert_eq!(probing().evidence_seqs.len(), crate::store::EVIDENCE_CAP);
        assert_eq!(
            probing().evidence_total,
            3 + crate::store::EVIDENCE_CAP as u64
        );
        assert_eq!(
            stored(&v),
            head(&v),
            "new evidence seqs are written at once"
        );
        for _ in 0..5 {
            deny().await;
        }
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert_eq!(
            probing().evidence_total,
            3 + crate::store::EVIDENCE_CAP as u64
        );
        assert!(stored(&v) < head(&v), "count-only batches wait");
        drop(runner);
        let mut runner = Runner::start(&v).unwrap();
        runner.cursor_every = Duration::from_secs(3600);
        assert_eq!(runner.catch_up().unwrap(), 0);
        runner.cursor_every = Duration::ZERO;
        assert_eq!(runner.catch_up().unwrap(), 0);
        assert_eq!(stored(&v), head(&v));
        assert_eq!(
            probing().evidence_total,
            8 + crate::store::EVIDENCE_CAP as u64
        );
        assert_eq!(alerts_of(&v, Rule::DeniedProbing).len(), 1);
    }

    #[test]
    fn window_start_tracks_the_first_entry_of_the_window() {
        let mut w = WindowStart::default();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let win = SignedDuration::from_secs(120);
        for i in 0..10u64 {
            w.observe(
                t0.checked_add(SignedDuration::from_secs(60 * i as i64))
                    .unwrap(),
                i + 1,
                win,
            );
        }
        // At minute 9 a 2-minute window (plus one minute of slack) starts at minute 6.
        assert_eq!(w.first_seq(0), 7);
    }
}
