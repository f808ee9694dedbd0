//! The ids of every honeytoken, kept in memory (and in the store's meta tree) so the monitor can
//! tell a decoy from a record without loading and decoding the record on every event — that
//! lookup was 4 % of a read's CPU. Decoys are few; the set is small.
//!
//! Kept in step with the store: an id is added (and persisted) *before* its record is stored,
//! so a crash can leave an id without a record (harmless: it never matches a request) but never
//! a decoy the monitor does not know. A vault from before this set existed has its set built
//! once from the records on open.

use std::collections::HashSet;

use parking_lot::RwLock;

use super::ServiceError;
use crate::model::EmployeeId;
use crate::store::{EmployeeEntry, Store, StoreError};

const META_KEY: &str = "honeytokens";

/// The set of honeytoken ids.
#[derive(Debug, Default)]
pub(crate) struct Honeytokens {
    ids: RwLock<HashSet<EmployeeId>>,
}

impl Honeytokens {
    /// Loads the set from the store's meta tree (building it from the records the first time).
    pub(crate) fn load(store: &Store) -> Result<Self, StoreError> {
        let ids = match store.meta(META_KEY)? {
            Some(bytes) => bytes
                .chunks_exact(16)
                .filter_map(|c| EmployeeId::from_slice(c).ok())
                .collect(),
            None => {
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
                store.set_meta(META_KEY, &encode(&ids))?;
                ids
            }
        };
        Ok(Self {
            ids: RwLock::new(ids),
        })
    }

    /// A copy, for a monitor batch.
    pub(crate) fn snapshot(&self) -> HashSet<EmployeeId> {
        self.ids.read().clone()
    }

    /// Adds a decoy about to be stored, persisting the set first.
    pub(crate) fn add(&self, store: &Store, id: EmployeeId) -> Result<(), ServiceError> {
        let mut ids = self.ids.write();
        let mut next = ids.clone();
        next.insert(id);
        store.set_meta(META_KEY, &encode(&next))?;
        *ids = next;
        Ok(())
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
        assert_eq!(set.snapshot(), HashSet::from([decoy.id]));
        let planted = EmployeeId::random();
        set.add(&store, planted).unwrap();
        // Reloaded from meta, not rebuilt: the planted id has no record yet and is still there.
        let again = Honeytokens::load(&store).unwrap();
        assert_eq!(again.snapshot(), HashSet::from([decoy.id, planted]));
    }
}
