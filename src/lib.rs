//! # hrvault
//!
//! An encrypted vault for HR employee records. Sensitive fields (SSN, birth date, home address,
//! bank account) are sealed one by one under a key that belongs to the record alone; every access
//! passes role-based tokens and lands first in a hash-chained, group-committed audit log; an
//! insider-threat monitor reads that log together with HR's flags.
//!
//! Module map (dependencies point down only; see `docs/` and CONTRIBUTING.md):
//!
//! ```text
//! cli ─► api ─► service ─► auth, crypto, store, audit ─► model, clock
//!                  ▲
//! monitor ─────────┘
//! ```
//!
//! `tls` (certificates and keys for `serve` and the webhook client) imports nothing of the crate.

pub mod api;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod model;
pub mod monitor;
pub mod service;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod tls;
