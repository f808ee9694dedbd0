//! Segment files: `DATA_DIR/audit/<first seq, 20 digits>.jsonl`, append-only JSON Lines.
//!
//! Recovery on start: only the part of the log written after the last completed `fdatasync` can
//! be damaged by a crash, and nothing in it was acknowledged. So the last segment is checked
//! line by line; whatever follows the longest intact prefix is a torn write: it is copied to a
//! `torn-*.bin` file for forensics and cut off. Damage larger than any single batch could leave
//! is not a torn write, and start-up refuses rather than destroy evidence.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::entry::{EntryRef, GENESIS_HASH};

/// Segments roll over past this size, bounding start-up recovery time.
pub(crate) const SEGMENT_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// The most a crash can tear: larger damage is tampering or disk failure, not a torn batch.
const MAX_TORN_BYTES: u64 = 8 * 1024 * 1024;

/// The position of the chain: last sequence number and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// 0 for an empty log.
    pub seq: u64,
    /// `GENESIS_HASH` for an empty log.
    pub hash: String,
}

impl Head {
    /// The head of an empty log.
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// What recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes cut from the end of the last segment.
    pub truncated_bytes: u64,
    /// Where they were saved.
    pub quarantined: Option<PathBuf>,
}

/// The audit directory.
#[derive(Debug, Clone)]
pub struct SegmentDir {
    dir: PathBuf,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl SegmentDir {
    /// `DATA_DIR/audit`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn segment_path(&self, first_seq: u64) -> PathBuf {
        self.dir.join(format!("{first_seq:020}.jsonl"))
    }

    /// Segments as (first seq, path), oldest first.
    pub fn list(&self) -> io::Result<Vec<(u64, PathBuf)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(stem) = name.strip_suffix(".jsonl")
                && stem.len() == 20
                && stem.bytes().all(|b| b.is_ascii_digit())
            {
                out.push((
                    stem.parse()
                        .map_err(|_| invalid(format!("bad segment name {name}")))?,
                    path,
                ));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Creates the directory with the first, empty segment.
    pub fn create(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        File::create(self.segment_path(1))?.sync_all()?;
        sync_dir(&self.dir)
    }

    /// Finds the head, cutting off a torn tail of the last segment first.
    pub fn recover(&self) -> io::Result<(Head, RecoveryReport, (u64, PathBuf))> {
        let segments = self.list()?;
        let Some((first_seq, path)) = segments.last().cloned() else {
            return Err(invalid("no audit segment files".into()));
        };
        let start = match segments.len() {
            1 => Head::genesis(),
            n => last_entry_head(&segments[n - 2].1)?.unwrap_or_else(|| Head {
                seq: first_seq - 1,
                hash: String::new(),
            }),
        };
        if start.seq + 1 != first_seq {
            return Err(invalid(format!(
                "segment {} does not follow the previous one",
                path.display()
            )));
        }
        let mut bytes = Vec::new();
        File::open(&path)?.read_to_end(&mut bytes)?;
        let (head, good_len) = intact_prefix(&bytes, start);
        let mut report = RecoveryReport::default();
        let damaged = bytes.len() as u64 - good_len;
        if damaged > 0 {
            if damaged > MAX_TORN_BYTES {
                return Err(invalid(format!(
                    "audit segment {} is damaged after entry {} ({damaged} bytes): more than a torn write; run `hrvault audit verify` and investigate",
                    path.display(),
                    head.seq
                )));
            }
            let q = self
                .dir
                .join(format!("torn-{:020}-{}.bin", head.seq + 1, damaged));
            let mut qf = File::create(&q)?;
            qf.write_all(&bytes[good_len as usize..])?;
            qf.sync_all()?;
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(good_len)?;
            f.sync_all()?;
            sync_dir(&self.dir)?;
            report = RecoveryReport {
                truncated_bytes: damaged,
                quarantined: Some(q),
            };
        }
        Ok((head, report, (first_seq, path)))
    }
}

/// Length of the longest prefix of whole lines that parse, follow each other and hash correctly.
fn intact_prefix(bytes: &[u8], start: Head) -> (Head, u64) {
    let mut head = start;
    let mut good = 0usize;
    let mut scratch = Vec::new();
    let mut pos = 0usize;
    while let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') {
        let line = &bytes[pos..pos + nl];
        let Ok(e) = serde_json::from_slice::<EntryRef<'_>>(line) else {
            break;
        };
        let links = head.hash.is_empty() || e.prev_hash == head.hash;
        if e.seq != head.seq + 1 || !links || e.computed_hash(&mut scratch) != e.hash {
            break;
        }
        head = Head {
            seq: e.seq,
            hash: e.hash.into_owned(),
        };
        pos += nl + 1;
        good = pos;
    }
    (head, good as u64)
}

