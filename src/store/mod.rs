//! Persistence: sealed values only.
//!
//! `store` never imports `crypto`: it accepts and returns `Sealed` bytes and blind-index values,
//! so plaintext cannot reach disk through it. Every stored value starts with a format version
//! byte (`codec`). A change that touches several trees is one atomic `Batch` whose `Check`s act as
//! compare-and-set preconditions; that is all `Backend` asks of an engine, so a transactional
//! distributed KV store can replace sled without touching `service`.

mod codec;
#[cfg(test)]
mod conformance;
mod employees;
mod idempotency;
mod keyslots;
mod lease;
mod limits;
mod monitor;
mod pg_backend;
mod pg_chain;
mod pg_env;
mod pg_slots;
mod sessions;
mod sled_backend;
mod users;

use std::path::Path;
use std::sync::Arc;

pub use codec::CodecError;
pub use employees::{EmployeeEntry, StoredEmployee, Tombstone};
pub use idempotency::StoredIdempotency;
pub use keyslots::{FileSlots, KeySlots};
pub use lease::Lease;
pub use limits::{LimitCounter, LimitTicket, Reserved, WINDOW_SECS as LIMIT_WINDOW_SECS};
pub use monitor::{
    AlertChange, EVIDENCE_CAP, FLAGS_GENERATION, MonitorCursor, StoredAlert, StoredFlag,
};
pub use pg_backend::{PgBackend, StoreContents, describe_store_url};
pub use pg_chain::PgChain;
pub use pg_slots::PgSlots;
pub use sessions::StoredSession;
pub use sled_backend::SledBackend;
pub use users::{DisabledReason, StoredUser};

/// The trees (tables) of the vault, one per concept (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// Schema version and other singletons.
    Meta,
    /// id → employee record (or tombstone).
    Employees,
    /// lower-cased employee_number → id (uniqueness).
    EmployeeNumbers,
    /// SSN blind index → id (lookup, uniqueness).
    SsnIndex,
    /// (updated_at µs BE, id) → ∅: change order for payroll delta sync.
    Changes,
    /// id → user.
    Users,
    /// lower-cased username → id.
    Usernames,
    /// token id → expiry (µs BE).
    RevokedTokens,
    /// id → HR flag.
    HrFlags,
    /// id → alert.
    Alerts,
    /// monitor cursor and de-duplication keys.
    MonitorState,
    /// (user, key) → idempotent create outcome.
    Idempotency,
    /// key slot (u64 BE) → ∅: slots to zero once the change that freed them is durable.
    ShredPending,
    /// SHA-256 of a console session secret → session (the secret itself is never stored).
    ConsoleSessions,
    /// (counter kind, 32-byte keyed digest) → (window start, count): the shared rate limits.
    Limits,
}

impl Tree {
    /// Every tree.
    pub const ALL: [Tree; 15] = [
        Tree::Meta,
        Tree::Employees,
        Tree::EmployeeNumbers,
        Tree::SsnIndex,
        Tree::Changes,
        Tree::Users,
        Tree::Usernames,
        Tree::RevokedTokens,
        Tree::HrFlags,
        Tree::Alerts,
        Tree::MonitorState,
        Tree::Idempotency,
        Tree::ShredPending,
        Tree::ConsoleSessions,
        Tree::Limits,
    ];

    /// The on-disk tree name.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Employees => "employees",
            Tree::EmployeeNumbers => "employee_numbers",
            Tree::SsnIndex => "ssn_index",
            Tree::Changes => "changes",
            Tree::Users => "users",
            Tree::Usernames => "usernames",
            Tree::RevokedTokens => "revoked_tokens",
            Tree::HrFlags => "hr_flags",
            Tree::Alerts => "alerts",
            Tree::MonitorState => "monitor_state",
            Tree::Idempotency => "idempotency",
            Tree::ShredPending => "shred_pending",
            Tree::ConsoleSessions => "console_sessions",
            Tree::Limits => "limits",
        }
    }
}

