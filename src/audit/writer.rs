//! The single audit writer: group commit with fail-closed acknowledgements.
//!
//! Requests send their entry and wait. The writer thread takes everything pending (up to
//! `MAX_BATCH`), seals each onto the chain, appends the batch with one `write`, `fdatasync`s once,
//! and only then answers every waiter. Writes to the vault's store are made durable the same way
//! (`sync_store`): one sled flush + `fdatasync` for all pending requests. If anything fails, every
//! request in the batch gets `AuditError::Unavailable` (→ 503, no data); after a failed sync the
//! writer refuses everything until restart, because the kernel may have dropped dirty pages
//! ("fsyncgate") and nothing on disk can be trusted to match what was acknowledged.
//!
//! Before appending a batch the writer asks the `SpaceGuard` (if one is installed) whether the
//! data dir's file system is above `server.min_free_disk_mb`; if not, the batch's entries are
//! refused (503) without touching the disk, and store syncs still run. That is not a poisoning:
//! the next batch asks again, so the vault recovers as soon as space is freed.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use tokio::sync::oneshot;

use super::AuditError;
use super::entry::{Action, NewEntry};
use super::segment::{Head, SEGMENT_MAX_BYTES, SegmentDir, sync_dir};
use super::space::SpaceGuard;
use crate::clock::{SharedClock, rfc3339};
use crate::model::EmployeeId;

const MAX_BATCH: usize = 4096;

/// Proof that an entry is durably in the chain, bound to what it recorded: its action and the
/// record(s) it names. Only the writer mints it (its fields are private and it is neither `Clone`
/// nor `Copy`); opening a record's plaintext requires one naming that very record (DESIGN §8), so
/// an entry about record A cannot unlock record B.
#[derive(Debug, PartialEq, Eq)]
pub struct Recorded {
    seq: u64,
    action: Action,
    employee: Option<EmployeeId>,
    /// Sorted, for `covers`: the records of a multi-record entry (list, inline export ids).
    employees: Option<Box<[EmployeeId]>>,
}

impl Recorded {
    fn of(seq: u64, entry: &NewEntry) -> Self {
        let employees = entry.employee_ids.as_ref().map(|ids| {
            let mut ids = ids.clone().into_boxed_slice();
            ids.sort_unstable();
            ids
        });
        Self {
            seq,
            action: entry.action,
            employee: entry.employee_id,
            employees,
        }
    }

    /// The entry's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The action the entry recorded.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Whether the entry names no record at all (an export past the inline limit names its
    /// records by the digest of their id list instead).
    pub fn names_no_record(&self) -> bool {
        self.employee.is_none() && self.employees.is_none()
    }

    /// Whether the entry names `id`, as its `employee_id` or among its `employee_ids`.
    pub fn covers(&self, id: &EmployeeId) -> bool {
        self.employee.as_ref() == Some(id)
            || self
                .employees
                .as_ref()
                .is_some_and(|ids| ids.binary_search(id).is_ok())
    }
}

/// Proof that every store write applied before the request is durable.
#[derive(Debug, Clone, Copy)]
pub struct Durable(());

/// Where the chain's bytes go: a segment file in production, a failing fake in tests.
pub trait LogSink: Send {
    /// Appends bytes (not yet durable). On error nothing may remain of them.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes every appended byte durable.
    fn sync(&mut self) -> io::Result<()>;
    /// Called after a durable batch; may start a new segment whose first entry is `next_seq`.
    fn after_commit(&mut self, next_seq: u64) -> io::Result<()>;
}

/// Why a batch did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// Nothing of the batch was kept; the next batch may succeed.
    Rejected,
    /// What is durable can no longer be trusted to match what was acknowledged (a failed
    /// `fdatasync`): refuse everything until restart.
    Poisoned,
}

/// A store change that commits in the same transaction as its entry, on a chain kept in the
/// store itself (cluster mode: `store::PgChain` knows it as a `store::Batch`). The invariant:
/// the change and its entry commit together or neither does, so the log never records a
/// change that was not made, nor a change goes unrecorded. A sink that cannot (segment files)
/// rejects the batch rather than drop the change.
pub struct Change(Box<dyn std::any::Any + Send>);

