//! The embedded sled engine.
//!
//! Durability: sled's `flush()` is `sync_file_range`, not `fsync` (DESIGN §4), so `sync` follows
//! it with an `fdatasync` of sled's data file; that makes applied batches survive power loss.
//! `flush_async` deadlocks under concurrency (sled #1308) and is never used.

use std::fs::File;
use std::path::Path;

use parking_lot::Mutex;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Backend, Batch, Check, KvIter, Op, StoreError, Tree};

fn engine(e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(e.to_string())
}

/// Page cache sled may hold, in bytes.
///
/// sled's default is 1 GiB, and a full scan (payroll export, monitor replay) fills it: the
/// process's memory then tracks the vault's size up to that bound. 128 MiB keeps the working set
/// of a large vault's hot records and indexes while keeping RSS flat; scans are sequential and
/// gain little from a bigger cache.
const CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// Whether opening failed only because the database's file lock is still held.
///
/// sled 0.34 reports that as `ErrorKind::Other` with the text "could not acquire lock on …"
/// (config.rs), not as `WouldBlock`; both are accepted so a fixed sled keeps working.
fn lock_busy(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().starts_with("could not acquire lock on ")
        }
        _ => false,
    }
}

/// sled database with one sled tree per `Tree`.
pub struct SledBackend {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    data_file: Mutex<Option<File>>,
    dir: std::path::PathBuf,
}

impl SledBackend {
    /// Opens or creates the database in `dir`.
    ///
    /// sled releases its file lock asynchronously: background tasks on its thread pool keep the
    /// file open for a moment after the last handle is dropped. Cross-process exclusivity is
    /// already guaranteed by `vault.lock`, so a lock still held here can only be this process's
    /// own closing handle; opening retries for up to 5 s before giving up.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let db = loop {
            match sled::Config::new()
                .path(dir)
                .mode(sled::Mode::HighThroughput)
                .cache_capacity(CACHE_BYTES)
                .open()
            {
                Ok(db) => break db,
                Err(e) if lock_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(engine(e)),
            }
        };
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(engine)?;
        Ok(Self {
            db,
            trees,
            data_file: Mutex::new(None),
            dir: dir.to_path_buf(),
        })
    }

    fn tree(&self, t: Tree) -> &sled::Tree {
        let i = Tree::ALL
            .iter()
            .position(|x| *x == t)
            .expect("Tree::ALL lists every tree");
        &self.trees[i]
    }

    fn fdatasync_data_file(&self) -> Result<(), StoreError> {
        let mut guard = self.data_file.lock();
        if guard.is_none() {
            *guard = Some(File::open(self.dir.join("db")).map_err(engine)?);
        }
        guard
            .as_ref()
            .expect("opened above")
            .sync_data()
            .map_err(engine)
    }
}

impl Backend for SledBackend {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tree(tree)
            .get(key)
            .map_err(engine)?
            .map(|v| v.to_vec()))
    }

    fn range(&self, tree: Tree, start: &[u8], end: Option<&[u8]>) -> KvIter<'_> {
        let t = self.tree(tree);
        let iter = match end {
            Some(end) => t.range(start.to_vec()..end.to_vec()),
            None => t.range(start.to_vec()..),
        };
        Box::new(iter.map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(engine)))
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let names = batch.trees();
        let trees: Vec<&sled::Tree> = names.iter().map(|t| self.tree(*t)).collect();
        let index = |t: Tree| {
            names
                .iter()
                .position(|x| *x == t)
                .expect("batch trees include every tree it names")
        };
        let result = trees[..].transaction(|views| {
            for check in &batch.checks {
                match check {
                    Check::Absent(t, key, label) => {
                        if views[index(*t)].get(key)?.is_some() {
                            return Err(ConflictableTransactionError::Abort(*label));
                        }
                    }
                    Check::Equals(t, key, expected, label) => {
                        if views[index(*t)].get(key)?.as_deref() != Some(expected.as_slice()) {
                            return Err(ConflictableTransactionError::Abort(*label));
                        }
                    }
                }
            }
            for op in &batch.ops {
                match op {
                    Op::Put(t, k, v) => {
                        views[index(*t)].insert(k.as_slice(), v.as_slice())?;
                    }
                    Op::Delete(t, k) => {
                        views[index(*t)].remove(k.as_slice())?;
                    }
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(label)) => Err(StoreError::Conflict(label)),
            Err(TransactionError::Storage(e)) => Err(engine(e)),
        }
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(engine)?;
        self.fdatasync_data_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleds_lock_error_counts_as_busy_and_nothing_else_does() {
        let io = |kind, text: &str| sled::Error::Io(std::io::Error::new(kind, text.to_owned()));
        let other = std::io::ErrorKind::Other;
        assert!(lock_busy(&io(
            other,
            "could not acquire lock on \"/x/db\": Os { code: 11 }"
        )));
        assert!(lock_busy(&io(std::io::ErrorKind::WouldBlock, "busy")));
        assert!(!lock_busy(&io(other, "permission denied")));
        assert!(!lock_busy(&sled::Error::Unsupported("x".into())));
    }

    #[test]
    fn opening_waits_for_a_handle_of_this_process_to_close() {
        let dir = tempfile::tempdir().unwrap();
        let first = SledBackend::open(dir.path()).unwrap();
        // The first handle is still open when the second open starts (it is dropped only after
        // a pause, long before the 5 s deadline): the open must wait for it, not fail.
        let closer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(first);
        });
        let second = SledBackend::open(dir.path());
        closer.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }

    #[test]
    fn sled_backend_conforms_and_keeps_batches_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let b = std::sync::Arc::new(SledBackend::open(dir.path()).unwrap());
        super::super::conformance::check(b.clone());
        b.sync().unwrap();
        drop(b);
        let b = SledBackend::open(dir.path()).unwrap();
        assert_eq!(
            b.get(Tree::Users, b"a").unwrap().as_deref(),
            Some(&b"2"[..])
        );
    }
}