/// The head at the end of a (sealed, complete) segment.
fn last_entry_head(path: &Path) -> io::Result<Option<Head>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let take = len.min(1024 * 1024);
    f.seek(SeekFrom::Start(len - take))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
    let line = body.rsplit(|&b| b == b'\n').next().unwrap_or(&[]);
    if line.is_empty() {
        return Ok(None);
    }
    let e: EntryRef<'_> = serde_json::from_slice(line)
        .map_err(|_| invalid(format!("last entry of {} is malformed", path.display())))?;
    Ok(Some(Head {
        seq: e.seq,
        hash: e.hash.into_owned(),
    }))
}

/// fsync a directory so that created or renamed files in it survive power loss.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, Actor, NewEntry, Outcome};

    fn lines(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        let mut scratch = Vec::new();
        for seq in 1..=n {
            let e = NewEntry::new(Actor::default(), Action::AuthLogin, Outcome::Success).seal(
                seq,
                "2026-01-01T00:00:00.000000Z",
                &prev,
                &mut scratch,
            );
            prev = e.hash.to_string();
            out.extend_from_slice(serde_json::to_string(&e).unwrap().as_bytes());
            out.push(b'\n');
        }
        out
    }

    fn dir_with(bytes: &[u8]) -> (tempfile::TempDir, SegmentDir) {
        let t = tempfile::tempdir().unwrap();
        let d = SegmentDir::new(t.path().join("audit"));
        d.create().unwrap();
        fs::write(d.segment_path(1), bytes).unwrap();
        (t, d)
    }

    #[test]
    fn intact_log_recovers_its_head() {
        let (_t, d) = dir_with(&lines(5));
        let (head, report, _) = d.recover().unwrap();
        assert_eq!(head.seq, 5);
        assert_eq!(report, RecoveryReport::default());
    }

    #[test]
    fn torn_last_line_is_cut_and_kept_aside() {
        let mut bytes = lines(5);
        let full = bytes.len();
        bytes.extend_from_slice(&lines(6)[full..full + 40]); // half of entry 6, no newline
        let (_t, d) = dir_with(&bytes);
        let (head, report, (_, path)) = d.recover().unwrap();
        assert_eq!(head.seq, 5);
        assert_eq!(report.truncated_bytes, 40);
        assert_eq!(fs::read(&path).unwrap().len(), full);
        assert_eq!(fs::read(report.quarantined.unwrap()).unwrap().len(), 40);
    }

    #[test]
    fn zero_filled_tail_after_a_crash_is_cut() {
        let mut bytes = lines(3);
        bytes.extend_from_slice(&[0u8; 4096]);
        bytes.push(b'\n');
        let (_t, d) = dir_with(&bytes);
        let (head, report, _) = d.recover().unwrap();
        assert_eq!((head.seq, report.truncated_bytes), (3, 4097));
    }

    #[test]
    fn empty_log_is_genesis() {
        let (_t, d) = dir_with(b"");
        assert_eq!(d.recover().unwrap().0, Head::genesis());
    }
}