impl Change {
    /// Wraps the sink's own change type.
    pub fn new<T: std::any::Any + Send>(change: T) -> Self {
        Self(Box::new(change))
    }

    /// The change, if it is a `T`.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

/// One entry of a batch for a [`ChainSink`], with the change it records, if any.
pub struct Pending<'a> {
    /// The entry.
    pub entry: &'a NewEntry,
    /// The store change committed with it.
    pub change: Option<&'a Change>,
}

/// What a sink made of a batch.
#[derive(Debug)]
pub struct Committed {
    /// The head after the batch: the committed entries hold the seqs ending at it, in order.
    pub head: Head,
    /// `(index in the batch, label)` of each entry whose change failed its compare-and-set
    /// check: neither it nor its entry was committed, and it holds no seq. Ascending.
    pub refused: Vec<(usize, &'static str)>,
}

/// Where the chain is kept and who orders it: segment files of this process ([`FileChain`]), or
/// a database that several nodes append to in one order (cluster mode).
pub trait ChainSink: Send {
    /// Seals `entries`, in order, onto the chain and makes them durable, with their changes.
    /// `head` is this writer's last committed head; a shared chain may have moved past it
    /// (other nodes append too), and the sink seals onto the real head. Each entry is stamped
    /// with `now()` as it is sealed.
    fn commit(
        &mut self,
        entries: &[Pending<'_>],
        head: &Head,
        now: &mut dyn FnMut() -> String,
    ) -> Result<Committed, CommitError>;

    /// Called after a durable batch with the seq the next entry would get.
    fn after_commit(&mut self, next_seq: u64) -> io::Result<()>;
}

/// The chain in segment files, ordered by this process's one writer thread.
pub struct FileChain {
    sink: Box<dyn LogSink>,
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

impl FileChain {
    /// The chain written through `sink`.
    pub fn new(sink: Box<dyn LogSink>) -> Self {
        Self {
            sink,
            buf: Vec::with_capacity(1 << 20),
            scratch: Vec::with_capacity(1024),
        }
    }
}

impl ChainSink for FileChain {
    fn commit(
        &mut self,
        entries: &[Pending<'_>],
        head: &Head,
        now: &mut dyn FnMut() -> String,
    ) -> Result<Committed, CommitError> {
        if entries.iter().any(|p| p.change.is_some()) {
            // The service applies a data dir's changes itself, after the entry is durable.
            tracing::error!(
                "a store change was sent with an entry to segment files; batch rejected"
            );
            return Err(CommitError::Rejected);
        }
        let mut head = head.clone();
        self.buf.clear();
        for Pending { entry, .. } in entries {
            let ts = now();
            let sealed = entry.seal(head.seq + 1, &ts, &head.hash, &mut self.scratch);
            serde_json::to_writer(&mut self.buf, &sealed).expect("audit entries are plain strings");
            self.buf.push(b'\n');
            head = Head {
                seq: sealed.seq,
                hash: sealed.hash.into_owned(),
            };
        }
        if let Err(e) = self.sink.append(&self.buf) {
            tracing::error!(error = %e, "audit append failed; batch rejected");
            return Err(CommitError::Rejected);
        }
        if let Err(e) = self.sink.sync() {
            tracing::error!(error = %e, "audit fdatasync failed; refusing further entries");
            return Err(CommitError::Poisoned);
        }
        Ok(Committed {
            head,
            refused: Vec::new(),
        })
    }

    fn after_commit(&mut self, next_seq: u64) -> io::Result<()> {
        self.sink.after_commit(next_seq)
    }
}

/// Makes the vault store durable (sled flush + `fdatasync`).
pub type StoreSync = Box<dyn FnMut() -> Result<(), String> + Send>;

/// Segment files on disk.
pub struct FileSink {
    dir: SegmentDir,
    file: File,
    len: u64,
}

impl FileSink {
    /// Opens the current (last) segment for appending.
    pub fn open(dir: SegmentDir, current: PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new().append(true).open(&current)?;
        let len = file.metadata()?.len();
        Ok(Self { dir, file, len })
    }
}

impl LogSink for FileSink {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            // Leave no partial batch behind; if even that fails, the caller poisons the writer.
            self.file.set_len(self.len)?;
            return Err(e);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn after_commit(&mut self, next_seq: u64) -> io::Result<()> {
        if self.len < SEGMENT_MAX_BYTES {
            return Ok(());
        }
        let path = self.dir.segment_path(next_seq);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        file.sync_all()?;
        sync_dir(self.dir.path())?;
        self.file = file;
        self.len = 0;
        Ok(())
    }
}

enum Request {
    /// An entry, whether the store must be made durable in the same commit, and the change
    /// committed with it (a chain in the store).
    Append(
        Box<NewEntry>,
        bool,
        Option<Change>,
        oneshot::Sender<Result<Recorded, AuditError>>,
    ),
    SyncStore(oneshot::Sender<Result<Durable, AuditError>>),
}

impl Request {
    fn is_append(&self) -> bool {
        matches!(self, Self::Append(..))
    }
}

/// Counters for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Batches committed.
    pub batches: AtomicU64,
    /// Entries committed.
    pub entries: AtomicU64,
    /// Store syncs performed.
    pub store_syncs: AtomicU64,
    /// Total time spent in append + fdatasync (+ store sync), nanoseconds.
    pub commit_nanos: AtomicU64,
    /// Batches that failed.
    pub failures: AtomicU64,
    /// Entries refused because the disk was below the free-space watermark.
    pub refused_low_disk: AtomicU64,
}

/// Called after every group commit with (entries, time taken, succeeded): how metrics see the
/// writer without this module depending on a metrics library.
pub type CommitObserver = Box<dyn Fn(u64, std::time::Duration, bool) + Send + Sync>;

struct Shared {
    observer: std::sync::OnceLock<CommitObserver>,
    space: std::sync::OnceLock<Arc<SpaceGuard>>,
    head: RwLock<Head>,
    /// The last durable seq, and a condvar signalled after every commit (for the monitor's own
    /// thread, which must not depend on an async runtime that may be shutting down).
    committed: (parking_lot::Mutex<u64>, parking_lot::Condvar),
    poisoned: AtomicBool,
    stats: WriterStats,
}

/// Handle to the audit writer; clone freely. Dropping the last handle closes the channel and
/// waits for the thread to finish, so the store it syncs is released deterministically (a vault
/// can be reopened in the same process right after).
#[derive(Clone)]
pub struct AuditLog {
    // Field order matters: `tx` must drop before `_joiner` joins the thread.
    tx: Sender<Request>,
    shared: Arc<Shared>,
    _joiner: Arc<Joiner>,
}

struct Joiner(parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>);

impl Drop for Joiner {
    fn drop(&mut self) {
        if let Some(handle) = self.0.lock().take() {
            // Every sender is gone by now (this drops with the last handle), so the thread
            // drains what is queued and returns.
            if handle.join().is_err() {
                tracing::error!("the audit writer thread panicked");
            }
        }
    }
}

impl AuditLog {
    /// Starts the writer thread on segment-file `sink`, continuing the chain from `head`.
    pub fn start(
        sink: Box<dyn LogSink>,
        head: Head,
        clock: SharedClock,
        store_sync: StoreSync,
    ) -> io::Result<Self> {
        Self::start_chain(Box::new(FileChain::new(sink)), head, clock, store_sync)
    }

