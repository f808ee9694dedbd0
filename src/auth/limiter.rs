//! Limits on password and secret checks.
//!
//! - **Attempts per username and per source address** (CONTRACT §2 Auth, §4): an attempt
//!   *reserves* a place in both minute windows before any argon2 work is done, so a burst that
//!   arrives all at once cannot overtake the limit, and a burst of wrong passwords costs at most
//!   the limit's worth of hashes. A success gives its place back (successes are not limited);
//!   a failure keeps it. Past the limit: 429 until the window (one minute from its first
//!   attempt) has passed.
//! - **The windows are shared by every node** (CONTRACT §6): the decision comes from the store's
//!   window counters ([`Store::reserve_limit`], compare-and-set on sled and PostgreSQL alike),
//!   keyed by a 32-byte HMAC-SHA-256 of the normalised username (or of the address) under the
//!   vault's [`LimiterKey`] — the same key on every node, and never the raw string, which may be
//!   64 KiB of anything, or a password typed into the wrong box.
//! - **Refusals are coalesced for the audit log, per node**: the first refusal of a key in a
//!   window that *this node* sees is reported at once ([`Refusal::first`]); later ones only
//!   increment a local counter that [`LoginLimiter::take_ended`] hands back once the window has
//!   ended, so a flood of 429s writes two entries per key per minute and node, not one per
//!   request. These local tables keep at most [`MAX_TRACKED`] keys each, the oldest evicted
//!   first, so memory is bounded whatever the input.
//! - **Hashes in flight** ([`HashSlots`]): each holds 19 MiB and ~28 ms of a core, so a flood of
//!   logins queues briefly, then is refused.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::crypto::LimiterKey;
use crate::model::UserId;
use crate::store::{LimitCounter, LimitTicket, Reserved, Store, StoreError};

/// Refused by a limit; retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Seconds until a retry can succeed.
    pub retry_after_secs: u64,
}

/// Length of a limit window.
pub const WINDOW_SECS: i64 = crate::store::LIMIT_WINDOW_SECS;
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
    name: LimitTicket,
    addr: Option<LimitTicket>,
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

