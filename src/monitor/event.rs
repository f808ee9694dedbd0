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
    /// A lookup that found no record (a guess that missed).
    LookupMiss,
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
    /// Whether the entry concerns its records one by one (any outcome of a read, update,
    /// delete, reveal, lookup or export, and a denial naming a record) rather than listing
    /// them (a list page): what makes a touch of a honeytoken.
    pub touches: bool,
    /// The digest of the kept id list an export names instead of inline ids: the service
    /// fills `employees` from it, so a very large export still counts as reads.
    pub id_list: Option<String>,
}

/// The reason the service records for an account disabled by a termination flag.
pub const TERMINATED_REASON: &str = "account disabled: terminated";

/// The reason of an `employee.update` entry whose validation compared a supplied value with a
/// stored sensitive value: a read of the record, whatever the outcome.
pub const COMPARED_REASON: &str = "compared with the stored date_of_birth";

/// The reason of an `employee.lookup` entry that found no record.
pub const LOOKUP_MISS_REASON: &str = "no record has this ssn";

impl Event {
    /// Classifies an entry; `None` for an entry whose timestamp does not parse (never written by
    /// this writer, but the log is input like any other).
    pub fn from_entry(e: &EntryRef<'_>) -> Option<Self> {
        let ts: Timestamp = e.ts.parse().ok()?;
        let success = e.outcome == "success";
        let reason = e.reason.as_deref();
        let kind = match e.action.as_ref() {
            "employee.read" | "employee.lookup" | "employee.export" if success => EventKind::Read,
            "employee.update" if reason == Some(COMPARED_REASON) => EventKind::Read,
            "employee.lookup" if reason == Some(LOOKUP_MISS_REASON) => EventKind::LookupMiss,
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
        let touches = matches!(
            e.action.as_ref(),
            "employee.read"
                | "employee.update"
                | "employee.delete"
                | "employee.reveal"
                | "employee.lookup"
                | "employee.export"
                | "access.denied"
        );
        let id_list = (e.action == "employee.export" && success && e.employee_ids.is_none())
            .then(|| reason.and_then(id_list_digest))
            .flatten()
            .map(str::to_owned);
        Some(Self {
            touches,
            id_list,
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

/// The id-list digest an export entry's reason names (`... (sha256 <hex>)`).
fn id_list_digest(reason: &str) -> Option<&str> {
    let d = reason.rsplit("sha256 ").next()?.trim_end_matches(')');
    (d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())).then_some(d)
}
