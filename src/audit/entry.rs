//! One audit entry: its API/JSONL form, its canonical bytes and its hash.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{EmployeeId, Role, UserId};

/// `prev_hash` of entry 1: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Result of the audited request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused by policy or authentication.
    Denied,
    /// Failed (invalid input, not found, conflict, internal).
    Error,
}

impl Outcome {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

macro_rules! actions {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Audit action names (CONTRACT §2 Audit).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $( #[doc = $name] $variant ),+ }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// Wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }

            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Action::$variant),)+ _ => None }
            }
        }
    };
}

actions! {
    AuthLogin => "auth.login",
    AuthLoginFailed => "auth.login_failed",
    AuthLogout => "auth.logout",
    AuthTokenRejected => "auth.token_rejected",
    AuthRateLimited => "auth.rate_limited",
    EmployeeImport => "employee.import",
    EmployeeCreate => "employee.create",
    EmployeeRead => "employee.read",
    EmployeeList => "employee.list",
    EmployeeUpdate => "employee.update",
    EmployeeDelete => "employee.delete",
    EmployeeReveal => "employee.reveal",
    EmployeeLookup => "employee.lookup",
    EmployeeExport => "employee.export",
    AccessDenied => "access.denied",
    UserCreate => "user.create",
    UserUpdate => "user.update",
    UserDelete => "user.delete",
    UserRecover => "user.recover",
    HrFlagCreate => "hr_flag.create",
    HrFlagDelete => "hr_flag.delete",
    AlertUpdate => "alert.update",
    KeysRotate => "keys.rotate",
    HoneytokenCreate => "honeytoken.create",
}

/// Who acted. All three are null for an anonymous request; a failed login records the attempted
/// username only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The user's id, if known.
    pub user_id: Option<UserId>,
    /// The username (or the attempted one).
    pub username: Option<String>,
    /// The role held at the time.
    pub role: Option<Role>,
}

/// What a request hands to the writer; the writer adds `seq`, `ts` and the hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub actor: Actor,
    pub action: Action,
    pub employee_id: Option<EmployeeId>,
    pub employee_ids: Option<Vec<EmployeeId>>,
    pub fields: Option<Vec<String>>,
    pub reason: Option<String>,
    pub outcome: Outcome,
    pub source_ip: Option<String>,
    /// The server's own id of the request (unique per request).
    pub request_id: Option<String>,
    /// The client's `x-request-id`, when it sent a valid one.
    pub client_request_id: Option<String>,
}

impl NewEntry {
    /// An entry with only actor, action and outcome set.
    pub fn new(actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            employee_id: None,
            employee_ids: None,
            fields: None,
            reason: None,
            outcome,
            source_ip: None,
            request_id: None,
            client_request_id: None,
        }
    }
}

/// The actor as written in an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AuditActor)]
pub struct ActorRef<'a> {
    #[serde(borrow)]
    #[schema(required, format = "uuid")]
    pub user_id: Option<Cow<'a, str>>,
    /// The username (for a failed login, the one attempted).
    #[serde(borrow)]
    #[schema(required)]
    pub username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    #[schema(required, value_type = Option<Role>)]
    pub role: Option<Cow<'a, str>>,
}

/// An entry exactly as the API returns it and as each JSONL line holds it, field order as in the
/// contract. Parsing borrows from the line where it can (the verifier's hot path); unknown fields
/// are rejected so nothing can ride along outside the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = AuditEntry,
    description = "One audit entry, exactly as the JSONL export holds it."
)]
pub struct EntryRef<'a> {
    /// From 1, no gaps.
    pub seq: u64,
    #[serde(borrow)]
    #[schema(value_type = String, format = DateTime)]
    pub ts: Cow<'a, str>,
    #[serde(borrow)]
    pub actor: ActorRef<'a>,
    /// An action name, e.g. `employee.read`, `access.denied`, `auth.login_failed`.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub action: Cow<'a, str>,
    #[serde(borrow)]
    #[schema(required, value_type = Option<String>, format = "uuid")]
    pub employee_id: Option<Cow<'a, str>>,
    /// The records of a multi-record action (list, export, import), else null.
    #[serde(borrow)]
    #[schema(required, value_type = Option<Vec<String>>)]
    pub employee_ids: Option<Vec<Cow<'a, str>>>,
    /// Field names involved (never values).
    #[serde(borrow)]
    #[schema(required, value_type = Option<Vec<String>>)]
    pub fields: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    #[schema(required, value_type = Option<String>)]
    pub reason: Option<Cow<'a, str>>,
    /// `success`, `denied` or `error`.
    #[serde(borrow)]
    #[schema(value_type = String, pattern = "^(success|denied|error)$")]
    pub outcome: Cow<'a, str>,
    #[serde(borrow)]
    #[schema(required, value_type = Option<String>)]
    pub source_ip: Option<Cow<'a, str>>,
    /// The server's own id of the request: unique per request (null for CLI actions).
    #[serde(borrow)]
    #[schema(required, value_type = Option<String>)]
    pub request_id: Option<Cow<'a, str>>,
    /// The client's `x-request-id` when it sent a valid one (1–64 of `[A-Za-z0-9._:-]`). The key
    /// is present only then: entries written before it existed have no such key and still
    /// verify (docs/design/audit-chain.md §2–§3).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_request_id: Option<Cow<'a, str>>,
    /// Hex SHA-256 of the previous entry (64 zeros for entry 1).
    #[serde(borrow)]
    #[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
    pub prev_hash: Cow<'a, str>,
    /// Hex SHA-256 over `prev_hash` and this entry's canonical bytes.
    #[serde(borrow)]
    #[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
    pub hash: Cow<'a, str>,
}

