//! The insider-threat monitor's rules: pure functions of (audit events, HR flags, directory,
//! configuration) → alert firings. No I/O, no clock, no plaintext: events carry ids, actions and
//! outcomes only.
//!
//! The service owns the task that tails the audit log from a durable cursor, feeds events here,
//! and stores what fires (idempotently, so a replay after a restart raises nothing twice). See
//! docs/design/monitor.md for each rule, its false-positive risks and how to tune it.

mod event;
mod risk;
mod rules;
mod webhook;

pub use crate::model::{FlagKind, Rule, Severity};
pub use event::{COMPARED_REASON, Event, EventKind, LOOKUP_MISS_REASON, TERMINATED_REASON};
pub use risk::{RiskInput, risk_score, severity_weight};
pub use rules::{Directory, Engine, Firing, FlagView};
pub use webhook::signature as webhook_signature;
