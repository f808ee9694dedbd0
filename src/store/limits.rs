//! Shared one-minute window counters: the login limits and the lookup quota, held in the store
//! so that they hold across every node sharing it (CONTRACT §6).
//!
//! Built on the backend's compare-and-set alone (like [`super::lease`]), so it means the same on
//! sled and on PostgreSQL. One `Limits` key per limited thing: `kind (1 byte) || digest (32
//! bytes)` — the digest is a keyed HMAC made by the caller (`crypto::LimiterKey`), never a raw
//! username or address — holding `(window_start, count)`. A window starts at the first counted
//! event after the previous one ended and lasts [`WINDOW_SECS`] (so Retry-After is what a single
//! node always said). [`Store::reserve_limit`] reads, then writes `count + 1` under a
//! `Check::Equals` (or `Check::Absent`) of what it read, retrying on a conflict; a full window
//! writes nothing. [`Store::release_limit`] decrements the same way (deleting the key at zero).
//! [`Store::purge_limits`] deletes ended windows (housekeeping).

use super::{Batch, Check, Op, Store, StoreError, Tree, codec};

/// Length of a window.
pub const WINDOW_SECS: i64 = 60;

/// Attempts of the compare-and-set loop before giving up with `Conflict("limit")`. Every lost
/// round means another caller's write went through, so this is only reached by a pile-up far
/// past any limit.
const MAX_TRIES: usize = 64;

/// What a counter counts (the first byte of its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitCounter {
    /// Login attempts per username.
    LoginName,
    /// Login attempts per source address.
    LoginAddress,
    /// SSN lookups per user.
    Lookup,
}

impl LimitCounter {
    fn tag(self) -> u8 {
        match self {
            LimitCounter::LoginName => 1,
            LimitCounter::LoginAddress => 2,
            LimitCounter::Lookup => 3,
        }
    }
}

/// A place taken in a window; [`Store::release_limit`] gives it back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a ticket is the only way to give the place back"]
pub struct LimitTicket {
    counter: LimitCounter,
    digest: [u8; 32],
    window_start: i64,
}

impl LimitTicket {
    /// When the window the place was taken in began (seconds since the epoch).
    pub fn window_start(&self) -> i64 {
        self.window_start
    }
}

/// The answer of [`Store::reserve_limit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// A place was taken.
    Granted(LimitTicket),
    /// The window is full; it began at `window_start` (retry at `window_start + WINDOW_SECS`).
    Full {
        /// Seconds since the epoch.
        window_start: i64,
    },
}

fn key(counter: LimitCounter, digest: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(counter.tag());
    k.extend_from_slice(digest);
    k
}

