//! Limits on password and secret checks.
//!
//! Two limits, both answered with 429 before any argon2 work is done: failed attempts per
//! username (CONTRACT: 10 a minute by default), and the number of argon2 hashes in flight (each
//! holds 19 MiB and ~28 ms of a core, so a flood of logins must queue briefly, then be refused).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Refused by a limit; retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Seconds until a retry can succeed.
    pub retry_after_secs: u64,
}

const WINDOW_SECS: i64 = 60;
const MAX_TRACKED: usize = 100_000;

/// Failed attempts per username in a sliding one-minute window.
pub struct FailureLimiter {
    per_minute: usize,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl FailureLimiter {
    /// Allows `per_minute` failures per username per minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute as usize,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether another attempt for `username` may be checked now.
    pub fn check(&self, username: &str, now: Timestamp) -> Result<(), RateLimited> {
        let now = now.as_second();
        let mut map = self.failures.lock();
        let Some(q) = map.get_mut(&username.to_ascii_lowercase()) else {
            return Ok(());
        };
        while q.front().is_some_and(|&t| t <= now - WINDOW_SECS) {
            q.pop_front();
        }
        if q.len() >= self.per_minute {
            let oldest = *q.front().expect("len >= per_minute >= 1");
            return Err(RateLimited {
                retry_after_secs: (oldest + WINDOW_SECS - now).max(1) as u64,
            });
        }
        Ok(())
    }

    /// Counts a failed attempt.
    pub fn record_failure(&self, username: &str, now: Timestamp) {
        let now = now.as_second();
        let mut map = self.failures.lock();
        if map.len() >= MAX_TRACKED {
            map.retain(|_, q| q.back().is_some_and(|&t| t > now - WINDOW_SECS));
        }
        map.entry(username.to_ascii_lowercase())
            .or_default()
            .push_back(now);
    }
}

/// Bounds concurrent argon2 work: `slots` hashes at once, `queue` more waiting, 429 beyond.
#[derive(Clone)]
pub struct HashSlots {
    sem: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
}

impl HashSlots {
    /// `slots` concurrent hashes (about the core count) and `queue` waiters.
    pub fn new(slots: usize, queue: usize) -> Self {
        Self {
            sem: Arc::new(Semaphore::new(slots.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
        }
    }

    /// Waits for a slot, or refuses at once if too many are already waiting.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, RateLimited> {
        if let Ok(p) = self.sem.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(RateLimited {
                retry_after_secs: 1,
            });
        }
        let permit = self.sem.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.map_err(|_| RateLimited {
            retry_after_secs: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn limit_is_per_username_and_slides() {
        let l = FailureLimiter::new(3);
        for i in 0..3 {
            assert!(l.check("Alice", at(i)).is_ok());
            l.record_failure("Alice", at(i));
        }
        let err = l.check("alice", at(10)).unwrap_err();
        assert_eq!(err.retry_after_secs, 50);
        assert!(
            l.check("bob", at(10)).is_ok(),
            "other usernames are unaffected"
        );
        assert!(l.check("alice", at(59)).is_err());
        assert!(
            l.check("alice", at(60)).is_ok(),
            "the oldest failure left the window"
        );
    }

    #[tokio::test]
    async fn hash_slots_refuse_beyond_the_queue() {
        let s = HashSlots::new(1, 1);
        let held = s.acquire().await.unwrap();
        let s2 = s.clone();
        let waiter = tokio::spawn(async move { s2.acquire().await.map(|_| ()) });
        tokio::task::yield_now().await;
        while s.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(s.acquire().await.is_err(), "queue full");
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
    }
}
