//! The free-disk watermark (`[server] min_free_disk_mb`, CONTRACT §4): below it on the data
//! dir's file system, the audit writer refuses new entries, so every audited request fails
//! closed with 503 *before* anything is written — long before sled or a segment could be cut
//! short by a full disk — and the vault recovers by itself once space is freed.
//!
//! `statvfs` is cheap but not free, so the answer is cached and re-read at most every 250 ms
//! (the writer asks once per group commit; `/healthz` asks too, so an idle vault notices
//! recovery). A state change is logged once, never per request. It must never make the vault
//! accept a write it would otherwise refuse: the test seam (`danger_free_disk_cap_file`) can only
//! lower the free space it sees.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_millis(250);
const MIB: u64 = 1024 * 1024;

/// Whether the data dir's file system has room for audited writes.
pub struct SpaceGuard {
    dir: PathBuf,
    min_free: u64,
    cap_file: Option<PathBuf>,
    checked: parking_lot::Mutex<Option<Instant>>,
    low: AtomicBool,
    free: AtomicU64,
}

impl std::fmt::Debug for SpaceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpaceGuard")
            .field("dir", &self.dir)
            .field("min_free", &self.min_free)
            .field("low", &self.low)
            .finish_non_exhaustive()
    }
}

impl SpaceGuard {
    /// Watches the file system of `dir`; `min_free_mb = 0` never refuses. `cap_file`: a file
    /// holding a number of MiB that caps the free space seen (tests only).
    pub fn new(dir: &Path, min_free_mb: u64, cap_file: Option<PathBuf>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            min_free: min_free_mb.saturating_mul(MIB),
            cap_file,
            checked: parking_lot::Mutex::new(None),
            low: AtomicBool::new(false),
            free: AtomicU64::new(u64::MAX),
        }
    }

    /// Whether there is room for audited writes (re-read if the last look is over 250 ms old).
    pub fn has_room(&self) -> bool {
        self.refresh();
        !self.low.load(Ordering::Acquire)
    }

    /// Whether the last look found the space below the watermark (re-read if stale).
    pub fn is_low(&self) -> bool {
        !self.has_room()
    }

    /// Free bytes at the last look (`u64::MAX` before the first).
    pub fn free_bytes(&self) -> u64 {
        self.free.load(Ordering::Relaxed)
    }

    fn refresh(&self) {
        if self.min_free == 0 {
            return;
        }
        {
            let mut checked = self.checked.lock();
            if checked.is_some_and(|at| at.elapsed() < REFRESH) {
                return;
            }
            *checked = Some(Instant::now());
        }
        let free = match rustix::fs::statvfs(&self.dir) {
            Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
            Err(e) => {
                // Keep the last verdict: a failed look proves nothing either way, and a truly
                // full disk still fails the append itself (closed).
                tracing::warn!(error = %e, dir = %self.dir.display(), "cannot read the free disk space");
                return;
            }
        };
        let free = match self.cap() {
            Some(cap) => free.min(cap),
            None => free,
        };
        self.free.store(free, Ordering::Relaxed);
        let low = free < self.min_free;
        if self.low.swap(low, Ordering::AcqRel) != low {
            if low {
                tracing::error!(
                    free_mb = free / MIB,
                    min_free_mb = self.min_free / MIB,
                    dir = %self.dir.display(),
                    "free disk space is below server.min_free_disk_mb: refusing every audited request (503) until space is freed"
                );
            } else {
                tracing::info!(
                    free_mb = free / MIB,
                    "free disk space is back above server.min_free_disk_mb: serving again"
                );
            }
        }
    }

    fn cap(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.cap_file.as_ref()?).ok()?;
        text.trim()
            .parse::<u64>()
            .ok()
            .map(|mb| mb.saturating_mul(MIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_only_lowers_what_is_seen_and_recovery_is_automatic() {
        let dir = tempfile::tempdir().unwrap();
        let cap = dir.path().join("cap");
        std::fs::write(&cap, "0").unwrap();
        let guard = SpaceGuard::new(dir.path(), 1, Some(cap.clone()));
        assert!(!guard.has_room());
        assert_eq!(guard.free_bytes(), 0);
        std::fs::write(&cap, "999999999").unwrap();
        *guard.checked.lock() = None; // skip the 250 ms cache
        assert!(
            guard.has_room(),
            "a high cap cannot add space, only the real value is left"
        );
        assert!(guard.free_bytes() < 999_999_999 * MIB);
    }

    #[test]
    fn zero_disables_the_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let cap = dir.path().join("cap");
        std::fs::write(&cap, "0").unwrap();
        assert!(SpaceGuard::new(dir.path(), 0, Some(cap)).has_room());
    }
}