/// An owned entry.
pub type AuditEntry = EntryRef<'static>;

impl EntryRef<'_> {
    /// A fully owned copy.
    pub fn into_owned(self) -> AuditEntry {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        let own_opt = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        let own_vec = |v: Option<Vec<Cow<'_, str>>>| {
            v.map(|v| v.into_iter().map(|c| Cow::Owned(c.into_owned())).collect())
        };
        EntryRef {
            seq: self.seq,
            ts: own(self.ts),
            actor: ActorRef {
                user_id: own_opt(self.actor.user_id),
                username: own_opt(self.actor.username),
                role: own_opt(self.actor.role),
            },
            action: own(self.action),
            employee_id: own_opt(self.employee_id),
            employee_ids: own_vec(self.employee_ids),
            fields: own_vec(self.fields),
            reason: own_opt(self.reason),
            outcome: own(self.outcome),
            source_ip: own_opt(self.source_ip),
            request_id: own_opt(self.request_id),
            client_request_id: own_opt(self.client_request_id),
            prev_hash: own(self.prev_hash),
            hash: own(self.hash),
        }
    }

    /// Recomputes this entry's hash from its `prev_hash` and canonical bytes.
    pub fn computed_hash(&self, scratch: &mut Vec<u8>) -> String {
        canonical_bytes(self, scratch);
        chain_hash(&self.prev_hash, scratch)
    }

    /// Whether `employee` is the entry's record or one of its records.
    pub fn concerns(&self, employee: &str) -> bool {
        self.employee_id.as_deref() == Some(employee)
            || self
                .employee_ids
                .as_ref()
                .is_some_and(|ids| ids.iter().any(|i| i == employee))
    }
}

/// Canonical bytes: the entry without `prev_hash` and `hash`, as JSON with object keys sorted
/// by code point, no insignificant whitespace, nulls kept (except `client_request_id`, which is
/// present only when set, so entries from before it existed hash as they always did), strings
/// escaped as RFC 8785 (JCS) requires (which is serde_json's compact escaping). Written into
/// `out` (cleared first).
pub fn canonical_bytes(e: &EntryRef<'_>, out: &mut Vec<u8>) {
    #[derive(Serialize)]
    struct CanonActor<'b> {
        role: &'b Option<Cow<'b, str>>,
        user_id: &'b Option<Cow<'b, str>>,
        username: &'b Option<Cow<'b, str>>,
    }
    // Field order here IS the canonical order: keep it sorted.
    #[derive(Serialize)]
    struct Canon<'b> {
        action: &'b str,
        actor: CanonActor<'b>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_request_id: &'b Option<Cow<'b, str>>,
        employee_id: &'b Option<Cow<'b, str>>,
        employee_ids: &'b Option<Vec<Cow<'b, str>>>,
        fields: &'b Option<Vec<Cow<'b, str>>>,
        outcome: &'b str,
        reason: &'b Option<Cow<'b, str>>,
        request_id: &'b Option<Cow<'b, str>>,
        seq: u64,
        source_ip: &'b Option<Cow<'b, str>>,
        ts: &'b str,
    }
    out.clear();
    let canon = Canon {
        action: &e.action,
        actor: CanonActor {
            role: &e.actor.role,
            user_id: &e.actor.user_id,
            username: &e.actor.username,
        },
        client_request_id: &e.client_request_id,
        employee_id: &e.employee_id,
        employee_ids: &e.employee_ids,
        fields: &e.fields,
        outcome: &e.outcome,
        reason: &e.reason,
        request_id: &e.request_id,
        seq: e.seq,
        source_ip: &e.source_ip,
        ts: &e.ts,
    };
    serde_json::to_writer(&mut *out, &canon).expect("serializing strings into a Vec cannot fail");
}

/// `hex(SHA-256(prev_hash as 64 ASCII hex characters || canonical))`.
pub(crate) fn chain_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical);
    let digest = h.finalize();
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        write!(s, "{b:02x}").expect("writing to a String cannot fail");
    }
    s
}