impl Store {
    /// Takes a place in the current window of `(counter, digest)` if fewer than `limit` are
    /// taken; a window that ended by `now` (seconds) is replaced by a new one starting at `now`.
    pub fn reserve_limit(
        &self,
        counter: LimitCounter,
        digest: &[u8; 32],
        now: i64,
        limit: u32,
    ) -> Result<Reserved, StoreError> {
        let k = key(counter, digest);
        for _ in 0..MAX_TRIES {
            let prev = self.backend.get(Tree::Limits, &k)?;
            let (window_start, used) = match &prev {
                None => (now, 0),
                Some(raw) => match codec::decode::<(i64, u32)>(raw)? {
                    (start, _) if start.saturating_add(WINDOW_SECS) <= now => (now, 0),
                    current => current,
                },
            };
            if used >= limit {
                return Ok(Reserved::Full { window_start });
            }
            let check = match prev {
                None => Check::Absent(Tree::Limits, k.clone(), "limit"),
                Some(raw) => Check::Equals(Tree::Limits, k.clone(), raw, "limit"),
            };
            match self.backend.apply(&Batch {
                checks: vec![check],
                ops: vec![Op::Put(
                    Tree::Limits,
                    k.clone(),
                    codec::encode(&(window_start, used + 1)),
                )],
            }) {
                Ok(()) => {
                    return Ok(Reserved::Granted(LimitTicket {
                        counter,
                        digest: *digest,
                        window_start,
                    }));
                }
                // Another caller (maybe on another node) counted first: read again.
                Err(StoreError::Conflict("limit")) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("limit"))
    }

    /// Gives a place back, if its window is still the current one (a place in an ended window is
    /// gone with it).
    pub fn release_limit(&self, ticket: LimitTicket) -> Result<(), StoreError> {
        let k = key(ticket.counter, &ticket.digest);
        for _ in 0..MAX_TRIES {
            let Some(raw) = self.backend.get(Tree::Limits, &k)? else {
                return Ok(());
            };
            let (start, used) = codec::decode::<(i64, u32)>(&raw)?;
            if start != ticket.window_start || used == 0 {
                return Ok(());
            }
            let op = if used == 1 {
                Op::Delete(Tree::Limits, k.clone())
            } else {
                Op::Put(Tree::Limits, k.clone(), codec::encode(&(start, used - 1)))
            };
            match self.backend.apply(&Batch {
                checks: vec![Check::Equals(Tree::Limits, k.clone(), raw, "limit")],
                ops: vec![op],
            }) {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict("limit")) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("limit"))
    }

    /// Deletes every window that ended by `now` (seconds); returns how many. A window renewed
    /// meanwhile (the compare-and-set fails) is left alone.
    pub fn purge_limits(&self, now: i64) -> Result<usize, StoreError> {
        let mut ended = Vec::new();
        for kv in self.backend.range(Tree::Limits, &[], None) {
            let (k, raw) = kv?;
            let (start, _) = codec::decode::<(i64, u32)>(&raw)?;
            if start.saturating_add(WINDOW_SECS) <= now {
                ended.push((k, raw));
            }
        }
        let mut n = 0;
        for (k, raw) in ended {
            match self.backend.apply(&Batch {
                checks: vec![Check::Equals(Tree::Limits, k.clone(), raw, "limit")],
                ops: vec![Op::Delete(Tree::Limits, k)],
            }) {
                Ok(()) => n += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// What the shared counters mean on every engine (called by the sled and PostgreSQL tests).
#[cfg(test)]
pub(crate) fn check_limits(store: &Store) {
    const T0: i64 = 1_800_000_000;
    const LIMIT: u32 = 7;
    let d = [9u8; 32];
    // 6 threads × 5 reserves race for 7 places in one window: exactly 7 granted.
    let granted: Vec<LimitTicket> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    (0..5)
                        .filter_map(|_| {
                            match store.reserve_limit(LimitCounter::LoginName, &d, T0, LIMIT) {
                                Ok(Reserved::Granted(t)) => Some(t),
                                Ok(Reserved::Full { window_start }) => {
                                    assert_eq!(window_start, T0);
                                    None
                                }
                                Err(e) => panic!("reserve: {e}"),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(granted.len(), LIMIT as usize, "never more than the limit");
    assert_eq!(
        store
            .reserve_limit(LimitCounter::LoginName, &d, T0 + 30, LIMIT)
            .unwrap(),
        Reserved::Full { window_start: T0 }
    );
    // Other counters and digests are independent.
    assert!(matches!(
        store.reserve_limit(LimitCounter::LoginAddress, &d, T0, 1),
        Ok(Reserved::Granted(_))
    ));
    assert!(matches!(
        store.reserve_limit(LimitCounter::LoginName, &[8; 32], T0, 1),
        Ok(Reserved::Granted(_))
    ));
    // A release frees one place, once.
    let mut granted = granted.into_iter();
    store.release_limit(granted.next().unwrap()).unwrap();
    let again = match store
        .reserve_limit(LimitCounter::LoginName, &d, T0 + 31, LIMIT)
        .unwrap()
    {
        Reserved::Granted(t) => t,
        Reserved::Full { .. } => panic!("the released place is free"),
    };
    assert_eq!(again.window_start(), T0);
    assert!(matches!(
        store.reserve_limit(LimitCounter::LoginName, &d, T0 + 32, LIMIT),
        Ok(Reserved::Full { .. })
    ));
    // A new window starts fresh, at its first event; a ticket of the old one releases nothing.
    let fresh = match store
        .reserve_limit(LimitCounter::LoginName, &d, T0 + 60, LIMIT)
        .unwrap()
    {
        Reserved::Granted(t) => t,
        Reserved::Full { .. } => panic!("a new window"),
    };
    assert_eq!(fresh.window_start(), T0 + 60);
    store.release_limit(again).unwrap();
    for _ in 1..LIMIT {
        assert!(matches!(
            store.reserve_limit(LimitCounter::LoginName, &d, T0 + 61, LIMIT),
            Ok(Reserved::Granted(_))
        ));
    }
    assert_eq!(
        store
            .reserve_limit(LimitCounter::LoginName, &d, T0 + 119, LIMIT)
            .unwrap(),
        Reserved::Full {
            window_start: T0 + 60
        }
    );
    // Releasing the last place deletes the key; purge removes ended windows only.
    let lone = match store
        .reserve_limit(LimitCounter::Lookup, &d, T0 + 100, 1)
        .unwrap()
    {
        Reserved::Granted(t) => t,
        Reserved::Full { .. } => panic!("empty"),
    };
    store.release_limit(lone).unwrap();
    assert_eq!(
        store
            .backend
            .get(Tree::Limits, &key(LimitCounter::Lookup, &d))
            .unwrap(),
        None
    );
    // Ended by T0 + 120: the address and the [8; 32] windows (from T0); not the name (T0 + 60).
    assert_eq!(store.purge_limits(T0 + 119).unwrap(), 2);
    assert_eq!(store.purge_limits(T0 + 119).unwrap(), 0);
    assert_eq!(store.purge_limits(T0 + 120).unwrap(), 1);
    assert!(matches!(
        store.reserve_limit(LimitCounter::LoginName, &d, T0 + 120, 1),
        Ok(Reserved::Granted(_))
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_on_sled() {
        let (store, _dir) = crate::store::testing::temp_store();
        super::check_limits(&store);
    }
}
