//! The ids of every honeytoken, kept in memory (and in the store's meta tree) so the monitor can
//! tell a decoy from a record without loading and decoding the record on every event — that
//! lookup was 4 % of a read's CPU. Decoys are few; the set is small.
//!
//! Kept in step with the store: an id is added (and persisted) *before* its record is stored,
//! so a crash can leave an id without a record (harmless: it never matches a request) but never
//! a decoy the monitor does not know. A vault from before this set existed has its set built
//! once from the records on open. Additions are compare-and-set on the stored set, and every
//! snapshot re-reads it (`Fresh`), so a decoy planted on one node of a cluster is known to the
//! monitor wherever it runs.

use std::collections::HashSet;

use super::ServiceError;
use super::fresh::Fresh;
use crate::model::EmployeeId;
use crate::store::{EmployeeEntry, Store, StoreError};

const META_KEY: &str = "honeytokens";

/// The set of honeytoken ids.
#[derive(Debug)]
pub(crate) struct Honeytokens {
    ids: Fresh<HashSet<EmployeeId>>,
}

fn decode(bytes: &[u8]) -> HashSet<EmployeeId> {
    bytes
        .chunks_exact(16)
        .filter_map(|c| EmployeeId::from_slice(c).ok())
        .collect()
}

fn stored(store: &Store) -> Result<HashSet<EmployeeId>, StoreError> {
    Ok(store
        .meta(META_KEY)?
        .as_deref()
        .map(decode)
        .unwrap_or_default())
}

impl Honeytokens {
    /// Loads the set from the store's meta tree (building it from the records the first time).
    pub(crate) fn load(store: &Store) -> Result<Self, StoreError> {
        if store.meta(META_KEY)?.is_none() {
            let mut ids = HashSet::new();
            for entry in store.employees_after(None) {
                match entry? {
                    EmployeeEntry::Live(r) if r.honeytoken => {
                        ids.insert(r.id);
                    }
                    EmployeeEntry::Deleted(t) if t.honeytoken => {
                        ids.insert(t.id);
                    }
                    _ => {}
                }
            }
            match store.replace_meta(META_KEY, None, &encode(&ids)) {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Self {
            ids: Fresh::load(store, META_KEY, stored)?,
        })
    }

    /// The set as stored now (every node's decoys), for a monitor batch.
    pub(crate) fn snapshot(&self, store: &Store) -> HashSet<EmployeeId> {
        self.ids.get(store, stored).as_ref().clone()
    }

    /// Adds a decoy about to be stored, persisting the set first (compare-and-set: a decoy
    /// another node adds at the same moment is kept too).
    pub(crate) fn add(&self, store: &Store, id: EmployeeId) -> Result<(), ServiceError> {
        for _ in 0..100 {
            let raw = store.meta(META_KEY)?;
            let mut next = raw.as_deref().map(decode).unwrap_or_default();
            if !next.insert(id) {
                return Ok(());
            }
            match store.replace_meta(META_KEY, raw.as_deref(), &encode(&next)) {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal)
    }
}

fn encode(ids: &HashSet<EmployeeId>) -> Vec<u8> {
    let mut sorted: Vec<&EmployeeId> = ids.iter().collect();
    sorted.sort_unstable();
    sorted
        .iter()
        .flat_map(|id| id.as_bytes().to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{sample_employee, temp_store};

    #[test]
    fn the_set_is_built_once_from_the_records_then_kept_in_meta() {
        let (store, _dir) = temp_store();
        let mut decoy = sample_employee("E1", 1, "2026-01-01T00:00:00Z");
        decoy.honeytoken = true;
        let real = sample_employee("E2", 2, "2026-01-01T00:00:00Z");
        store.insert_employee(&decoy).unwrap();
        store.insert_employee(&real).unwrap();
        let set = Honeytokens::load(&store).unwrap();
        assert_eq!(set.snapshot(&store), HashSet::from([decoy.id]));
        let planted = EmployeeId::random();
        set.add(&store, planted).unwrap();
        // Reloaded from meta, not rebuilt: the planted id has no record yet and is still there.
        let again = Honeytokens::load(&store).unwrap();
        assert_eq!(again.snapshot(&store), HashSet::from([decoy.id, planted]));
        // Another node's addition (same store, other handle) is in this node's next snapshot.
        let other = EmployeeId::random();
        again.add(&store, other).unwrap();
        assert_eq!(
            set.snapshot(&store),
            HashSet::from([decoy.id, planted, other])
        );
    }
}
