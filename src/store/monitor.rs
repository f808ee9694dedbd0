//! HR flags, alerts, and the monitor's durable state (cursor, latest alert per key, webhook
//! outbox).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{Batch, Check, Loaded, Op, Store, StoreError, Tree, codec};
use crate::model::{AlertId, AlertStatus, EmployeeId, FlagId, FlagKind, Rule, Severity, UserId};

/// An HR flag. Clearing keeps it (history); only `cleared_at` changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFlag {
    pub id: FlagId,
    pub employee_id: EmployeeId,
    pub kind: FlagKind,
    pub effective_date: Date,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
    pub cleared_at: Option<Timestamp>,
    pub cleared_by: Option<UserId>,
}

/// An alert raised by the monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlert {
    pub id: AlertId,
    pub rule: Rule,
    pub severity: Severity,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub employee_id: Option<EmployeeId>,
    pub summary: String,
    /// The first [`EVIDENCE_CAP`] distinct evidence seqs, ascending.
    pub evidence_seqs: Vec<u64>,
    /// How many distinct evidence entries the alert has seen, kept or not.
    pub evidence_total: u64,
    /// Highest evidence seq seen; tells a replayed seq from a new one once the list is full.
    pub evidence_last: u64,
    pub status: AlertStatus,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Time of the event that raised it: later events join it until one window has passed.
    pub window_start: Timestamp,
}

/// How many evidence seqs an alert keeps.
///
/// An insider reading all day keeps one alert open and feeds it evidence: without a cap
/// the alert (rewritten on every batch) grows without bound and each write costs more
/// than the last. The first entries say what started it; the audit log has the rest, and
/// `evidence_total` says how many there were.
pub const EVIDENCE_CAP: usize = 1000;

impl StoredAlert {
    /// Adds evidence seqs, skipping ones already counted; returns whether anything changed.
    ///
    /// Invariant: `evidence_seqs` is sorted and distinct, never longer than
    /// [`EVIDENCE_CAP`], and `evidence_total` counts each distinct seq once even when a
    /// replay from an older cursor offers the same seqs again.
    pub fn add_evidence(&mut self, seqs: &[u64]) -> bool {
        let mut changed = false;
        for &seq in seqs {
            let fresh = match self.evidence_seqs.binary_search(&seq) {
                Ok(_) => false,
                Err(pos) if self.evidence_seqs.len() < EVIDENCE_CAP => {
                    self.evidence_seqs.insert(pos, seq);
                    true
                }
                // Full: every seq seen so far is at most `evidence_last`, kept or dropped.
                Err(_) => seq > self.evidence_last,
            };
            if fresh {
                self.evidence_total += 1;
                self.evidence_last = self.evidence_last.max(seq);
                changed = true;
            }
        }
        changed
    }
}

/// Where the monitor is in the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorCursor {
    /// Every entry up to and including this seq has been evaluated.
    pub processed: u64,
    /// Replaying from here rebuilds the rule windows (the first entry of the current window).
    pub window_from: u64,
}

const CURSOR: &[u8] = b"cursor";

/// One change to alerts made while evaluating a batch of events.
#[derive(Debug, Clone)]
pub enum AlertChange {
    /// A new alert, now the latest for `key`; `webhook` queues its delivery.
    Raise {
        alert: StoredAlert,
        key: String,
        webhook: bool,
    },
    /// More evidence on an existing alert.
    Update {
        prev: Box<Loaded<StoredAlert>>,
        next: StoredAlert,
    },
}

