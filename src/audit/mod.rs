//! The tamper-evident audit log.
//!
//! Entries live in append-only JSON Lines segment files under `DATA_DIR/audit/`, owned by one
//! writer thread that group-commits: it appends every pending entry, `fdatasync`s once, and only
//! then answers the waiting requests (DESIGN §4: sled's `flush()` is not an `fsync`, so the chain
//! cannot live in a sled tree). Each line is exactly the entry as the API shows it, so a segment
//! is itself a valid JSONL export.
//!
//! `hash = SHA-256(prev_hash || canonical bytes)` (docs/design/audit-chain.md). This module never
//! sees a sensitive value: entries carry ids, field names, reasons and outcomes only.

mod entry;
mod export;
mod reader;
mod scan;
mod segment;
mod space;
mod verify;
mod writer;

pub use entry::{
    Action, Actor, AuditEntry, EntryRef, GENESIS_HASH, NewEntry, Outcome, canonical_bytes,
    checkpoint_message,
};
pub use export::{ExportFormat, export, export_lines, ocsf_event};
pub use reader::{AuditQuery, AuditReader, ChainLines, QueryPage, Tail};
pub use scan::{Scan, TornTail};
pub use segment::{Head, RecoveryReport, SegmentDir};
pub use space::SpaceGuard;
pub use verify::{ChainVerifier, HeadView, Verdict, verify_data_dir, verify_lines, verify_reader};
pub use writer::{
    AuditLog, ChainSink, Change, CommitError, CommitObserver, Committed, Durable, FileChain,
    FileSink, LogSink, Pending, Recorded, StoreSync, WriterStats,
};

/// Why an entry could not be recorded: the request must fail closed (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The writer could not append or sync (or stopped after an earlier failure).
    #[error("audit log unavailable")]
    Unavailable,
    /// The store change sent with the entry failed its check (`label`): neither was committed.
    #[error("the change recorded by the entry conflicts ({0})")]
    Conflict(&'static str),
}