/// Failures of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A precondition of a batch did not hold; the label says which (e.g. `employee_number`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// Stored bytes could not be decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The engine failed (I/O, corruption reported by the engine).
    #[error("storage engine error: {0}")]
    Engine(String),
    /// No connection to the store could be had (PostgreSQL down or out of reach): a request
    /// fails closed with 503, as `/healthz` says, and works again once the store is back.
    /// Worded as `Engine` so messages stay the same.
    #[error("storage engine error: {0}")]
    Unavailable(String),
}

/// A precondition checked atomically with a batch's writes.
#[derive(Debug, Clone)]
pub enum Check {
    /// The key must not exist.
    Absent(Tree, Vec<u8>, &'static str),
    /// The key must hold exactly these bytes (compare-and-set).
    Equals(Tree, Vec<u8>, Vec<u8>, &'static str),
}

/// A write.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert or replace.
    Put(Tree, Vec<u8>, Vec<u8>),
    /// Remove if present.
    Delete(Tree, Vec<u8>),
}

/// Checks and writes applied all-or-nothing.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Preconditions; the first that fails is reported as `StoreError::Conflict(label)`.
    pub checks: Vec<Check>,
    /// Writes, applied in order if every check holds.
    pub ops: Vec<Op>,
}

impl Batch {
    fn trees(&self) -> Vec<Tree> {
        let mut t: Vec<Tree> = self
            .checks
            .iter()
            .map(|c| match c {
                Check::Absent(t, ..) | Check::Equals(t, ..) => *t,
            })
            .chain(self.ops.iter().map(|o| match o {
                Op::Put(t, ..) | Op::Delete(t, ..) => *t,
            }))
            .collect();
        t.sort();
        t.dedup();
        t
    }
}

/// Key/value pairs of a range scan.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + Send + 'a>;

/// What the vault needs from a storage engine.
pub trait Backend: Send + Sync {
    /// Point read.
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Ascending scan of `start..end` (`end` exclusive; `None` = to the end).
    fn range(&self, tree: Tree, start: &[u8], end: Option<&[u8]>) -> KvIter<'_>;
    /// Applies a batch atomically.
    fn apply(&self, batch: &Batch) -> Result<(), StoreError>;
    /// Makes every applied batch durable (survives power loss) before returning.
    fn sync(&self) -> Result<(), StoreError>;
}

/// A value together with the exact bytes it was read from, for compare-and-set updates.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// Decoded value.
    pub value: T,
    raw: Vec<u8>,
}

/// Decodes a stored employee row: the parser of untrusted stored bytes (fuzzed).
pub fn decode_employee_entry(bytes: &[u8]) -> Result<EmployeeEntry, CodecError> {
    codec::decode(bytes)
}

/// The vault's typed view of a backend, plus the key-slot file.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    slots: Arc<dyn KeySlots>,
}

impl Store {
    /// Wraps any backend and a key-slot file.
    pub fn new(backend: Arc<dyn Backend>, slots: Arc<dyn KeySlots>) -> Self {
        Self { backend, slots }
    }

    /// Connects to a PostgreSQL store (cluster mode): records, key slots and the chain in one
    /// database; migrations applied.
    pub fn open_postgres(
        url: &str,
        max_connections: usize,
    ) -> Result<(Self, Arc<PgBackend>), StoreError> {
        let backend = Arc::new(PgBackend::connect(url, max_connections)?);
        let slots = Arc::new(backend.key_slots());
        let store = Self::new(backend.clone(), slots);
        store.complete_pending_shreds()?;
        Ok((store, backend))
    }

    /// Opens (or creates) the embedded sled store in `db_dir` and the key slots in `slots_file`,
    /// then finishes any shred a crash interrupted.
    pub fn open_sled(db_dir: &Path, slots_file: &Path) -> Result<Self, StoreError> {
        let backend = Arc::new(SledBackend::open(db_dir)?);
        let slots = Arc::new(
            FileSlots::open(slots_file)
                .map_err(|e| StoreError::Engine(format!("key slots: {e}")))?,
        );
        let store = Self::new(backend, slots);
        store.complete_pending_shreds()?;
        Ok(store)
    }

