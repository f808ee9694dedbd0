//! The edges of the server against the real binary (CONTRACT rev 2 §2 and §4): strict JSON
//! bodies, the OAuth token endpoint as RFC 6749 and off-the-shelf clients see it, the JWKS, the
//! login limiter under bursts and floods, what is stored about strangers, request ids, and
//! bounded metric labels.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step must panic the test"
)]

mod common;

#[path = "edge/limiter.rs"]
mod limiter;
#[path = "edge/metrics.rs"]
mod metrics;
#[path = "edge/oauth.rs"]
mod oauth;
#[path = "edge/request_ids.rs"]
mod request_ids;
#[path = "edge/strict_json.rs"]
mod strict_json;

use std::sync::OnceLock;

use common::Shared;

/// One server for the tests that do not count failed logins (those start their own).
fn world() -> &'static Shared {
    static W: OnceLock<Shared> = OnceLock::new();
    W.get_or_init(|| Shared::start("edge", None))
}