    /// Starts the writer thread on any chain sink, continuing from `head` (for a shared chain:
    /// its head when this node started).
    pub fn start_chain(
        chain: Box<dyn ChainSink>,
        head: Head,
        clock: SharedClock,
        store_sync: StoreSync,
    ) -> io::Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            observer: std::sync::OnceLock::new(),
            space: std::sync::OnceLock::new(),
            committed: (
                parking_lot::Mutex::new(head.seq),
                parking_lot::Condvar::new(),
            ),
            head: RwLock::new(head),
            poisoned: AtomicBool::new(false),
            stats: WriterStats::default(),
        });
        let worker = Worker {
            rx,
            chain,
            clock,
            store_sync,
            shared: shared.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            tx,
            shared,
            _joiner: Arc::new(Joiner(parking_lot::Mutex::new(Some(handle)))),
        })
    }

    /// Appends an entry and waits until it is durable.
    pub async fn append(&self, entry: NewEntry) -> Result<Recorded, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Append(Box::new(entry), false, None, tx))
            .map_err(|_| AuditError::Unavailable)?;
        rx.await.map_err(|_| AuditError::Unavailable)?
    }

    /// Appends an entry and, in the same group commit, makes every store write applied so far
    /// durable: for writes that must be on disk before the next step refers to them (a new key
    /// slot before the record that points at it).
    pub async fn append_and_sync_store(&self, entry: NewEntry) -> Result<Recorded, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Append(Box::new(entry), true, None, tx))
            .map_err(|_| AuditError::Unavailable)?;
        rx.await.map_err(|_| AuditError::Unavailable)?
    }

    /// Appends an entry with the store change it records, committed in one transaction (a
    /// chain kept in the store: see [`Change`]). `AuditError::Conflict` if the change's check
    /// failed: then neither was committed.
    pub async fn append_with_change(
        &self,
        entry: NewEntry,
        change: Change,
    ) -> Result<Recorded, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Append(Box::new(entry), false, Some(change), tx))
            .map_err(|_| AuditError::Unavailable)?;
        rx.await.map_err(|_| AuditError::Unavailable)?
    }

    /// Waits until every store write applied so far is durable.
    pub async fn sync_store(&self) -> Result<Durable, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::SyncStore(tx))
            .map_err(|_| AuditError::Unavailable)?;
        rx.await.map_err(|_| AuditError::Unavailable)?
    }

    /// The last durable entry.
    pub fn head(&self) -> Head {
        self.shared.head.read().clone()
    }

    /// Blocks until an entry after `after` is durable or `timeout` passes; returns the head seq.
    pub fn wait_for_commit(&self, after: u64, timeout: std::time::Duration) -> u64 {
        let (seq, signal) = &self.shared.committed;
        let mut seq = seq.lock();
        if *seq <= after {
            let _ = signal.wait_for(&mut seq, timeout);
        }
        *seq
    }

    /// Installs the commit observer (once).
    pub fn set_observer(&self, observer: CommitObserver) {
        let _ = self.shared.observer.set(observer);
    }

    /// Installs the free-disk watermark (once): from then on a batch is refused while the data
    /// dir's file system is below it.
    pub fn set_space_guard(&self, guard: Arc<SpaceGuard>) {
        let _ = self.shared.space.set(guard);
    }

    /// Whether entries are being refused for lack of free disk space (re-checked if stale).
    pub fn disk_low(&self) -> bool {
        self.shared.space.get().is_some_and(|g| g.is_low())
    }

    /// Whether a failed sync has stopped the writer.
    pub fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::SeqCst)
    }

    /// Counters.
    pub fn stats(&self) -> &WriterStats {
        &self.shared.stats
    }
}

