//! Segment files: `DATA_DIR/audit/<first seq, 20 digits>.jsonl`, append-only JSON Lines.
//!
//! Recovery on start: only the part of the log written after the last completed `fdatasync` can
//! be damaged by a crash, and nothing in it was acknowledged. The writer ends every batch with
//! `\n`, so a crash can only leave an unterminated end of the last segment: that torn write is
//! copied to a `torn-*.bin` file for forensics and cut off. Everything else is judged by `scan`,
//! the parser `audit verify` uses too; damage anywhere is not a torn write, and start-up refuses
//! rather than destroy evidence.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::entry::{EntryRef, GENESIS_HASH};
use super::scan::TornTail;
use super::verify::Verdict;

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
    ///
    /// Judged by `scan`, the same parser as `audit verify`: the only thing repaired is a torn
    /// write, the unterminated end of the last segment (the writer ends every batch with `\n`,
    /// so that is all a crash can leave). Anything else — a complete line that is not the next
    /// intact entry, a blank line, a CRLF, damage in an earlier segment — is damage: nothing is
    /// cut and start-up refuses, naming the segment and the entry, unless `accept_damage` is
    /// set, in which case the damage stays in place for `audit verify` to report and the chain
    /// continues after the last entry.
    pub fn recover(
        &self,
        accept_damage: bool,
    ) -> io::Result<(Head, RecoveryReport, (u64, PathBuf))> {
        let segments = self.list()?;
        let Some((first_seq, path)) = segments.last().cloned() else {
            return Err(invalid("no audit segment files".into()));
        };
        let scan = self.scan(None)?;
        let head = match scan.verdict {
            Verdict::Intact { head, .. } => Head {
                seq: head.seq,
                hash: head.hash,
            },
            Verdict::Broken {
                first_bad_seq,
                reason,
            } => {
                let file = scan.damaged_segment.unwrap_or_else(|| path.clone());
                if !accept_damage {
                    return Err(invalid(format!(
                        "the audit log is damaged at entry {first_bad_seq} in {}: {reason}. \
                         Refusing to start rather than destroy evidence. Run `hrvault audit verify --data-dir ...`, keep a copy of the segment, \
                         then restore it from a backup or start with --danger-accept-damaged-audit-log",
                        file.display()
                    )));
                }
                let head = continuation_head(&segments)?;
                tracing::error!(
                    first_bad_seq,
                    continuing_after = head.seq,
                    "the audit log is damaged; continuing after its last entry as instructed"
                );
                head
            }
        };
        let report = match scan.torn_tail {
            Some(torn) => self.cut(&torn, &head)?,
            None => RecoveryReport::default(),
        };
        Ok((head, report, (first_seq, path)))
    }

    /// Moves the torn tail of `torn.path` to a `torn-*.bin` file, then truncates the segment.
    fn cut(&self, torn: &TornTail, head: &Head) -> io::Result<RecoveryReport> {
        if torn.len == 0 {
            return Ok(RecoveryReport::default());
        }
        if torn.len > MAX_TORN_BYTES {
            return Err(invalid(format!(
                "audit segment {} has {} unterminated bytes after entry {}: more than a torn write; run `hrvault audit verify` and investigate",
                torn.path.display(),
                torn.len,
                head.seq
            )));
        }
        let mut bytes = Vec::with_capacity(torn.len as usize);
        let mut f = File::open(&torn.path)?;
        f.seek(SeekFrom::Start(torn.offset))?;
        f.take(torn.len).read_to_end(&mut bytes)?;
        let q = self
            .dir
            .join(format!("torn-{:020}-{}.bin", head.seq + 1, torn.len));
        let mut qf = File::create(&q)?;
        qf.write_all(&bytes)?;
        qf.sync_all()?;
        let f = OpenOptions::new().write(true).open(&torn.path)?;
        f.set_len(torn.offset)?;
        f.sync_all()?;
        sync_dir(&self.dir)?;
        Ok(RecoveryReport {
            truncated_bytes: torn.len,
            quarantined: Some(q),
        })
    }
}

/// Where a damaged log accepted with `--danger-accept-damaged-audit-log` goes on: after the
/// highest entry of the last segment that parses at all, else after the previous segment's last
/// entry, so that no sequence number is reused.
fn continuation_head(segments: &[(u64, PathBuf)]) -> io::Result<Head> {
    let Some((first_seq, path)) = segments.last() else {
        return Ok(Head::genesis());
    };
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let complete_end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if let Some(head) = last_parseable(&bytes[..complete_end]) {
        return Ok(head);
    }
    if *first_seq <= 1 {
        return Ok(Head::genesis());
    }
    let prev = match segments.len() {
        n if n >= 2 => last_entry_head(&segments[n - 2].1).ok().flatten(),
        _ => None,
    };
    Ok(prev
        .filter(|h| h.seq + 1 == *first_seq)
        .unwrap_or_else(|| Head {
            seq: first_seq - 1,
            hash: String::new(),
        }))
}

/// The last complete line of `region` that is an entry at all (whatever its hash or link).
fn last_parseable(region: &[u8]) -> Option<Head> {
    region
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<EntryRef<'_>>(line).ok())
        .map(|e| Head {
            seq: e.seq,
            hash: e.hash.into_owned(),
        })
        .max_by_key(|h| h.seq)
}

/// The head at the end of a (sealed, complete) segment. Reads backwards from the end until the
/// start of the last line, so an entry of any size (a large import's id list) is found.
fn last_entry_head(path: &Path) -> io::Result<Option<Head>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut end = len;
    let mut tail: Vec<u8> = Vec::new();
    const STEP: u64 = 64 * 1024;
    loop {
        let start = end.saturating_sub(STEP);
        let mut chunk = vec![0u8; (end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
        if start == 0 || body.contains(&b'\n') {
            break;
        }
        end = start;
    }
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
mod tests;
