//! The one source of "now".
//!
//! Token expiry, audit timestamps, rate-limit windows and the monitor's business hours all depend
//! on the current time. Injecting it keeps those rules testable with a fixed clock; clippy's
//! `disallowed-methods` bans reading the system time anywhere else.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;

/// Where the current time comes from.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, UTC.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "this is the one allowed place")]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to: for tests of windows, expiry and business hours.
#[derive(Debug, Clone)]
pub struct FixedClock {
    micros: Arc<AtomicI64>,
}

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(at.as_microsecond())),
        }
    }

    /// Moves the clock to `at` (all clones see it).
    pub fn set(&self, at: Timestamp) {
        self.micros.store(at.as_microsecond(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.micros.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_microsecond(self.micros.load(Ordering::SeqCst))
            .expect("FixedClock only stores values that came from a valid Timestamp")
    }
}

/// A shared, dynamically chosen clock.
pub type SharedClock = Arc<dyn Clock>;

/// RFC 3339 UTC with microsecond precision, the form used in every API response and audit entry
/// (fixed width so that canonical audit bytes never depend on trailing-zero trimming).
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses an RFC 3339 instant from a query string, where an unencoded `+` of a UTC offset
/// arrives as a space (`2026-01-15T09:00:00 02:00`).
pub fn parse_instant(s: &str) -> Option<Timestamp> {
    s.parse().ok().or_else(|| s.replace(' ', "+").parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let start: Timestamp = "2026-01-15T09:00:00Z".parse().unwrap();
        let clock = FixedClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance_secs(61);
        assert_eq!(clock.now().as_second() - start.as_second(), 61);
    }

    #[test]
    fn query_string_offsets_survive_plus_decoding() {
        let want: Timestamp = "2026-01-15T07:00:00Z".parse().unwrap();
        assert_eq!(parse_instant("2026-01-15T09:00:00+02:00"), Some(want));
        assert_eq!(parse_instant("2026-01-15T09:00:00 02:00"), Some(want));
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn rfc3339_is_fixed_width_utc() {
        let ts: Timestamp = "2026-01-15T09:00:00Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2026-01-15T09:00:00.000000Z");
        let ts: Timestamp = "2026-01-15T09:00:00.5+02:00".parse().unwrap();
        assert_eq!(rfc3339(ts), "2026-01-15T07:00:00.500000Z");
    }
}
