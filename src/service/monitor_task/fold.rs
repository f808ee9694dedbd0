//! Folding firings into alerts, and committing them with the monitor's cursor.
//!
//! Within one window a subject has at most one open alert per rule: a firing joins the latest
//! open alert of its (rule, subject) while inside that alert's window, otherwise it raises a new
//! one, whose id derives from (rule, subject, triggering seq) so that a replay cannot raise it
//! twice.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::model::{AlertId, AlertStatus};
use crate::monitor::Firing;
use crate::service::Vault;
use crate::store::{AlertChange, Check, Loaded, MonitorCursor, StoreError, StoredAlert};

fn subject(f: &Firing) -> String {
    match (f.user_id, f.employee_id) {
        (Some(u), _) => u.to_string(),
        (None, Some(e)) => format!("employee:{e}"),
        (None, None) => "anonymous".into(),
    }
}

fn alert_id(rule: &str, subject: &str, seq: u64) -> AlertId {
    let digest = Sha256::new()
        .chain_update(rule)
        .chain_update([0])
        .chain_update(subject)
        .chain_update(seq.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // UUID version 8 (custom)
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    AlertId::from_bytes(bytes)
}

/// The newest alert per key as this batch changes them.
struct Pending {
    prev: Option<Loaded<StoredAlert>>,
    alert: StoredAlert,
    key: String,
    dirty: bool,
}

impl Vault {
    /// Folds firings into alerts: a firing joins the latest open alert of its (rule, subject)
    /// while inside that alert's window, otherwise raises a new one.
    pub(super) fn fold_firings(&self, firings: &[Firing]) -> Result<Vec<AlertChange>, StoreError> {
        let window = SignedDuration::from_secs(self.inner.settings.monitor.window_secs as i64);
        let now = self.now();
        let mut latest: HashMap<String, usize> = HashMap::new();
        let mut pending: Vec<Pending> = Vec::new();
        for f in firings {
            let key = format!("{}/{}", f.rule.as_str(), subject(f));
            let idx = match latest.get(&key) {
                Some(i) => Some(*i),
                None => match self.inner.store.latest_alert(&key)? {
                    Some(l) => {
                        pending.push(Pending {
                            alert: l.value.clone(),
                            prev: Some(l),
                            key: key.clone(),
                            dirty: false,
                        });
                        latest.insert(key.clone(), pending.len() - 1);
                        Some(pending.len() - 1)
                    }
                    None => None,
                },
            };
            if let Some(i) = idx {
                let a = &mut pending[i].alert;
                let in_window = a.window_start <= f.at
                    && f.at < a.window_start.checked_add(window).unwrap_or(Timestamp::MAX);
                if a.status == AlertStatus::Open && in_window {
                    if a.add_evidence(&f.evidence) {
                        a.updated_at = now;
                        pending[i].dirty = true;
                    }
                    continue;
                }
            }
            let subject = subject(f);
            let id = alert_id(f.rule.as_str(), &subject, f.seq);
            if pending.iter().any(|p| p.alert.id == id) || self.inner.store.alert(&id)?.is_some() {
                // Raised before (a replay from an older cursor): never twice.
                continue;
            }
            let mut alert = StoredAlert {
                id,
                rule: f.rule,
                severity: f.rule.severity(),
                user_id: f.user_id,
                username: f.username.clone(),
                employee_id: f.employee_id,
                summary: f.summary.clone(),
                evidence_seqs: Vec::new(),
                evidence_total: 0,
                evidence_last: 0,
                status: AlertStatus::Open,
                note: None,
                created_at: now,
                updated_at: now,
                window_start: f.at,
            };
            alert.add_evidence(&f.evidence);
            pending.push(Pending {
                prev: None,
                alert,
                key: key.clone(),
                dirty: true,
            });
            latest.insert(key, pending.len() - 1);
        }
        let webhook = self.inner.settings.monitor.alert_webhook.is_some();
        Ok(pending
            .into_iter()
            .filter(|p| p.dirty)
            .map(|p| match p.prev {
                None => AlertChange::Raise {
                    alert: p.alert,
                    key: p.key,
                    webhook,
                },
                Some(prev) => AlertChange::Update {
                    prev: Box::new(prev),
                    next: p.alert,
                },
            })
            .collect())
    }

    /// Commits a batch; returns the rules of the alerts it raised. `folded` is
    /// `fold_firings(firings)` if the caller already has it; a conflict folds again.
    pub(super) fn commit_firings(
        &self,
        firings: &[Firing],
        mut folded: Option<Vec<AlertChange>>,
        cursor: MonitorCursor,
        fence: Option<&Check>,
    ) -> Result<Vec<&'static str>, StoreError> {
        for _ in 0..5 {
            let changes = match folded.take() {
                Some(c) => c,
                None => self.fold_firings(firings)?,
            };
            match self
                .inner
                .store
                .commit_monitor(&changes, cursor, fence.cloned())
            {
                Ok(()) => {
                    return Ok(changes
                        .iter()
                        .filter_map(|c| match c {
                            AlertChange::Raise { alert, .. } => Some(alert.rule.as_str()),
                            AlertChange::Update { .. } => None,
                        })
                        .collect());
                }
                // Another node holds the monitor now: this batch must not land (it will
                // evaluate these entries from the committed cursor).
                Err(StoreError::Conflict("lease")) => return Err(StoreError::Conflict("lease")),
                Err(StoreError::Conflict(_)) => continue, // an analyst triaged an alert meanwhile
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("alert"))
    }
}

/// Whether these changes touch no more than evidence counts: no alert raised, no evidence seq
/// added, no status changed. A batch made only of such changes may wait to be written.
pub(super) fn counts_only(changes: &[AlertChange]) -> bool {
    changes.iter().all(|c| match c {
        AlertChange::Raise { .. } => false,
        AlertChange::Update { prev, next } => {
            next.evidence_seqs == prev.value.evidence_seqs && next.status == prev.value.status
        }
    })
}

#[cfg(test)]
mod tests {
    use super::alert_id;

    #[test]
    fn alert_ids_are_deterministic_per_trigger() {
        assert_eq!(alert_id("r", "u", 7), alert_id("r", "u", 7));
        assert_ne!(alert_id("r", "u", 7), alert_id("r", "u", 8));
        assert_ne!(alert_id("r", "u", 7), alert_id("s", "u", 7));
    }
}
