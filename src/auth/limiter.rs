//! Limits on password and secret checks.
//!
//! - **Attempts per username and per source address** (CONTRACT §2 Auth, §4): an attempt
//!   *reserves* a place in both minute windows before any argon2 work is done, so a burst that
//!   arrives all at once cannot overtake the limit, and a burst of wrong passwords costs at most
//!   the limit's worth of hashes. A success gives its place back (successes are not limited);
//!   a failure keeps it. Past the limit: 429 until the window (one minute from its first
//!   attempt) has passed.
//! - **Memory is bounded whatever the input**: each table keeps at most [`MAX_TRACKED`] keys,
//!   the oldest evicted first, and a key is a 32-byte HMAC-SHA-256 of the normalised username
//!   (or of the address) under a per-process random key — never the raw string, which may be
//!   64 KiB of anything, or a password typed into the wrong box.
//! - **Refusals are coalesced for the audit log**: the first refusal of a key in a window is
//!   reported at once ([`Refusal::first`]); later ones only increment a counter that
//!   [`LoginLimiter::take_ended`] hands back once the window has ended, so a flood of 429s writes
//!   two entries per key per minute, not one per request.
//! - **Hashes in flight** ([`HashSlots`]): each holds 19 MiB and ~28 ms of a core, so a flood of
//!   logins queues briefly, then is refused.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use parking_lot::Mutex;
use sha2::Sha256;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::model::UserId;

/// Refused by a limit; retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Seconds until a retry can succeed.
    pub retry_after_secs: u64,
}

/// Length of a limit window.
pub const WINDOW_SECS: i64 = 60;
/// At most this many usernames (and, separately, addresses) are tracked; the oldest goes first.
pub const MAX_TRACKED: usize = 10_000;
/// Failed attempts per source address per minute (CONTRACT §4 default).
pub const PER_ADDRESS_PER_MINUTE: u32 = 100;

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Too many failed attempts for this username.
    Username,
    /// Too many failed attempts from this source address.
    Address,
}

/// An attempt the limiter let through: give it back with [`LoginLimiter::release`] if it
/// succeeded; drop it if it failed (the failure keeps its place).
#[derive(Debug)]
#[must_use = "release a successful attempt's reservation"]
pub struct Reservation {
    name: [u8; 32],
    name_window: i64,
    addr: Option<(IpAddr, i64)>,
}

/// A refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Which limit.
    pub kind: LimitKind,
    key: SlotKey,
    window_start: i64,
    /// When to retry.
    pub limited: RateLimited,
    /// Whether this is the first refusal of this key in its window (then it is audited at once;
    /// later ones are counted and reported by [`LoginLimiter::take_ended`]).
    pub first: bool,
}

/// The key of a slot, as a refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKey {
    Name([u8; 32]),
    Addr(IpAddr),
}

/// Refusals of one key that were counted but not yet audited, from a window that has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedWindow {
    /// Which limit.
    pub kind: LimitKind,
    /// The known user behind a username key, if there was one.
    pub user_id: Option<UserId>,
    /// The address, for an address key.
    pub addr: Option<IpAddr>,
    /// When the window began (seconds since the epoch).
    pub window_start: i64,
    /// Refusals after the first one.
    pub more_refused: u32,
    /// The `seq` of the audit entry of the window's first refusal (0 if none was noted).
    pub first_seq: u64,
}

/// One key's current window. Fixed size.
#[derive(Debug, Clone, Copy)]
struct Slot {
    window_start: i64,
    /// Failures plus attempts in flight.
    used: u32,
    /// Whether the first refusal of this window was reported.
    reported: bool,
    /// Refusals after the first, not yet reported.
    more_refused: u32,
    /// The audit entry of the first refusal.
    first_seq: u64,
    user_id: Option<UserId>,
}

/// A bounded table of slots by key, evicting the oldest-inserted key when full.
struct Table<K> {
    slots: HashMap<K, Slot>,
    order: VecDeque<K>,
}