struct Worker {
    rx: Receiver<Request>,
    chain: Box<dyn ChainSink>,
    clock: SharedClock,
    store_sync: StoreSync,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(mut self) {
        while let Ok(first) = self.rx.recv() {
            let mut batch = vec![first];
            batch.extend(self.rx.try_iter().take(MAX_BATCH - 1));
            if self.shared.poisoned.load(Ordering::SeqCst) {
                fail_all(batch);
                continue;
            }
            if let Some(space) = self.shared.space.get()
                && batch.iter().any(Request::is_append)
                && !space.has_room()
            {
                let (refused, rest): (Vec<_>, Vec<_>) =
                    batch.into_iter().partition(Request::is_append);
                self.shared
                    .stats
                    .refused_low_disk
                    .fetch_add(refused.len() as u64, Ordering::Relaxed);
                fail_all(refused);
                if rest.is_empty() {
                    continue;
                }
                batch = rest;
            }
            let started = Instant::now();
            let mut store_sync = false;
            let mut entries: Vec<Pending<'_>> = Vec::with_capacity(batch.len());
            for req in &batch {
                match req {
                    Request::Append(entry, sync, change, _) => {
                        store_sync |= *sync;
                        entries.push(Pending {
                            entry,
                            change: change.as_ref(),
                        });
                    }
                    Request::SyncStore(_) => store_sync = true,
                }
            }
            let sent = entries.len() as u64;
            let previous = self.shared.head.read().clone();
            let result = self.commit(&entries, &previous, store_sync);
            drop(entries);
            let refused = result.as_ref().map_or(0, |c| c.refused.len() as u64);
            let appended = sent - refused;
            let took = started.elapsed();
            self.shared
                .stats
                .commit_nanos
                .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
            if let Some(observe) = self.shared.observer.get() {
                observe(appended, took, result.is_ok());
            }
            match result {
                Ok(Committed { head, refused }) => {
                    let start_seq = head.seq - appended;
                    *self.shared.head.write() = head.clone();
                    *self.shared.committed.0.lock() = head.seq;
                    self.shared.committed.1.notify_all();
                    self.shared.stats.batches.fetch_add(1, Ordering::Relaxed);
                    self.shared
                        .stats
                        .entries
                        .fetch_add(appended, Ordering::Relaxed);
                    if store_sync {
                        self.shared
                            .stats
                            .store_syncs
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    let mut seq = start_seq;
                    let mut refused = refused.into_iter().peekable();
                    let mut index = 0;
                    for req in batch {
                        match req {
                            Request::Append(entry, _, _, reply) => {
                                let this = index;
                                index += 1;
                                if let Some((_, label)) = refused.next_if(|(i, _)| *i == this) {
                                    let _ = reply.send(Err(AuditError::Conflict(label)));
                                    continue;
                                }
                                seq += 1;
                                let _ = reply.send(Ok(Recorded::of(seq, &entry)));
                            }
                            Request::SyncStore(reply) => {
                                let _ = reply.send(Ok(Durable(())));
                            }
                        }
                    }
                    if let Err(e) = self.chain.after_commit(head.seq + 1) {
                        tracing::error!(error = %e, "audit segment rollover failed; refusing further entries");
                        self.shared.poisoned.store(true, Ordering::SeqCst);
                    }
                }
                Err(poison) => {
                    self.shared.stats.failures.fetch_add(1, Ordering::Relaxed);
                    if poison {
                        self.shared.poisoned.store(true, Ordering::SeqCst);
                    }
                    fail_all(batch);
                }
            }
        }
    }

    /// Commits the entries (if any), then syncs the store if asked; `Err(true)` when the
    /// durable state can no longer be trusted.
    fn commit(
        &mut self,
        entries: &[Pending<'_>],
        previous: &Head,
        store_sync: bool,
    ) -> Result<Committed, bool> {
        let committed = if entries.is_empty() {
            Committed {
                head: previous.clone(),
                refused: Vec::new(),
            }
        } else {
            let clock = &self.clock;
            let mut now = || rfc3339(clock.now());
            match self.chain.commit(entries, previous, &mut now) {
                Ok(h) => h,
                Err(CommitError::Rejected) => return Err(false),
                Err(CommitError::Poisoned) => return Err(true),
            }
        };
        if store_sync && let Err(e) = (self.store_sync)() {
            tracing::error!(error = %e, "store sync failed; refusing further requests");
            return Err(true);
        }
        Ok(committed)
    }
}

fn fail_all(batch: Vec<Request>) {
    for req in batch {
        match req {
            Request::Append(_, _, _, reply) => {
                let _ = reply.send(Err(AuditError::Unavailable));
            }
            Request::SyncStore(reply) => {
                let _ = reply.send(Err(AuditError::Unavailable));
            }
        }
    }
}

#[cfg(test)]
mod tests;