    /// Applies a batch built by one of the `*_batch` functions (the path of a data dir, where
    /// the audit entry is durable first and the change follows it).
    pub fn apply_change(&self, batch: &Batch) -> Result<(), StoreError> {
        self.backend.apply(batch)
    }

    /// Reclaims the space of destroyed record keys in the slot engine (`VACUUM` of the slot
    /// table on PostgreSQL; nothing for the slot file, which overwrites in place).
    pub fn reclaim_key_slots(&self) -> Result<(), StoreError> {
        self.slots
            .reclaim()
            .map_err(|e| StoreError::Engine(format!("key slots: {e}")))
    }

    /// Makes every applied change durable: key slots first (a record must never point at a key
    /// that did not reach the disk), then the records.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.slots
            .sync()
            .map_err(|e| StoreError::Engine(format!("key slots: {e}")))?;
        self.backend.sync()
    }

    fn load<T: serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<Loaded<T>>, StoreError> {
        match self.backend.get(tree, key)? {
            None => Ok(None),
            Some(raw) => Ok(Some(Loaded {
                value: codec::decode(&raw)?,
                raw,
            })),
        }
    }

    /// Reads a singleton from the meta tree.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(Tree::Meta, key.as_bytes())
    }

    /// Compare-and-set of a singleton: writes `next` only if the key still holds `prev` (`None`:
    /// absent); `Conflict("meta")` if another writer changed it first.
    pub fn replace_meta(
        &self,
        key: &str,
        prev: Option<&[u8]>,
        next: &[u8],
    ) -> Result<(), StoreError> {
        let k = key.as_bytes().to_vec();
        let check = match prev {
            None => Check::Absent(Tree::Meta, k.clone(), "meta"),
            Some(p) => Check::Equals(Tree::Meta, k.clone(), p.to_vec(), "meta"),
        };
        self.backend.apply(&Batch {
            checks: vec![check],
            ops: vec![Op::Put(Tree::Meta, k, next.to_vec())],
        })
    }

    /// Writes a singleton to the meta tree.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.backend.apply(&Batch {
            checks: vec![],
            ops: vec![Op::Put(Tree::Meta, key.as_bytes().to_vec(), value.to_vec())],
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! An in-memory sled store for unit tests.
    use super::*;
    use crate::model::{
        BlindIndex, EmployeeId, EmployeeStatus, PublicFields, RecordKeyRef, Sealed,
    };

    pub(crate) fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sled(&dir.path().join("db"), &dir.path().join("keyslots.bin"))
            .expect("open sled");
        (store, dir)
    }

    /// A record with fixed public fields and dummy sealed bytes (never opened).
    pub(crate) fn sample_employee(number: &str, ssn_idx: u8, at: &str) -> StoredEmployee {
        StoredEmployee {
            id: EmployeeId::random(),
            public: PublicFields {
                employee_number: number.into(),
                first_name: "A".into(),
                last_name: "B".into(),
                preferred_name: None,
                work_email: None,
                department: Some("R&D".into()),
                job_title: None,
                manager_id: None,
                location: None,
                hire_date: jiff::civil::date(2026, 1, 15),
                status: EmployeeStatus::Active,
                termination_date: None,
            },
            version: 1,
            created_at: at.parse().unwrap(),
            updated_at: at.parse().unwrap(),
            honeytoken: false,
            record_key: RecordKeyRef {
                slot: 0,
                master_version: 1,
                key_version: 1,
            },
            ssn: Sealed(vec![2; 40]),
            ssn_index: BlindIndex([ssn_idx; 32]),
            date_of_birth: Sealed(vec![3; 38]),
            home_address: None,
            bank_account: None,
        }
    }
}
