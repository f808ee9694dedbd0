//! Audit entries as the rules see them.

use jiff::Timestamp;

use crate::audit::EntryRef;
use crate::model::{EmployeeId, UserId};

/// What an entry means to the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// GET by id, lookup that found a record, export containing it (CONTRACT: list pages are
    /// not reads).
    Read,
    /// A reveal (also a read).
    Reveal,
    /// Anything else that touches a record (update, delete) — only the honeytoken rule cares.
    Touch,
    /// `access.denied`.
    Denied,
    /// A refused token or failed sign-in of an account disabled by termination.
    TerminatedAttempt,
    /// Not relevant to any rule.
    Other,
}

/// One audit entry, reduced to what rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub ts: Timestamp,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub kind: EventKind,
    /// Records the event touches (its `employee_id` and `employee_ids`).
    pub employees: Vec<EmployeeId>,
}

/// The reason the service records for an account disabled by a termination flag.
pub const TERMINATED_REASON: &str = "account disabled: terminated";

impl Event {
    /// Classifies an entry; `None` for an entry whose timestamp does not parse (never written by
    /// this writer, but the log is input like any other).
    pub fn from_entry(e: &EntryRef<'_>) -> Option<Self> {
        let ts: Timestamp = e.ts.parse().ok()?;
        let success = e.outcome == "success";
        let kind = match e.action.as_ref() {
            "employee.read" | "employee.lookup" | "employee.export" if success => EventKind::Read,
            "employee.reveal" if success => EventKind::Reveal,
            "employee.update" | "employee.delete" if success => EventKind::Touch,
            "access.denied" => EventKind::Denied,
            "auth.token_rejected" | "auth.login_failed"
                if e.reason.as_deref() == Some(TERMINATED_REASON) =>
            {
                EventKind::TerminatedAttempt
            }
            _ => EventKind::Other,
        };
        let mut employees: Vec<EmployeeId> = e
            .employee_id
            .as_deref()
            .and_then(|s| s.parse().ok())
            .into_iter()
            .collect();
        if let Some(ids) = &e.employee_ids {
            employees.extend(ids.iter().filter_map(|s| s.parse::<EmployeeId>().ok()));
        }
        Some(Self {
            seq: e.seq,
            ts,
            user_id: e.actor.user_id.as_deref().and_then(|s| s.parse().ok()),
            username: e.actor.username.as_ref().map(|u| u.to_string()),
            kind,
            employees,
        })
    }

    /// Whether the event reads employee data (reads and reveals).
    pub fn is_read(&self) -> bool {
        matches!(self.kind, EventKind::Read | EventKind::Reveal)
    }
}
