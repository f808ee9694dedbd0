//! Oracles for every hrvault parser of untrusted input: one function per fuzz target.
//!
//! Each function feeds bytes to a public library entry point and asserts that it never panics
//! (implicitly: a panic is the crash) plus a few cheap invariants (round trips, re-validation,
//! "a tampered chain never verifies"). The fuzz targets in `fuzz_targets/` are one-liners into
//! these; `tests/parsers_never_panic.rs` in the main crate includes this very file with
//! `#[path]` so that stable `cargo test` runs the same oracles on proptest inputs, seeds and
//! saved regressions. Hence the rule for this crate: depend only on `hrvault` and crates the main
//! crate already depends on, and never print a parsed value in a panic message (they can be
//! SSNs).

mod audit;
mod config;
mod employee;
mod json;
mod keyfile;
mod payroll;
pub mod samples;
mod store;
mod token;

pub use audit::{audit_chain, audit_entry};
pub use config::config_toml;
pub use employee::{check_draft, csv_import, employee_json, employee_patch, scalars};
pub use json::json_body;
pub use keyfile::key_file;
pub use payroll::{export_line, token_form};
pub use store::stored_record;
pub use token::{token_claims, token_verify};

/// An oracle: bytes in, panic on a bug.
pub type Oracle = fn(&[u8]);

/// Every target by name, as used by `fuzz/seeds/<name>/` and `fuzz/regressions/<name>/`.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("employee_json", employee_json),
    ("employee_patch", employee_patch),
    ("stored_record", stored_record),
    ("audit_entry", audit_entry),
    ("audit_chain", audit_chain),
    ("token_verify", token_verify),
    ("token_claims", token_claims),
    ("config_toml", config_toml),
    ("csv_import", csv_import),
    ("token_form", token_form),
    ("export_line", export_line),
    ("scalars", scalars),
    ("key_file", key_file),
    ("json_body", json_body),
];