/// What this node reports of one key's current window (the count itself is in the store).
/// Fixed size.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The start of the shared window this slot mirrors.
    window_start: i64,
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

    /// The slot for `key` in the shared window that began at `window_start`, renewed if it
    /// still mirrors an earlier one (whose unreported count goes to `ended`).
    fn slot(&mut self, key: K, window_start: i64, ended: &mut Vec<(K, Slot)>) -> &mut Slot {
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
            window_start,
            reported: false,
            more_refused: 0,
            first_seq: 0,
            user_id: None,
        });
        if slot.window_start != window_start {
            if slot.more_refused > 0 {
                ended.push((key, *slot));
            }
            *slot = Slot {
                window_start,
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

/// Attempts per username and per address, in one-minute windows shared through the store, with
/// bounded memory for this node's audit reporting.
pub struct LoginLimiter {
    key: LimiterKey,
    store: Store,
    per_name: u32,
    per_addr: u32,
    tables: Mutex<Tables>,
    /// Windows that ended while a new attempt renewed them (reported by `take_ended`).
    ended: Mutex<Vec<EndedWindow>>,
}

impl LoginLimiter {
    /// `per_name` failed attempts per username and `per_addr` per address per minute, counted in
    /// `store` (shared by every node using it); `key` keys the digests (the vault's
    /// [`crate::crypto::Keyring::limiter_key`], the same on every node).
    pub fn new(key: LimiterKey, store: Store, per_name: u32, per_addr: u32) -> Self {
        Self {
            key,
            store,
            per_name: per_name.max(1),
            per_addr: per_addr.max(1),
            tables: Mutex::new(Tables {
                names: Table::new(),
                addrs: Table::new(),
            }),
            ended: Mutex::new(Vec::new()),
        }
    }

    /// `HMAC-SHA-256(limiter key, ASCII-lower-cased username)`, computed without copying the input.
    fn digest(&self, username: &str) -> [u8; 32] {
        self.key.digest_ascii_lowercase(username)
    }

    /// Reserves a place for an attempt at `username` from `addr` in the shared windows (the user
    /// behind it, if any, is remembered for the audit of later refusals), or refuses it. The
    /// outer error is the store's.
    pub fn reserve(
        &self,
        username: &str,
        user_id: Option<UserId>,
        addr: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<Result<Reservation, Refusal>, StoreError> {
        let now = now.as_second();
        let name = self.digest(username);
        let name_ticket =
            match self
                .store
                .reserve_limit(LimitCounter::LoginName, &name, now, self.per_name)?
            {
                Reserved::Granted(t) => t,
                Reserved::Full { window_start } => {
                    return Ok(Err(self.refuse(
                        SlotKey::Name(name),
                        user_id,
                        window_start,
                        now,
                    )));
                }
            };
        self.touch(SlotKey::Name(name), user_id, name_ticket.window_start());
        let Some(ip) = addr else {
            return Ok(Ok(Reservation {
                name: name_ticket,
                addr: None,
            }));
        };
        let digest = self.key.digest(&address_bytes(ip));
        match self
            .store
            .reserve_limit(LimitCounter::LoginAddress, &digest, now, self.per_addr)
        {
            Ok(Reserved::Granted(t)) => {
                self.touch(SlotKey::Addr(ip), None, t.window_start());
                Ok(Ok(Reservation {
                    name: name_ticket,
                    addr: Some(t),
                }))
            }
            Ok(Reserved::Full { window_start }) => {
                // Refused before any hash: the username's place is given back.
                self.store.release_limit(name_ticket)?;
                Ok(Err(self.refuse(SlotKey::Addr(ip), None, window_start, now)))
            }
            Err(e) => {
                let _ = self.store.release_limit(name_ticket);
                Err(e)
            }
        }
    }

    /// Makes sure this node tracks `key` in the shared window that began at `window_start`
    /// (remembering the user behind a username).
    fn touch(&self, key: SlotKey, user_id: Option<UserId>, window_start: i64) {
        self.with_slot(key, window_start, |s| s.user_id = user_id.or(s.user_id));
    }

    /// A refusal of `key` in the full shared window that began at `window_start`, coalesced in
    /// this node's slot.
    fn refuse(
        &self,
        key: SlotKey,
        user_id: Option<UserId>,
        window_start: i64,
        now: i64,
    ) -> Refusal {
        self.with_slot(key, window_start, |s| {
            s.user_id = user_id.or(s.user_id);
            refuse(s, key, now)
        })
    }

    fn with_slot<T>(&self, key: SlotKey, window_start: i64, f: impl FnOnce(&mut Slot) -> T) -> T {
        let mut ended_names = Vec::new();
        let mut ended_addrs = Vec::new();
        let out = {
            let mut t = self.tables.lock();
            match key {
                SlotKey::Name(k) => f(t.names.slot(k, window_start, &mut ended_names)),
                SlotKey::Addr(k) => f(t.addrs.slot(k, window_start, &mut ended_addrs)),
            }
        };
        self.note_ended(ended_names, ended_addrs);
        out
    }

    /// Gives a successful attempt's places back (if their windows are still the current ones).
    pub fn release(&self, r: Reservation) -> Result<(), StoreError> {
        let name = self.store.release_limit(r.name);
        if let Some(t) = r.addr {
            self.store.release_limit(t)?;
        }
        name
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

/// The bytes an address is digested from: a family tag, then the address.
fn address_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => [&[4u8][..], &a.octets()].concat(),
        IpAddr::V6(a) => [&[6u8][..], &a.octets()].concat(),
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

    /// A limiter over its own temporary store (one node).
    struct Node {
        l: LoginLimiter,
        _dir: Option<tempfile::TempDir>,
    }

    impl std::ops::Deref for Node {
        type Target = LoginLimiter;
        fn deref(&self) -> &LoginLimiter {
            &self.l
        }
    }

    fn node(key: u8, per_name: u32, per_addr: u32) -> Node {
        let (store, dir) = crate::store::testing::temp_store();
        Node {
            l: on(&store, key, per_name, per_addr),
            _dir: Some(dir),
        }
    }

    /// A limiter over a store that other limiters ("nodes") may share.
    fn on(store: &Store, key: u8, per_name: u32, per_addr: u32) -> LoginLimiter {
        LoginLimiter::new(
            LimiterKey::from_bytes([key; 32]),
            store.clone(),
            per_name,
            per_addr,
        )
    }

    impl LoginLimiter {
        /// `reserve`, the store assumed to work.
        fn try_at(
            &self,
            name: &str,
            addr: Option<IpAddr>,
            now: Timestamp,
        ) -> Result<Reservation, Refusal> {
            self.reserve(name, None, addr, now).expect("store")
        }
    }

    #[test]
    fn limit_is_per_username_counts_before_the_check_and_ends_with_the_window() {
        let l = node(7, 3, 100);
        let held: Vec<Reservation> = (0..3)
            .map(|i| l.try_at("Alice", ip(1), at(i)).unwrap())
            .collect();
        // Three attempts in flight: a fourth is refused before any of them is decided.
        let r = l.try_at("alice", ip(2), at(10)).unwrap_err();
        assert_eq!(r.kind, LimitKind::Username);
        assert_eq!(r.limited.retry_after_secs, 50);
        assert!(r.first);
        assert!(!l.try_at("ALICE", ip(2), at(11)).unwrap_err().first);
        assert!(
            l.try_at("bob", ip(1), at(10)).is_ok(),
            "other names are unaffected"
        );
        drop(held); // all three failed
        assert!(l.try_at("alice", ip(1), at(59)).is_err());
        assert!(l.try_at("alice", ip(1), at(60)).is_ok(), "a new window");
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
        let l = node(7, 2, 100);
        for i in 0..10 {
            let r = l.try_at("carol", ip(1), at(i)).unwrap();
            l.release(r).unwrap();
        }
        let _failed = l.try_at("carol", ip(1), at(20)).unwrap();
        assert!(l.try_at("carol", ip(1), at(20)).is_ok());
        assert!(l.try_at("carol", ip(1), at(20)).is_err());
    }

    #[test]
    fn per_address_limit_across_names() {
        let l = node(7, 10, 5);
        for i in 0..5 {
            let _ = l.try_at(&format!("user{i}"), ip(9), at(0)).unwrap();
        }
        let r = l.try_at("user99", ip(9), at(1)).unwrap_err();
        assert_eq!(r.kind, LimitKind::Address);
        assert!(l.try_at("user99", ip(8), at(1)).is_ok());
        let _ = l.try_at("user98", ip(9), at(2)).unwrap_err();
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
        let l = node(7, 10, u32::MAX);
        let long = "x".repeat(60_000);
        for i in 0..(MAX_TRACKED + 500) {
            let _ = l.try_at(&format!("{long}{i}"), None, at(0));
        }
        assert_eq!(l.tracked().0, MAX_TRACKED);
        assert_eq!(l.digest("Alice"), l.digest("aLICE"));
        assert_ne!(l.digest("alice"), node(8, 1, 1).digest("alice"));
    }

    #[test]
    fn two_nodes_sharing_a_store_share_the_limits() {
        let (store, _dir) = crate::store::testing::temp_store();
        let (a, b) = (on(&store, 7, 3, 5), on(&store, 7, 3, 5));
        let _a1 = a.try_at("dave", ip(1), at(0)).unwrap();
        let _a2 = a.try_at("Dave", ip(2), at(1)).unwrap();
        let _b1 = b.try_at("DAVE", ip(3), at(2)).unwrap();
        // The fourth attempt, on either node, is refused: 3 a minute across the cluster.
        let r = b.try_at("dave", ip(4), at(10)).unwrap_err();
        assert_eq!(r.kind, LimitKind::Username);
        assert_eq!(
            r.limited.retry_after_secs, 50,
            "from the window's first attempt"
        );
        assert!(r.first, "b's first refusal is audited at once");
        let r = a.try_at("dave", ip(4), at(11)).unwrap_err();
        assert!(
            r.first,
            "so is a's: the coalesced audit entries are per node"
        );
        // A success on one node gives a place back on every node.
        let ok = a.try_at("erin", ip(5), at(12)).unwrap();
        a.release(ok).unwrap();
        for _ in 0..3 {
            let _ = b.try_at("erin", ip(6), at(13)).unwrap();
        }
        assert!(a.try_at("erin", ip(7), at(14)).is_err());
        // The per-address limit is shared too: 5 from 10.0.0.9 across both nodes.
        for i in 0..5 {
            let n = if i % 2 == 0 { &a } else { &b };
            let _ = n.try_at(&format!("u{i}"), ip(9), at(20)).unwrap();
        }
        assert_eq!(
            a.try_at("u9", ip(9), at(21)).unwrap_err().kind,
            LimitKind::Address
        );
        // The window ends for both at once.
        assert!(a.try_at("dave", ip(1), at(60)).is_ok());
        // A node keyed differently would count apart: the key must be the vault's, not random.
        let c = on(&store, 8, 3, 100);
        assert!(c.try_at("dave", None, at(61)).is_ok());
        // Stored: 7 usernames (dave, erin, u0..u4; u9 was given back) and 5 addresses (1, 2, 3,
        // 6, 9; 4 and 7 were refused by name first, 5's success was given back), plus c's dave.
        assert_eq!(store.purge_limits(at(200).as_second()).unwrap(), 13);
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
