//! Key slots: the only copy of each wrapped record key, in a file overwritten in place.
//!
//! Why not a sled value: sled is log-structured, so an overwritten or deleted value stays in its
//! data file until compaction — a "destroyed" record key would still be on disk. Crypto-shredding
//! needs a place where deletion is a real overwrite: `DATA_DIR/keyslots.bin`, fixed 64-byte slots
//! (`0x01 || length (1 byte) || sealed key (60 bytes) || 0 0`), zeroed and `fdatasync`ed on delete. A slot of
//! zeros is free. (A file system that keeps old blocks — copy-on-write, snapshots, SSD remapping —
//! can still hold the old bytes; see SECURITY.md.)

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use parking_lot::Mutex;

/// Bytes per slot.
pub(crate) const SLOT_LEN: usize = 64;
const IN_USE: u8 = 1;
const MAX_SEALED: usize = SLOT_LEN - 4;

struct Allocation {
    next: u64,
    free: Vec<u64>,
}

/// Where wrapped record keys live, one per numbered slot: the only copy of each, so that
/// destroying it (`shred`) crypto-shreds the record. A file of fixed slots overwritten in place
/// on sled (`FileSlots`); a table on PostgreSQL (`PgSlots`).
pub trait KeySlots: Send + Sync {
    /// Stores `sealed` in a free slot and returns its number (durable after `sync`).
    fn put(&self, sealed: &[u8]) -> io::Result<u64>;
    /// The sealed key in `slot`, or `None` if the slot is free (shredded).
    fn get(&self, slot: u64) -> io::Result<Option<Vec<u8>>>;
    /// Destroys the key in `slot` (durable after `sync`). A shredded slot number is never handed
    /// out again before that shred is durable.
    fn shred(&self, slot: u64) -> io::Result<()>;
    /// Makes every put and shred durable.
    fn sync(&self) -> io::Result<()>;
    /// Shortens how long destroyed keys linger in the engine's own files (housekeeping). The
    /// slot file overwrites in place, so it has nothing to do; a table reclaims dead rows.
    fn reclaim(&self) -> io::Result<()> {
        Ok(())
    }
}

/// The slot file.
pub struct FileSlots {
    file: File,
    alloc: Mutex<Allocation>,
}

impl FileSlots {
    /// Opens (or creates) the slot file; zeroed slots become the free list.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        let len = file.metadata()?.len();
        let slots = len / SLOT_LEN as u64;
        let mut free = Vec::new();
        let mut buf = vec![0u8; SLOT_LEN * 4096];
        let mut slot = 0u64;
        while slot < slots {
            let n = ((slots - slot) as usize).min(4096);
            file.read_exact_at(&mut buf[..n * SLOT_LEN], slot * SLOT_LEN as u64)?;
            for (i, chunk) in buf[..n * SLOT_LEN].chunks(SLOT_LEN).enumerate() {
                if chunk[0] != IN_USE {
                    free.push(slot + i as u64);
                }
            }
            slot += n as u64;
        }
        free.reverse();
        Ok(Self {
            file,
            alloc: Mutex::new(Allocation { next: slots, free }),
        })
    }
}

impl FileSlots {
    /// How many slots the file has room for (used and free): every slot number handed out so
    /// far is below it (`store copy` reads them all and keeps numbers from here on unused).
    pub fn slot_count(&self) -> u64 {
        self.alloc.lock().next
    }
}

impl KeySlots for FileSlots {
    /// Stores `sealed` in a free slot and returns its number (not durable until `sync`).
    fn put(&self, sealed: &[u8]) -> io::Result<u64> {
        if sealed.len() > MAX_SEALED {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sealed key too long for a slot",
            ));
        }
        let slot = {
            let mut a = self.alloc.lock();
            match a.free.pop() {
                Some(s) => s,
                None => {
                    a.next += 1;
                    a.next - 1
                }
            }
        };
        let mut buf = [0u8; SLOT_LEN];
        buf[0] = IN_USE;
        buf[1] = sealed.len() as u8;
        buf[2..2 + sealed.len()].copy_from_slice(sealed);
        self.file.write_all_at(&buf, slot * SLOT_LEN as u64)?;
        Ok(slot)
    }

    /// The sealed key in `slot`, or `None` if the slot is free (shredded).
    fn get(&self, slot: u64) -> io::Result<Option<Vec<u8>>> {
        let mut buf = [0u8; SLOT_LEN];
        match self.file.read_exact_at(&mut buf, slot * SLOT_LEN as u64) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = buf[1] as usize;
        if buf[0] != IN_USE || len > MAX_SEALED {
            return Ok(None);
        }
        Ok(Some(buf[2..2 + len].to_vec()))
    }

    /// Overwrites `slot` with zeros (durable after `sync`). The slot is reused only after a
    /// restart, so a slot shredded by a request is never handed out before that request's sync.
    fn shred(&self, slot: u64) -> io::Result<()> {
        if slot >= self.alloc.lock().next {
            // Never handed out: nothing to destroy (and no reason to grow the file).
            return Ok(());
        }
        self.file
            .write_all_at(&[0u8; SLOT_LEN], slot * SLOT_LEN as u64)
    }

    /// Makes every put and shred durable.
    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_slots_conform() {
        let dir = tempfile::tempdir().unwrap();
        crate::store::conformance::check_slots(
            &FileSlots::open(&dir.path().join("keyslots.bin")).unwrap(),
        );
    }

    #[test]
    fn put_get_shred_and_reuse_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyslots.bin");
        let slots = FileSlots::open(&path).unwrap();
        let a = slots.put(&[7u8; 60]).unwrap();
        let b = slots.put(&[9u8; 60]).unwrap();
        assert_ne!(a, b);
        assert_eq!(slots.get(a).unwrap(), Some(vec![7u8; 60]));
        slots.shred(a).unwrap();
        slots.sync().unwrap();
        assert_eq!(slots.get(a).unwrap(), None);
        assert_eq!(slots.get(99).unwrap(), None, "beyond the end is free");
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(60).any(|w| w == [7u8; 60]),
            "shredded bytes are gone from the file"
        );
        drop(slots);
        let slots = FileSlots::open(&path).unwrap();
        assert_eq!(
            slots.put(&[1u8; 60]).unwrap(),
            a,
            "a zeroed slot is reused after a restart"
        );
        assert_eq!(slots.get(b).unwrap(), Some(vec![9u8; 60]));
        assert!(slots.put(&[0u8; 61]).is_err());
    }
}
