//! Sealed records waiting for the import's audit entry.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::ImportError;
use crate::model::EmployeeId;
use crate::store::StoredEmployee;

/// Sealed records waiting for the import's audit entry, in an unnamed temporary file.
///
/// Frame: line (u64 LE), length (u32 LE), `StoredEmployee::to_bytes`.
pub(super) struct Spool {
    out: BufWriter<File>,
    /// Key slot of every spooled record, in order: released if the import is abandoned.
    pub(super) slots: Vec<u64>,
    /// Id of every spooled record, in order: the audit entry lists them.
    pub(super) ids: Vec<EmployeeId>,
    /// Records written (kept apart from `ids` and `slots`, which the caller takes).
    pub(super) count: usize,
}

fn spool_err(e: impl std::fmt::Display) -> ImportError {
    ImportError::Spool(e.to_string())
}

impl Spool {
    pub(super) fn new(dir: &Path) -> Result<Self, ImportError> {
        Ok(Spool {
            out: BufWriter::new(tempfile::tempfile_in(dir).map_err(spool_err)?),
            slots: Vec::new(),
            ids: Vec::new(),
            count: 0,
        })
    }

    pub(super) fn push(&mut self, line: u64, rec: &StoredEmployee) -> Result<(), ImportError> {
        let bytes = rec.to_bytes();
        let len = u32::try_from(bytes.len()).map_err(|_| spool_err("record too large"))?;
        self.out.write_all(&line.to_le_bytes()).map_err(spool_err)?;
        self.out.write_all(&len.to_le_bytes()).map_err(spool_err)?;
        self.out.write_all(&bytes).map_err(spool_err)?;
        self.slots.push(rec.record_key.slot);
        self.ids.push(rec.id);
        self.count += 1;
        Ok(())
    }

    /// Reads the records back in the order they were pushed.
    pub(super) fn drain(self) -> Result<SpoolReader, ImportError> {
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| spool_err(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
        Ok(SpoolReader {
            input: BufReader::new(file),
            left: self.count,
        })
    }
}

pub(super) struct SpoolReader {
    input: BufReader<File>,
    left: usize,
}

impl Iterator for SpoolReader {
    type Item = Result<(u64, StoredEmployee), ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut head = [0u8; 12];
        let read = (|| {
            self.input.read_exact(&mut head).map_err(spool_err)?;
            let line = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(head[8..].try_into().unwrap_or_default()) as usize;
            let mut body = vec![0u8; len];
            self.input.read_exact(&mut body).map_err(spool_err)?;
            let rec = StoredEmployee::from_bytes(&body).map_err(spool_err)?;
            Ok((line, rec))
        })();
        if read.is_err() {
            self.left = 0;
        }
        Some(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::sample_employee;

    #[test]
    fn spool_gives_back_every_record_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let recs: Vec<_> = (0..100u8)
            .map(|i| sample_employee(&format!("E{i}"), i, "2026-01-01T00:00:00Z"))
            .collect();
        for (i, r) in recs.iter().enumerate() {
            spool.push(i as u64 + 2, r).unwrap();
        }
        assert_eq!(spool.ids, recs.iter().map(|r| r.id).collect::<Vec<_>>());
        // The caller takes the ids for the audit entry before reading the records back.
        drop(std::mem::take(&mut spool.ids));
        let back: Vec<_> = spool.drain().unwrap().map(Result::unwrap).collect();
        assert_eq!(back.len(), recs.len());
        for (i, (line, rec)) in back.into_iter().enumerate() {
            assert_eq!((line, &rec), (i as u64 + 2, &recs[i]));
        }
        // The spool is unnamed: nothing is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_damaged_spool_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        spool
            .push(2, &sample_employee("E1", 1, "2026-01-01T00:00:00Z"))
            .unwrap();
        // Claim a second record that was never written.
        spool.count += 1;
        let mut reader = spool.drain().unwrap();
        assert!(reader.next().unwrap().is_ok());
        assert!(matches!(reader.next(), Some(Err(ImportError::Spool(_)))));
        assert!(reader.next().is_none());
    }
}
