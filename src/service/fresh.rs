//! State the service keeps in memory for speed (HR flags, the honeytoken set) but that other
//! nodes of a cluster may change: every use first reads one small `Meta` value (a generation
//! that every change rewrites in the same batch) and reloads when it moved. One point read per
//! use on sled costs about a microsecond; it is what lets a flag created on one node restrict
//! the flagged user on every other node at their next request.
//!
//! The generation is read before the state, so the state loaded is never older than the
//! generation cached with it (at worst a change is loaded twice, never missed).

use std::sync::Arc;

use parking_lot::RwLock;

use crate::store::{Store, StoreError};

/// A value loaded from the store, reloaded whenever the `Meta` key `gen_key` changes.
pub(crate) struct Fresh<T> {
    gen_key: &'static str,
    state: RwLock<(Option<Vec<u8>>, Arc<T>)>,
}

impl<T> std::fmt::Debug for Fresh<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fresh")
            .field("gen_key", &self.gen_key)
            .finish_non_exhaustive()
    }
}

impl<T> Fresh<T> {
    /// Loads the value and its generation.
    pub(crate) fn load(
        store: &Store,
        gen_key: &'static str,
        load: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<Self, StoreError> {
        let generation = store.meta(gen_key)?;
        let value = load(store)?;
        Ok(Self {
            gen_key,
            state: RwLock::new((generation, Arc::new(value))),
        })
    }

    /// The value as of now: reloaded if another writer (this node or another) changed it. If the
    /// store cannot be read, the last value is used and the failure logged (the request's own
    /// store reads will fail it anyway).
    pub(crate) fn get(
        &self,
        store: &Store,
        load: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Arc<T> {
        let generation = match store.meta(self.gen_key) {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, key = self.gen_key, "could not check cached state");
                return self.state.read().1.clone();
            }
        };
        {
            let s = self.state.read();
            if s.0 == generation {
                return s.1.clone();
            }
        }
        match load(store) {
            Ok(v) => {
                let v = Arc::new(v);
                *self.state.write() = (generation, v.clone());
                v
            }
            Err(e) => {
                tracing::warn!(error = %e, key = self.gen_key, "could not reload cached state");
                self.state.read().1.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn a_change_of_generation_by_any_writer_reloads() {
        let (store, _dir) = temp_store();
        let loads = std::cell::Cell::new(0);
        let load = |_: &Store| {
            loads.set(loads.get() + 1);
            Ok(loads.get())
        };
        let f = Fresh::load(&store, "gen/test", load).unwrap();
        assert_eq!(*f.get(&store, load), 1, "unchanged: no reload");
        // Another node's change: only the generation moves.
        store.set_meta("gen/test", b"x").unwrap();
        assert_eq!(*f.get(&store, load), 2);
        assert_eq!(*f.get(&store, load), 2);
        store.set_meta("gen/test", b"y").unwrap();
        assert_eq!(*f.get(&store, load), 3);
    }
}