impl NewEntry {
    /// Seals this entry at `seq`/`ts` onto the chain after `prev_hash`.
    pub(crate) fn seal(
        &self,
        seq: u64,
        ts: &str,
        prev_hash: &str,
        scratch: &mut Vec<u8>,
    ) -> AuditEntry {
        let s = |v: &str| Cow::Owned(v.to_owned());
        let mut e = EntryRef {
            seq,
            ts: s(ts),
            actor: ActorRef {
                user_id: self.actor.user_id.map(|u| Cow::Owned(u.to_string())),
                username: self.actor.username.as_deref().map(s),
                role: self.actor.role.map(|r| Cow::Borrowed(r.as_str())),
            },
            action: Cow::Borrowed(self.action.as_str()),
            employee_id: self.employee_id.map(|id| Cow::Owned(id.to_string())),
            employee_ids: self
                .employee_ids
                .as_ref()
                .map(|ids| ids.iter().map(|id| Cow::Owned(id.to_string())).collect()),
            fields: self
                .fields
                .as_ref()
                .map(|f| f.iter().map(|x| s(x)).collect()),
            reason: self.reason.as_deref().map(s),
            outcome: Cow::Borrowed(self.outcome.as_str()),
            source_ip: self.source_ip.as_deref().map(s),
            request_id: self.request_id.as_deref().map(s),
            client_request_id: self.client_request_id.as_deref().map(s),
            prev_hash: s(prev_hash),
            hash: Cow::Borrowed(""),
        };
        e.hash = Cow::Owned(e.computed_hash(scratch));
        e
    }
}

/// The bytes an audit checkpoint signature covers: the JSON object
/// `{"hash":…,"seq":…,"ts":…}` in the same canonical form as entries.
pub fn checkpoint_message(seq: u64, hash: &str, ts: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Msg<'a> {
        hash: &'a str,
        seq: u64,
        ts: &'a str,
    }
    serde_json::to_vec(&Msg { hash, seq, ts }).expect("plain data serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NewEntry {
        let mut e = NewEntry::new(
            Actor {
                user_id: None,
                username: Some("hr1".into()),
                role: Some(Role::Hr),
            },
            Action::EmployeeReveal,
            Outcome::Success,
        );
        e.fields = Some(vec!["ssn".into()]);
        e.reason = Some("payroll \"correction\"\n".into());
        e
    }

    #[test]
    fn canonical_form_is_sorted_compact_and_excludes_hashes() {
        let mut scratch = Vec::new();
        let e = sample().seal(1, "2026-01-15T09:00:00.000000Z", GENESIS_HASH, &mut scratch);
        let mut c = Vec::new();
        canonical_bytes(&e, &mut c);
        let c = String::from_utf8(c).unwrap();
        assert_eq!(
            c,
            r#"{"action":"employee.reveal","actor":{"role":"hr","user_id":null,"username":"hr1"},"employee_id":null,"employee_ids":null,"fields":["ssn"],"outcome":"success","reason":"payroll \"correction\"\n","request_id":null,"seq":1,"source_ip":null,"ts":"2026-01-15T09:00:00.000000Z"}"#
        );
        assert!(!c.contains("prev_hash"));
        assert_eq!(e.hash, chain_hash(GENESIS_HASH, c.as_bytes()));
    }

    #[test]
    fn line_round_trip_keeps_the_hash_valid() {
        let mut scratch = Vec::new();
        let e = sample().seal(
            7,
            "2026-01-15T09:00:00.000000Z",
            &"a".repeat(64),
            &mut scratch,
        );
        let line = serde_json::to_string(&e).unwrap();
        assert!(
            line.starts_with(r#"{"seq":7,"ts":"#),
            "seq first, contract order: {line}"
        );
        let back: EntryRef<'_> = serde_json::from_str(&line).unwrap();
        assert_eq!(back.computed_hash(&mut scratch), e.hash);
        assert!(
            serde_json::from_str::<EntryRef<'_>>(&line.replacen("{", r#"{"extra":1,"#, 1)).is_err()
        );
    }

    /// `client_request_id` is in the line and the hash only when set; without it an entry is
    /// byte for byte what it was before the field existed.
    #[test]
    fn client_request_id_is_optional_in_line_and_canonical_form() {
        let mut scratch = Vec::new();
        let without = sample().seal(1, "2026-01-15T09:00:00.000000Z", GENESIS_HASH, &mut scratch);
        let line = serde_json::to_string(&without).unwrap();
        assert!(!line.contains("client_request_id"));
        let mut with = sample();
        with.request_id = Some("srv-1".into());
        with.client_request_id = Some("ticket-4711".into());
        let with = with.seal(1, "2026-01-15T09:00:00.000000Z", GENESIS_HASH, &mut scratch);
        let line = serde_json::to_string(&with).unwrap();
        assert!(
            line.contains(r#""request_id":"srv-1","client_request_id":"ticket-4711","prev_hash""#),
            "{line}"
        );
        let mut c = Vec::new();
        canonical_bytes(&with, &mut c);
        let c = String::from_utf8(c).unwrap();
        assert!(
            c.starts_with(r#"{"action":"employee.reveal","actor":{"role":"hr","user_id":null,"username":"hr1"},"client_request_id":"ticket-4711","employee_id":null"#),
            "{c}"
        );
        let back: EntryRef<'_> = serde_json::from_str(&line).unwrap();
        assert_eq!(back.computed_hash(&mut scratch), with.hash);
        assert_ne!(
            with.hash, without.hash,
            "the client's id is covered by the hash"
        );
    }

    #[test]
    fn every_action_name_parses_back() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
    }
}
