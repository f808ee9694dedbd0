//! Leases: work that must run on exactly one node at a time (the monitor, the webhook outbox,
//! housekeeping) runs only while its node holds the lease.
//!
//! Built on the backend's compare-and-set alone, so it means the same on sled (one node: the
//! lease is always this process's) and on PostgreSQL (many nodes). A lease is one `Meta` key
//! `lease/<name>` holding `(holder, epoch, expires_at)`. A holder renews well before expiry; a
//! node whose holder has not renewed by `expires_at` may take it over, with `epoch + 1`.
//! **Fencing**: the lease's writes carry [`Store::lease_fence`], a check that the key still
//! names this holder and epoch, so a node that lost its lease (paused, partitioned) cannot
//! commit work after another took over, even if it does not know yet.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Batch, Check, Op, Store, StoreError, Tree, codec};

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    name: &'static str,
    holder: [u8; 16],
    epoch: u64,
    expires_at: Timestamp,
}

impl Lease {
    /// Increments on every change of holder: the fencing token.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Until when it is held unless renewed.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredLease {
    holder: [u8; 16],
    epoch: u64,
    expires_at: Timestamp,
}

fn key(name: &str) -> Vec<u8> {
    format!("lease/{name}").into_bytes()
}

/// The fencing half: holder and epoch only (renewals change the expiry, not the fence).
fn fence_key(name: &str) -> Vec<u8> {
    format!("lease-fence/{name}").into_bytes()
}

impl Store {
    /// Takes lease `name` for `holder` until `now + ttl`, or renews it if `holder` has it.
    /// `None` while another holder's lease has not expired.
    pub fn acquire_lease(
        &self,
        name: &'static str,
        holder: [u8; 16],
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Result<Option<Lease>, StoreError> {
        let k = key(name);
        let prev = self.backend.get(Tree::Meta, &k)?;
        let current: Option<StoredLease> = match &prev {
            None => None,
            Some(raw) => Some(codec::decode(raw)?),
        };
        let epoch = match &current {
            Some(l) if l.holder == holder => l.epoch,
            Some(l) if l.expires_at > now => return Ok(None),
            Some(l) => l.epoch + 1,
            None => 1,
        };
        let expires_at = now
            .checked_add(ttl)
            .map_err(|_| StoreError::Engine("lease expiry out of range".into()))?;
        let next = StoredLease {
            holder,
            epoch,
            expires_at,
        };
        let check = match prev {
            None => Check::Absent(Tree::Meta, k.clone(), "lease"),
            Some(raw) => Check::Equals(Tree::Meta, k.clone(), raw, "lease"),
        };
        let fence = codec::encode(&(holder, epoch));
        match self.backend.apply(&Batch {
            checks: vec![check],
            ops: vec![
                Op::Put(Tree::Meta, k, codec::encode(&next)),
                Op::Put(Tree::Meta, fence_key(name), fence),
            ],
        }) {
            Ok(()) => Ok(Some(Lease {
                name,
                holder,
                epoch,
                expires_at,
            })),
            // Another node took or renewed it between our read and our write.
            Err(StoreError::Conflict("lease")) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A check to add to every batch the lease's work writes: it fails (`Conflict("lease")`) once
    /// another holder has taken the lease over.
    pub fn lease_fence(&self, lease: &Lease) -> Check {
        Check::Equals(
            Tree::Meta,
            fence_key(lease.name),
            codec::encode(&(lease.holder, lease.epoch)),
            "lease",
        )
    }

    /// Gives the lease up (a clean shutdown), so another node need not wait for it to expire.
    pub fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let k = key(lease.name);
        let Some(raw) = self.backend.get(Tree::Meta, &k)? else {
            return Ok(());
        };
        let mut l: StoredLease = codec::decode(&raw)?;
        if l.holder != lease.holder || l.epoch != lease.epoch {
            return Ok(());
        }
        l.expires_at = Timestamp::UNIX_EPOCH;
        match self.backend.apply(&Batch {
            checks: vec![Check::Equals(Tree::Meta, k.clone(), raw, "lease")],
            ops: vec![Op::Put(Tree::Meta, k, codec::encode(&l))],
        }) {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Store {
    /// Releases lease `name` if `holder` holds it (a node stepping down at shutdown).
    pub fn release_lease_of(&self, name: &'static str, holder: [u8; 16]) -> Result<(), StoreError> {
        let Some(raw) = self.backend.get(Tree::Meta, &key(name))? else {
            return Ok(());
        };
        let l: StoredLease = codec::decode(&raw)?;
        if l.holder != holder {
            return Ok(());
        }
        self.release_lease(&Lease {
            name,
            holder,
            epoch: l.epoch,
            expires_at: l.expires_at,
        })
    }
}

/// What a lease means on every engine (called by the sled and PostgreSQL tests).
#[cfg(test)]
pub(crate) fn check_leases(store: &Store) {
    let at = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let ttl = SignedDuration::from_secs(6);
    let (a, b) = ([1u8; 16], [2u8; 16]);
    let la = store
        .acquire_lease("monitor", a, at(0), ttl)
        .unwrap()
        .unwrap();
    assert_eq!(la.epoch(), 1);
    assert!(
        store
            .acquire_lease("monitor", b, at(5), ttl)
            .unwrap()
            .is_none(),
        "held"
    );
    let renewed = store
        .acquire_lease("monitor", a, at(5), ttl)
        .unwrap()
        .unwrap();
    assert_eq!(renewed.epoch(), 1, "a renewal keeps the epoch");
    assert!(
        store
            .acquire_lease("monitor", b, at(10), ttl)
            .unwrap()
            .is_none(),
        "renewed to 11"
    );
    // Another lease name is independent.
    assert!(
        store
            .acquire_lease("webhook", b, at(10), ttl)
            .unwrap()
            .is_some()
    );
    // a stops renewing: b takes over after expiry, with a new epoch.
    let lb = store
        .acquire_lease("monitor", b, at(12), ttl)
        .unwrap()
        .unwrap();
    assert_eq!(lb.epoch(), 2);
    // a's fence no longer holds: its late writes are refused; b's do.
    let late = Batch {
        checks: vec![store.lease_fence(&la)],
        ops: vec![Op::Put(Tree::MonitorState, b"x".to_vec(), b"a".to_vec())],
    };
    assert!(matches!(
        store.backend.apply(&late),
        Err(StoreError::Conflict("lease"))
    ));
    let ok = Batch {
        checks: vec![store.lease_fence(&lb)],
        ops: vec![Op::Put(Tree::MonitorState, b"x".to_vec(), b"b".to_vec())],
    };
    store.backend.apply(&ok).unwrap();
    // a clean release lets a take it back at once.
    store.release_lease(&lb).unwrap();
    let again = store
        .acquire_lease("monitor", a, at(13), ttl)
        .unwrap()
        .unwrap();
    assert_eq!(again.epoch(), 3);
    // Releasing a lease one no longer holds changes nothing.
    store.release_lease(&lb).unwrap();
    assert!(
        store
            .acquire_lease("monitor", b, at(14), ttl)
            .unwrap()
            .is_none()
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn leases_on_sled() {
        let (store, _dir) = crate::store::testing::temp_store();
        super::check_leases(&store);
    }
}
