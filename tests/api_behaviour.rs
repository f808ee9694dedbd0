//! The HTTP API's behaviour beyond authorisation: error shapes and status codes, field rules,
//! uniqueness, versions, crypto-shredding, reveal and lookup, sessions and their revocation, the
//! login rate limit, headers, and what user listings never show.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

#[path = "api_behaviour/audit.rs"]
mod audit;
#[path = "api_behaviour/errors.rs"]
mod errors;
#[path = "api_behaviour/headers.rs"]
mod headers;
#[path = "api_behaviour/import.rs"]
mod import;
#[path = "api_behaviour/records.rs"]
mod records;
#[path = "api_behaviour/sessions.rs"]
mod sessions;

use std::sync::OnceLock;

use common::Shared;
use serde_json::Value;

/// One server for every test in this file.
fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("api", None))
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}