impl<K: Copy + Eq + std::hash::Hash> Table<K> {
    fn new() -> Self {
        Self {
            slots: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The slot for `key`, its window renewed if it ended (the ended window's unreported count
    /// goes to `ended`).
    fn slot(&mut self, key: K, now: i64, ended: &mut Vec<(K, Slot)>) -> &mut Slot {
        if !self.slots.contains_key(&key) {
            while self.slots.len() >= MAX_TRACKED {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                if let Some(s) = self.slots.remove(&old)
                    && s.more_refused > 0
                {
                    ended.push((old, s));
                }
            }
            self.order.push_back(key);
        }
        let slot = self.slots.entry(key).or_insert(Slot {
            window_start: now,
            used: 0,
            reported: false,
            more_refused: 0,
            first_seq: 0,
            user_id: None,
        });
        if slot.window_start + WINDOW_SECS <= now {
            if slot.more_refused > 0 {
                ended.push((key, *slot));
            }
            *slot = Slot {
                window_start: now,
                used: 0,
                reported: false,
                more_refused: 0,
                first_seq: 0,
                user_id: slot.user_id,
            };
        }
        slot
    }

    /// Removes every slot whose window has ended, returning those with unreported refusals.
    fn take_ended(&mut self, now: i64, ended: &mut Vec<(K, Slot)>) {
        self.slots.retain(|k, s| {
            let over = s.window_start + WINDOW_SECS <= now;
            if over && s.more_refused > 0 {
                ended.push((*k, *s));
            }
            !over
        });
        let slots = &self.slots;
        self.order.retain(|k| slots.contains_key(k));
    }
}

struct Tables {
    names: Table<[u8; 32]>,
    addrs: Table<IpAddr>,
}

/// Attempts per username and per address, in one-minute windows, with bounded memory.
pub struct LoginLimiter {
    key: [u8; 32],
    per_name: u32,
    per_addr: u32,
    tables: Mutex<Tables>,
    /// Windows that ended while a new attempt renewed them (reported by `take_ended`).
    ended: Mutex<Vec<EndedWindow>>,
}

impl LoginLimiter {
    /// `per_name` failed attempts per username and `per_addr` per address per minute; `key`
    /// keys the username digests (random per process).
    pub fn new(key: [u8; 32], per_name: u32, per_addr: u32) -> Self {
        Self {
            key,
            per_name: per_name.max(1),
            per_addr: per_addr.max(1),
            tables: Mutex::new(Tables {
                names: Table::new(),
                addrs: Table::new(),
            }),
            ended: Mutex::new(Vec::new()),
        }
    }

    /// `HMAC-SHA-256(key, ASCII-lower-cased username)`, computed without copying the input.
    fn digest(&self, username: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        let mut buf = [0u8; 256];
        for chunk in username.as_bytes().chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            mac.update(lower);
        }
        mac.finalize().into_bytes().into()
    }

    /// Reserves a place for an attempt at `username` from `addr` (the user behind it, if any, is
    /// remembered for the audit of later refusals), or refuses it.
    pub fn reserve(
        &self,
        username: &str,
        user_id: Option<UserId>,
        addr: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Reservation, Refusal> {
        let now = now.as_second();
        let name = self.digest(username);
        let mut ended_names = Vec::new();
        let mut ended_addrs = Vec::new();
        let result = {
            let mut t = self.tables.lock();
            let t = &mut *t;
            let n = t.names.slot(name, now, &mut ended_names);
            n.user_id = user_id.or(n.user_id);
            if n.used >= self.per_name {
                Err(refuse(n, SlotKey::Name(name), now))
            } else {
                match addr {
                    Some(ip) => {
                        let a = t.addrs.slot(ip, now, &mut ended_addrs);
                        if a.used >= self.per_addr {
                            Err(refuse(a, SlotKey::Addr(ip), now))
                        } else {
                            a.used += 1;
                            let addr_window = a.window_start;
                            let n = t.names.slot(name, now, &mut ended_names);
                            n.used += 1;
                            Ok(Reservation {
                                name,
                                name_window: n.window_start,
                                addr: Some((ip, addr_window)),
                            })
                        }
                    }
                    None => {
                        n.used += 1;
                        Ok(Reservation {
                            name,
                            name_window: n.window_start,
                            addr: None,
                        })
                    }
                }
            }
        };
        self.note_ended(ended_names, ended_addrs);
        result
    }

    /// Gives a successful attempt's place back (if its window is still the current one).
    pub fn release(&self, r: Reservation) {
        let mut t = self.tables.lock();
        if let Some(s) = t.names.slots.get_mut(&r.name)
            && s.window_start == r.name_window
        {
            s.used = s.used.saturating_sub(1);
        }
        if let Some((ip, window)) = r.addr
            && let Some(s) = t.addrs.slots.get_mut(&ip)
            && s.window_start == window
        {
            s.used = s.used.saturating_sub(1);
        }
    }

    /// Notes the audit entry that recorded a window's first refusal, so the entry that later
    /// reports the rest of the window can point at it.
    pub fn note_first_seq(&self, refusal: &Refusal, seq: u64) {
        let mut t = self.tables.lock();
        let slot = match refusal.key {
            SlotKey::Name(k) => t.names.slots.get_mut(&k),
            SlotKey::Addr(k) => t.addrs.slots.get_mut(&k),
        };
        if let Some(s) = slot
            && s.window_start == refusal.window_start
        {
            s.first_seq = seq;
        }
    }

    /// Every window that has ended with refusals not yet reported (each reported once), and
    /// forgets ended windows.
    pub fn take_ended(&self, now: Timestamp) -> Vec<EndedWindow> {
        let now = now.as_second();
        let mut names = Vec::new();
        let mut addrs = Vec::new();
        {
            let mut t = self.tables.lock();
            t.names.take_ended(now, &mut names);
            t.addrs.take_ended(now, &mut addrs);
        }
        self.note_ended(names, addrs);
        std::mem::take(&mut *self.ended.lock())
    }

    fn note_ended(&self, names: Vec<([u8; 32], Slot)>, addrs: Vec<(IpAddr, Slot)>) {
        if names.is_empty() && addrs.is_empty() {
            return;
        }
        let mut ended = self.ended.lock();
        ended.extend(names.into_iter().map(|(_, s)| EndedWindow {
            kind: LimitKind::Username,
            user_id: s.user_id,
            addr: None,
            window_start: s.window_start,
            more_refused: s.more_refused,
            first_seq: s.first_seq,
        }));
        ended.extend(addrs.into_iter().map(|(ip, s)| EndedWindow {
            kind: LimitKind::Address,
            user_id: None,
            addr: Some(ip),
            window_start: s.window_start,
            more_refused: s.more_refused,
            first_seq: s.first_seq,
        }));
    }

    /// How many keys are tracked (usernames, addresses).
    pub fn tracked(&self) -> (usize, usize) {
        let t = self.tables.lock();
        (t.names.slots.len(), t.addrs.slots.len())
    }
}

fn refuse(s: &mut Slot, key: SlotKey, now: i64) -> Refusal {
    let first = !s.reported;
    if first {
        s.reported = true;
    } else {
        s.more_refused = s.more_refused.saturating_add(1);
    }
    Refusal {
        kind: match key {
            SlotKey::Name(_) => LimitKind::Username,
            SlotKey::Addr(_) => LimitKind::Address,
        },
        key,
        window_start: s.window_start,
        limited: RateLimited {
            retry_after_secs: (s.window_start + WINDOW_SECS - now).max(1) as u64,
        },
        first,
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

    fn ip(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn limit_is_per_username_counts_before_the_check_and_ends_with_the_window() {
        let l = LoginLimiter::new([7; 32], 3, 100);
        let held: Vec<Reservation> = (0..3)
            .map(|i| l.reserve("Alice", None, ip(1), at(i)).unwrap())
            .collect();
        // Three attempts in flight: a fourth is refused before any of them is decided.
        let r = l.reserve("alice", None, ip(2), at(10)).unwrap_err();
        assert_eq!(r.kind, LimitKind::Username);
        assert_eq!(r.limited.retry_after_secs, 50);
        assert!(r.first);
        assert!(!l.reserve("ALICE", None, ip(2), at(11)).unwrap_err().first);
        assert!(
            l.reserve("bob", None, ip(1), at(10)).is_ok(),
            "other names are unaffected"
        );
        drop(held); // all three failed
        assert!(l.reserve("alice", None, ip(1), at(59)).is_err());
        assert!(
            l.reserve("alice", None, ip(1), at(60)).is_ok(),
            "a new window"
        );
        let ended = l.take_ended(at(60));
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(
            (ended[0].kind, ended[0].more_refused),
            (LimitKind::Username, 2)
        );
        assert!(l.take_ended(at(61)).is_empty(), "reported once");
    }

    #[test]
    fn a_success_gives_its_place_back() {
        let l = LoginLimiter::new([7; 32], 2, 100);
        for i in 0..10 {
            let r = l.reserve("carol", None, ip(1), at(i)).unwrap();
            l.release(r);
        }
        let _failed = l.reserve("carol", None, ip(1), at(20)).unwrap();
        assert!(l.reserve("carol", None, ip(1), at(20)).is_ok());
        assert!(l.reserve("carol", None, ip(1), at(20)).is_err());
    }

    #[test]
    fn per_address_limit_across_names() {
        let l = LoginLimiter::new([7; 32], 10, 5);
        for i in 0..5 {
            let _ = l.reserve(&format!("user{i}"), None, ip(9), at(0)).unwrap();
        }
        let r = l.reserve("user99", None, ip(9), at(1)).unwrap_err();
        assert_eq!(r.kind, LimitKind::Address);
        assert!(l.reserve("user99", None, ip(8), at(1)).is_ok());
        let _ = l.reserve("user98", None, ip(9), at(2)).unwrap_err();
        let ended = l.take_ended(at(61));
        assert_eq!(
            ended
                .iter()
                .map(|e| (e.kind, e.addr, e.more_refused))
                .collect::<Vec<_>>(),
            vec![(LimitKind::Address, ip(9), 1)]
        );
    }

    #[test]
    fn memory_is_bounded_and_keys_are_digests() {
        let l = LoginLimiter::new([7; 32], 10, u32::MAX);
        let long = "x".repeat(60_000);
        for i in 0..(MAX_TRACKED + 500) {
            let _ = l.reserve(&format!("{long}{i}"), None, None, at(0));
        }
        assert_eq!(l.tracked().0, MAX_TRACKED);
        assert_eq!(l.digest("Alice"), l.digest("aLICE"));
        assert_ne!(
            l.digest("alice"),
            LoginLimiter::new([8; 32], 1, 1).digest("alice")
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
