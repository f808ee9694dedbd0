//! Duties: background work that must run on exactly one node at a time (the insider-threat
//! monitor, the webhook outbox, housekeeping), and how a node takes one over when its holder
//! dies (CONTRACT §6).
//!
//! In a data dir there is one process (`vault.lock`), so every duty is always this node's and
//! nothing is written. In a store, a duty is a [`Lease`] (`store::lease`): taken for [`TTL`],
//! renewed every [`RENEW_EVERY`], and taken over by a standby that polls every [`STANDBY_POLL`]
//! once the holder has not renewed by its expiry. A node that dies is replaced within
//! `TTL + STANDBY_POLL` (7 s, inside the contract's 10 s). The invariant that makes a takeover
//! safe even when the old holder is only paused (not dead) is the **fence**: every batch a duty
//! commits carries [`Duty::fence`], which fails once another node holds the lease, so no alert
//! is committed twice and none is lost (the new holder resumes from the committed cursor).
//!
//! Lease times are wall-clock (`SystemClock`), not the vault's clock: a lease is about real
//! time passing between nodes. Nodes' clocks must agree to well under `TTL` (NTP); a larger skew
//! can only make a takeover early, and the fence still refuses the old holder's commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::SignedDuration;

use crate::clock::Clock;
use crate::store::{Check, Lease, Store};

/// How long a lease holds without renewal.
pub(crate) const TTL: SignedDuration = SignedDuration::from_secs(6);
/// How often a holder renews (three chances before expiry).
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How often a standby node tries to take a duty over.
pub(crate) const STANDBY_POLL: Duration = Duration::from_secs(1);

/// Every duty's lease name (for stepping down at shutdown).
pub(crate) const ALL: [&str; 3] = [MONITOR, WEBHOOK, HOUSEKEEPING];
/// The insider-threat monitor.
pub(crate) const MONITOR: &str = "monitor";
/// The alert webhook's outbox.
pub(crate) const WEBHOOK: &str = "webhook";
/// Termination enforcement and purges.
pub(crate) const HOUSEKEEPING: &str = "housekeeping";

/// This node as a lease holder: a random id per unsealed vault, and whether it is shutting
/// down (then it takes no duty, so a standby can take each over at once).
#[derive(Debug)]
pub(crate) struct Node {
    id: [u8; 16],
    stepping_down: AtomicBool,
}

impl Node {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            id: *uuid::Uuid::new_v4().as_bytes(),
            stepping_down: AtomicBool::new(false),
        })
    }

    /// Gives up every duty this node holds and takes none from now on (a clean shutdown).
    pub(crate) fn step_down(&self, store: &Store) {
        self.stepping_down.store(true, Ordering::SeqCst);
        for name in ALL {
            if let Err(e) = store.release_lease_of(name, self.id) {
                tracing::warn!(duty = name, error = %e, "could not release the duty's lease");
            }
        }
    }
}

/// One duty as seen by one node.
pub(crate) struct Duty {
    name: &'static str,
    /// `None` in a data dir: the duty is always held.
    store: Option<Store>,
    node: Arc<Node>,
    lease: Option<Lease>,
    renewed: Option<Instant>,
}

impl Duty {
    /// The duty `name` for `node`; `store` is `None` for a data dir.
    pub(crate) fn new(name: &'static str, store: Option<Store>, node: Arc<Node>) -> Self {
        Self {
            name,
            store,
            node,
            lease: None,
            renewed: None,
        }
    }

    /// Whether this node may do the duty's work now. Takes the lease, or renews it when a
    /// renewal is due; a store error counts as not holding it (fail closed: better no monitor
    /// for a few seconds than two).
    pub(crate) fn hold(&mut self) -> bool {
        let Some(store) = &self.store else {
            return true;
        };
        if self.node.stepping_down.load(Ordering::SeqCst) {
            self.lease = None;
            return false;
        }
        if self.lease.is_some() && self.renewed.is_some_and(|at| at.elapsed() < RENEW_EVERY) {
            return true;
        }
        let now = crate::clock::SystemClock.now();
        match store.acquire_lease(self.name, self.node.id, now, TTL) {
            Ok(Some(lease)) => {
                if self.lease.as_ref().map(Lease::epoch) != Some(lease.epoch()) {
                    tracing::info!(
                        duty = self.name,
                        epoch = lease.epoch(),
                        "this node took over the duty"
                    );
                }
                self.lease = Some(lease);
                self.renewed = Some(Instant::now());
                true
            }
            Ok(None) => {
                if self.lease.take().is_some() {
                    tracing::warn!(duty = self.name, "another node took the duty over");
                }
                false
            }
            Err(e) => {
                if self.lease.take().is_some() {
                    tracing::warn!(duty = self.name, error = %e, "cannot renew the duty's lease; standing by");
                }
                false
            }
        }
    }

    /// Forgets the lease and asks the store again at once (after a commit the fence refused).
    pub(crate) fn recheck(&mut self) -> bool {
        self.renewed = None;
        self.hold()
    }

    /// The check every batch of this duty's work carries (`None` in a data dir).
    pub(crate) fn fence(&self) -> Option<Check> {
        match (&self.store, &self.lease) {
            (Some(store), Some(lease)) => Some(store.lease_fence(lease)),
            _ => None,
        }
    }

    /// Gives the lease up (clean shutdown), so a standby need not wait for it to expire.
    pub(crate) fn release(&mut self) {
        if let (Some(store), Some(lease)) = (&self.store, self.lease.take())
            && let Err(e) = store.release_lease(&lease)
        {
            tracing::warn!(duty = self.name, error = %e, "could not release the duty's lease");
        }
    }
}

impl Drop for Duty {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MonitorCursor;

    #[test]
    fn a_data_dir_always_holds_and_fences_nothing() {
        let mut d = Duty::new(MONITOR, None, Node::new());
        assert!(d.hold());
        assert!(d.fence().is_none());
    }

    #[test]
    fn one_holder_at_a_time_and_the_fence_refuses_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sled(&dir.path().join("db"), &dir.path().join("slots")).unwrap();
        let (na, nb) = (Node::new(), Node::new());
        let mut a = Duty::new(MONITOR, Some(store.clone()), na.clone());
        let mut b = Duty::new(MONITOR, Some(store.clone()), nb.clone());
        assert!(a.hold());
        assert!(!b.hold(), "held by a");
        let fence_a = a.fence().unwrap();
        // a steps down (as at shutdown): b takes over at once, with a new epoch.
        a.release();
        assert!(b.hold());
        let write = |fence: Check| store.commit_monitor(&[], MonitorCursor::default(), Some(fence));
        assert!(write(fence_a).is_err(), "a's old fence refuses its commit");
        assert!(write(b.fence().unwrap()).is_ok());
        assert!(!a.hold(), "a is now the standby");
        // Another duty's lease is independent.
        let mut w = Duty::new(WEBHOOK, Some(store.clone()), na.clone());
        assert!(w.hold());
        // b shuts down: it gives up the monitor, takes nothing more, and a takes over at once.
        nb.step_down(&store);
        assert!(!b.hold());
        assert!(a.hold());
    }
}
