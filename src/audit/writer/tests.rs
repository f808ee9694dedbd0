use super::*;
use crate::audit::{Action, Actor, Outcome};
use crate::clock::SystemClock;

struct FailingSink {
    fail_append: bool,
}

impl LogSink for FailingSink {
    fn append(&mut self, _: &[u8]) -> io::Result<()> {
        if self.fail_append {
            Err(io::Error::other("disk full"))
        } else {
            Ok(())
        }
    }
    fn sync(&mut self) -> io::Result<()> {
        Err(io::Error::other("EIO"))
    }
    fn after_commit(&mut self, _: u64) -> io::Result<()> {
        Ok(())
    }
}

/// A writer on a new segment directory under `root`, with `store_sync` as its store sync;
/// also returns the directory and the current segment's path.
fn file_log(
    root: &std::path::Path,
    store_sync: StoreSync,
) -> (AuditLog, SegmentDir, std::path::PathBuf) {
    let dir = SegmentDir::new(root.join("audit"));
    dir.create().unwrap();
    let (head, _, (_, path)) = dir.recover(false).unwrap();
    let sink = Box::new(FileSink::open(dir.clone(), path.clone()).unwrap());
    let log = AuditLog::start(sink, head, Arc::new(SystemClock), store_sync).unwrap();
    (log, dir, path)
}

fn entry() -> NewEntry {
    NewEntry::new(Actor::default(), Action::EmployeeRead, Outcome::Success)
}

#[tokio::test]
async fn appends_are_sequenced_and_durable_before_ack() {
    let t = tempfile::tempdir().unwrap();
    let (log, dir, _) = file_log(t.path(), Box::new(|| Ok(())));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.append(entry()).await.unwrap().seq()
        }));
    }
    let mut seqs: Vec<u64> = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=64).collect::<Vec<_>>());
    assert_eq!(log.head().seq, 64);
    assert!(log.stats().batches.load(Ordering::Relaxed) <= 64);
    // What was acknowledged is on disk and recovers to the same head.
    drop(log);
    let (again, report, _) = dir.recover(false).unwrap();
    assert_eq!(again.seq, 64);
    assert_eq!(report.truncated_bytes, 0);
}

#[tokio::test]
async fn a_failed_sync_fails_closed_and_poisons() {
    let log = AuditLog::start(
        Box::new(FailingSink { fail_append: false }),
        Head::genesis(),
        Arc::new(SystemClock),
        Box::new(|| Ok(())),
    )
    .unwrap();
    assert_eq!(log.append(entry()).await, Err(AuditError::Unavailable));
    assert!(log.is_poisoned());
    assert_eq!(log.append(entry()).await, Err(AuditError::Unavailable));
    assert_eq!(
        log.head().seq,
        0,
        "nothing failed is ever counted as committed"
    );
}

#[tokio::test]
async fn low_disk_refuses_entries_without_writing_and_recovers() {
    let t = tempfile::tempdir().unwrap();
    let (log, _, path) = file_log(t.path(), Box::new(|| Ok(())));
    let cap = t.path().join("cap");
    std::fs::write(&cap, "0").unwrap();
    log.set_space_guard(Arc::new(SpaceGuard::new(t.path(), 1, Some(cap.clone()))));
    assert_eq!(log.append(entry()).await, Err(AuditError::Unavailable));
    assert!(log.sync_store().await.is_ok(), "store syncs still run");
    assert!(!log.is_poisoned() && log.disk_low());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "nothing written"
    );
    std::fs::remove_file(&cap).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let seq = loop {
        // The guard re-reads the space at most every 250 ms.
        assert!(std::time::Instant::now() < deadline, "never recovered");
        match log.append(entry()).await {
            Ok(r) => break r.seq(),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    assert_eq!(seq, 1);
    assert!(!log.disk_low());
}

#[tokio::test]
async fn a_failed_append_fails_the_batch() {
    let log = AuditLog::start(
        Box::new(FailingSink { fail_append: true }),
        Head::genesis(),
        Arc::new(SystemClock),
        Box::new(|| Ok(())),
    )
    .unwrap();
    assert_eq!(log.append(entry()).await, Err(AuditError::Unavailable));
    assert_eq!(log.head().seq, 0);
}

#[tokio::test]
async fn a_failed_store_sync_fails_closed() {
    let t = tempfile::tempdir().unwrap();
    let (log, _, _) = file_log(t.path(), Box::new(|| Err("EIO".into())));
    assert!(log.sync_store().await.is_err());
    assert!(log.is_poisoned());
}
