//! Shared harness for the black-box tests: run the real `hrvault` binary, talk HTTP to it, and
//! inspect what it leaves on disk.
//!
//! - Every wait is a poll against a deadline; nothing sleeps for a fixed time hoping a timer
//!   fired.
//! - A server runs under a tiny `sh` watchdog that holds the test's end of a pipe: when the test
//!   process goes away for any reason (including a server kept in a `static`, whose destructor
//!   never runs), the pipe closes and the watchdog stops the server. No orphans, no `unsafe`.
//! - The server's stdout and stderr go to files so tests can scan everything it logged.
//!
//! Layout: `process` (the binary, vaults, servers), `http` (the client), `fixtures` (users per
//! role, employee data, audit queries), `files` (digests and plaintext scans), `tls` (a test CA
//! and a verifying TLS client), `browser` (headless Chromium over WebDriver, for the console).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![allow(unreachable_pub, reason = "a test helper module, not an API")]
#![allow(
    clippy::unwrap_used,
    reason = "test harness: a failed step must panic the test"
)]

mod backend;
mod browser;
mod console;
mod files;
mod fixtures;
mod http;
mod process;
mod tls;

#[allow(unused_imports, reason = "not every test binary uses every part")]
pub use {backend::*, browser::*, console::*, files::*, fixtures::*, http::*, process::*, tls::*};

use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hrvault");
/// The operator passphrase of every test vault.
pub const PASSPHRASE: &str = "correct horse battery staple";
/// The first admin's password of every test vault.
pub const ADMIN_PASSWORD: &str = "admin-password-0001";
/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Polls `f` every `every` until it returns `Some`, failing the test after `within`.
pub fn poll<T>(
    what: &str,
    within: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}
