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
    pub evidence_seqs: Vec<u64>,
    pub status: AlertStatus,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Time of the event that raised it: later events join it until one window has passed.
    pub window_start: Timestamp,
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
        prev: Loaded<StoredAlert>,
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

    /// Stores a new flag.
    pub fn insert_flag(&self, f: &StoredFlag) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![Check::Absent(Tree::HrFlags, f.id.as_bytes().to_vec(), "id")],
            ops: vec![Op::Put(
                Tree::HrFlags,
                f.id.as_bytes().to_vec(),
                codec::encode(f),
            )],
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
            ops: vec![Op::Put(Tree::HrFlags, id, codec::encode(next))],
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
    /// `Conflict` if an analyst changed one of the alerts meanwhile (the caller retries).
    pub fn commit_monitor(
        &self,
        changes: &[AlertChange],
        cursor: MonitorCursor,
    ) -> Result<(), StoreError> {
        let mut b = Batch::default();
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
        store.commit_monitor(&raise, c1).unwrap();
        // Raising the same alert again conflicts and changes nothing, cursor included.
        let c2 = MonitorCursor {
            processed: 3,
            window_from: 1,
        };
        assert!(matches!(
            store.commit_monitor(&raise, c2),
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
}