fn latest_key(key: &str) -> Vec<u8> {
    let mut k = b"latest/".to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

fn outbox_key(id: &AlertId) -> Vec<u8> {
    let mut k = b"outbox/".to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

/// The `Meta` key whose value changes with every flag write (`service::fresh`).
pub const FLAGS_GENERATION: &str = "gen/hr_flags";

/// A new random generation for the flags, written in the same batch as the change.
fn flags_moved() -> Op {
    Op::Put(
        Tree::Meta,
        FLAGS_GENERATION.as_bytes().to_vec(),
        uuid::Uuid::new_v4().as_bytes().to_vec(),
    )
}

impl Store {
    /// One flag.
    pub fn flag(&self, id: &FlagId) -> Result<Option<Loaded<StoredFlag>>, StoreError> {
        self.load(Tree::HrFlags, id.as_bytes())
    }

    /// Every flag, active or cleared.
    pub fn flags(&self) -> Result<Vec<StoredFlag>, StoreError> {
        self.backend
            .range(Tree::HrFlags, &[], None)
            .map(|r| r.and_then(|(_, v)| Ok(codec::decode(&v)?)))
            .collect()
    }

    /// Stores a new flag (and moves the flags' generation, so every node reloads them).
    pub fn insert_flag(&self, f: &StoredFlag) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![Check::Absent(Tree::HrFlags, f.id.as_bytes().to_vec(), "id")],
            ops: vec![
                Op::Put(Tree::HrFlags, f.id.as_bytes().to_vec(), codec::encode(f)),
                flags_moved(),
            ],
        })
    }

    /// Compare-and-set update of a flag.
    pub fn replace_flag(
        &self,
        prev: &Loaded<StoredFlag>,
        next: &StoredFlag,
    ) -> Result<(), StoreError> {
        let id = next.id.as_bytes().to_vec();
        self.backend.apply(&Batch {
            checks: vec![Check::Equals(
                Tree::HrFlags,
                id.clone(),
                prev.raw.clone(),
                "version",
            )],
            ops: vec![
                Op::Put(Tree::HrFlags, id, codec::encode(next)),
                flags_moved(),
            ],
        })
    }

    /// One alert.
    pub fn alert(&self, id: &AlertId) -> Result<Option<Loaded<StoredAlert>>, StoreError> {
        self.load(Tree::Alerts, id.as_bytes())
    }

    /// Every alert.
    pub fn alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        self.backend
            .range(Tree::Alerts, &[], None)
            .map(|r| r.and_then(|(_, v)| Ok(codec::decode(&v)?)))
            .collect()
    }

    /// Compare-and-set update of an alert (evidence, triage).
    pub fn replace_alert(
        &self,
        prev: &Loaded<StoredAlert>,
        next: &StoredAlert,
    ) -> Result<(), StoreError> {
        let id = next.id.as_bytes().to_vec();
        self.backend.apply(&Batch {
            checks: vec![Check::Equals(
                Tree::Alerts,
                id.clone(),
                prev.raw.clone(),
                "version",
            )],
            ops: vec![Op::Put(Tree::Alerts, id, codec::encode(next))],
        })
    }

    /// The most recent alert raised for `key` (rule + subject).
    pub fn latest_alert(&self, key: &str) -> Result<Option<Loaded<StoredAlert>>, StoreError> {
        match self.backend.get(Tree::MonitorState, &latest_key(key))? {
            None => Ok(None),
            Some(id) => {
                self.alert(&AlertId::from_slice(&id).map_err(|_| codec::CodecError::Malformed)?)
            }
        }
    }

    /// Applies every alert change of a batch together with the new cursor, atomically: after a
    /// crash the alerts always match the cursor, so replaying from it is deterministic.
    /// `Conflict` if an analyst changed one of the alerts meanwhile (the caller retries);
    /// `Conflict("lease")` if `fence` (the monitor's lease, in a store) is no longer this node's:
    /// another node took the monitor over, and this batch must not land.
    pub fn commit_monitor(
        &self,
        changes: &[AlertChange],
        cursor: MonitorCursor,
        fence: Option<Check>,
    ) -> Result<(), StoreError> {
        let mut b = Batch::default();
        b.checks.extend(fence);
        for c in changes {
            match c {
                AlertChange::Raise {
                    alert,
                    key,
                    webhook,
                } => {
                    let id = alert.id.as_bytes().to_vec();
                    b.checks
                        .push(Check::Absent(Tree::Alerts, id.clone(), "alert"));
                    b.ops
                        .push(Op::Put(Tree::Alerts, id.clone(), codec::encode(alert)));
                    b.ops.push(Op::Put(Tree::MonitorState, latest_key(key), id));
                    if *webhook {
                        b.ops
                            .push(Op::Put(Tree::MonitorState, outbox_key(&alert.id), vec![]));
                    }
                }
                AlertChange::Update { prev, next } => {
                    let id = next.id.as_bytes().to_vec();
                    b.checks.push(Check::Equals(
                        Tree::Alerts,
                        id.clone(),
                        prev.raw.clone(),
                        "alert",
                    ));
                    b.ops.push(Op::Put(Tree::Alerts, id, codec::encode(next)));
                }
            }
        }
        b.ops.push(Op::Put(
            Tree::MonitorState,
            CURSOR.to_vec(),
            codec::encode(&cursor),
        ));
        self.backend.apply(&b)
    }

    /// The monitor's position.
    pub fn monitor_cursor(&self) -> Result<MonitorCursor, StoreError> {
        match self.backend.get(Tree::MonitorState, CURSOR)? {
            None => Ok(MonitorCursor::default()),
            Some(v) => Ok(codec::decode(&v)?),
        }
    }

    /// Saves the monitor's position (replay from an older one is harmless: it is idempotent).
    pub fn set_monitor_cursor(&self, c: MonitorCursor) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![],
            ops: vec![Op::Put(
                Tree::MonitorState,
                CURSOR.to_vec(),
                codec::encode(&c),
            )],
        })
    }

    /// Alerts whose webhook has not been delivered yet.
    pub fn webhook_outbox(&self) -> Result<Vec<AlertId>, StoreError> {
        self.backend
            .range(Tree::MonitorState, b"outbox/", Some(b"outbox0"))
            .map(|r| {
                r.and_then(|(k, _)| {
                    AlertId::from_slice(&k[7..]).map_err(|_| codec::CodecError::Malformed.into())
                })
            })
            .collect()
    }

    /// Marks a webhook delivered.
    pub fn webhook_delivered(&self, id: &AlertId) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![],
            ops: vec![Op::Delete(Tree::MonitorState, outbox_key(id))],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn alert(id: AlertId, at: &str) -> StoredAlert {
        let t: Timestamp = at.parse().unwrap();
        StoredAlert {
            id,
            rule: Rule::DeniedProbing,
            severity: Severity::Medium,
            user_id: Some(UserId::random()),
            username: Some("u".into()),
            employee_id: None,
            summary: "s".into(),
            evidence_seqs: vec![1, 2],
            evidence_total: 2,
            evidence_last: 2,
            status: AlertStatus::Open,
            note: None,
            created_at: t,
            updated_at: t,
            window_start: t,
        }
    }

    #[test]
    fn a_batch_commits_alerts_and_cursor_together() {
        let (store, _d) = temp_store();
        let a = alert(AlertId::random(), "2026-01-01T00:00:00Z");
        let raise = vec![AlertChange::Raise {
            alert: a.clone(),
            key: "denied_probing/u".into(),
            webhook: true,
        }];
        let c1 = MonitorCursor {
            processed: 2,
            window_from: 1,
        };
        store.commit_monitor(&raise, c1, None).unwrap();
        // Raising the same alert again conflicts and changes nothing, cursor included.
        let c2 = MonitorCursor {
            processed: 3,
            window_from: 1,
        };
        assert!(matches!(
            store.commit_monitor(&raise, c2, None),
            Err(StoreError::Conflict("alert"))
        ));
        assert_eq!(store.monitor_cursor().unwrap(), c1);
        assert_eq!(store.alerts().unwrap().len(), 1);
        assert_eq!(
            store
                .latest_alert("denied_probing/u")
                .unwrap()
                .unwrap()
                .value
                .id,
            a.id
        );
        assert_eq!(store.webhook_outbox().unwrap(), vec![a.id]);
        store.webhook_delivered(&a.id).unwrap();
        assert!(store.webhook_outbox().unwrap().is_empty());
        store
            .set_monitor_cursor(MonitorCursor {
                processed: 9,
                window_from: 3,
            })
            .unwrap();
        assert_eq!(
            store.monitor_cursor().unwrap(),
            MonitorCursor {
                processed: 9,
                window_from: 3
            }
        );
    }

    #[test]
    fn evidence_is_sorted_distinct_and_capped_but_fully_counted() {
        let mut a = alert(AlertId::random(), "2026-01-01T00:00:00Z");
        assert!(!a.add_evidence(&[2, 1]), "known seqs change nothing");
        assert!(a.add_evidence(&[5, 3]));
        assert_eq!(a.evidence_seqs, vec![1, 2, 3, 5]);
        let many: Vec<u64> = (10..10 + 2 * EVIDENCE_CAP as u64).collect();
        assert!(a.add_evidence(&many));
        assert_eq!(a.evidence_seqs.len(), EVIDENCE_CAP);
        assert!(a.evidence_seqs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a.evidence_seqs[..4], [1, 2, 3, 5]);
        assert_eq!(a.evidence_total, 4 + 2 * EVIDENCE_CAP as u64);
        // A replay offers dropped and kept seqs again: neither is counted twice.
        assert!(!a.add_evidence(&many));
        assert!(
            !a.add_evidence(&[4]),
            "below the last seen once full: a replay"
        );
        assert_eq!(a.evidence_total, 4 + 2 * EVIDENCE_CAP as u64);
        assert!(a.add_evidence(&[u64::MAX]));
        assert_eq!(a.evidence_total, 5 + 2 * EVIDENCE_CAP as u64);
    }
}
