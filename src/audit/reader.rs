//! Reading the log: filtered pages for `GET /v1/audit`, bounded by the committed head so that a
//! batch being written is never shown before it is durable.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::entry::{AuditEntry, EntryRef};
use super::segment::SegmentDir;

/// Filters of `GET /v1/audit` (all optional; combined with AND).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Username (case-insensitive) or user id.
    pub actor: Option<String>,
    /// The entry's record, or one of its records.
    pub employee_id: Option<String>,
    /// Exact action name.
    pub action: Option<String>,
    /// `ts >= since` (RFC 3339, same fixed format as entries).
    pub since: Option<String>,
    /// `ts <= until`.
    pub until: Option<String>,
    /// Only entries with `seq > after_seq`.
    pub after_seq: u64,
    /// Only entries with `seq < before_seq`.
    pub before_seq: Option<u64>,
    /// Exact outcome name (`success`, `denied`, `error`).
    pub outcome: Option<String>,
    /// Newest first (the page starts at the highest matching `seq`).
    pub descending: bool,
    /// Page size.
    pub limit: usize,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Matching entries, ascending (descending for a descending query).
    pub entries: Vec<AuditEntry>,
    /// Ascending: pass as `after_seq` for the next page; `None` when the head was reached.
    pub next_after_seq: Option<u64>,
    /// Descending: pass as `before_seq` for the next (older) page; `None` when entry 1 (or
    /// `after_seq`) was reached.
    pub next_before_seq: Option<u64>,
}

/// Entries scanned per request at most, so one query cannot pin a core on a huge log; the page
/// then ends early with a `next_after_seq` to continue from.
const SCAN_BUDGET: u64 = 250_000;

/// A chain kept as numbered lines somewhere other than this process's segment files: the
/// database every node of a cluster appends to. Each line is exactly a segment file's line.
pub trait ChainLines: Send + Sync {
    /// Up to `limit` lines with `after < seq <= upto`, ascending (or highest first if
    /// `descending`), as `(seq, line)`.
    fn lines(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        descending: bool,
    ) -> io::Result<Vec<(u64, String)>>;
}

/// Lines fetched per round trip from a [`ChainLines`].
const LINES_PAGE: usize = 1000;

#[derive(Clone)]
enum Source {
    Segments(SegmentDir),
    Lines(std::sync::Arc<dyn ChainLines>),
}

/// Reads the chain: segment files, or a shared chain's lines.
#[derive(Clone)]
pub struct AuditReader {
    source: Source,
}

impl std::fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Segments(d) => f.debug_tuple("AuditReader").field(d).finish(),
            Source::Lines(_) => f.write_str("AuditReader(shared chain)"),
        }
    }
}

/// Visits the lines of `src` with `after < seq <= upto` in the given order until `f` says stop.
fn scan_lines(
    src: &dyn ChainLines,
    after: u64,
    upto: u64,
    descending: bool,
    mut f: impl FnMut(EntryRef<'_>) -> bool,
) -> io::Result<()> {
    let (mut lo, mut hi) = (after, upto);
    while lo < hi {
        let page = src.lines(lo, hi, LINES_PAGE, descending)?;
        let full = page.len() == LINES_PAGE;
        for (seq, line) in &page {
            if descending {
                hi = seq.saturating_sub(1);
            } else {
                lo = *seq;
            }
            let Ok(e) = serde_json::from_str::<EntryRef<'_>>(line) else {
                continue;
            };
            if !f(e) {
                return Ok(());
            }
        }
        if !full {
            break;
        }
    }
    Ok(())
}

/// Reads the `seq` of a line written by the writer (`{"seq":N,...`) without a full parse.
fn quick_seq(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

impl AuditQuery {
    fn matches(&self, e: &EntryRef<'_>) -> bool {
        if let Some(a) = &self.action
            && e.action != a.as_str()
        {
            return false;
        }
        if let Some(o) = &self.outcome
            && e.outcome != o.as_str()
        {
            return false;
        }
        if let Some(id) = &self.employee_id
            && !e.concerns(id)
        {
            return false;
        }
        if let Some(actor) = &self.actor {
            let by_name = e
                .actor
                .username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(actor));
            if !by_name && e.actor.user_id.as_deref() != Some(actor.as_str()) {
                return false;
            }
        }
        if self.since.as_deref().is_some_and(|s| e.ts.as_ref() < s) {
            return false;
        }
        if self.until.as_deref().is_some_and(|u| e.ts.as_ref() > u) {
            return false;
        }
        true
    }
}

impl AuditReader {
    /// Reads `DATA_DIR/audit`.
    pub fn new(dir: SegmentDir) -> Self {
        Self {
            source: Source::Segments(dir),
        }
    }

    /// Reads a shared chain (cluster mode).
    pub fn over(lines: std::sync::Arc<dyn ChainLines>) -> Self {
        Self {
            source: Source::Lines(lines),
        }
    }

    /// Visits entries with `after < seq <= upto` in order until `f` returns false.
    pub fn scan(
        &self,
        after: u64,
        upto: u64,
        mut f: impl FnMut(EntryRef<'_>) -> bool,
    ) -> io::Result<()> {
        if after >= upto {
            return Ok(());
        }
        let dir = match &self.source {
            Source::Segments(d) => d,
            Source::Lines(l) => return scan_lines(&**l, after, upto, false, f),
        };
        let segments = dir.list()?;
        let start = segments
            .iter()
            .rposition(|(first, _)| *first <= after + 1)
            .unwrap_or(0);
        let mut line = Vec::with_capacity(1024);
        for (_, path) in &segments[start..] {
            let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
                    break;
                }
                // The writer puts `seq` first; anything else is parsed in full so that no entry
                // that exists is skipped (verify reports lines not in the writer's form).
                let seq = match quick_seq(&line) {
                    Some(s) => s,
                    None => match serde_json::from_slice::<EntryRef<'_>>(&line[..line.len() - 1]) {
                        Ok(e) => e.seq,
                        Err(_) => continue,
                    },
                };
                if seq <= after {
                    continue;
                }
                if seq > upto {
                    return Ok(());
                }
                let Ok(e) = serde_json::from_slice::<EntryRef<'_>>(&line[..line.len() - 1]) else {
                    continue;
                };
                if !f(e) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// One page of `GET /v1/audit`, among entries up to `head_seq` (the committed head).
    pub fn query(&self, q: &AuditQuery, head_seq: u64) -> io::Result<QueryPage> {
        let upto = match q.before_seq {
            Some(b) => head_seq.min(b.saturating_sub(1)),
            None => head_seq,
        };
        let mut entries = Vec::new();
        let mut scanned = 0u64;
        let mut full = false;
        let mut visit = |e: EntryRef<'_>| {
            scanned += 1;
            if q.matches(&e) {
                entries.push(e.into_owned());
                if entries.len() >= q.limit {
                    full = true;
                    return false;
                }
            }
            scanned < SCAN_BUDGET
        };
        if q.descending {
            let mut last_seen = upto.saturating_add(1);
            self.scan_rev(q.after_seq, upto, |e| {
                last_seen = e.seq;
                visit(e)
            })?;
            let more = last_seen > q.after_seq + 1 && (full || scanned >= SCAN_BUDGET);
            return Ok(QueryPage {
                entries,
                next_after_seq: None,
                next_before_seq: more.then_some(last_seen),
            });
        }
        let mut last_seen = q.after_seq;
        self.scan(q.after_seq, upto, |e| {
            last_seen = e.seq;
            visit(e)
        })?;
        let next_after_seq = if last_seen < upto && (full || scanned >= SCAN_BUDGET) {
            Some(last_seen)
        } else {
            None
        };
        Ok(QueryPage {
            entries,
            next_after_seq,
            next_before_seq: None,
        })
    }

    /// Visits entries with `after < seq <= upto` newest first until `f` returns false, reading
    /// each segment backwards in blocks (a page near the head costs a few blocks, not the log).
    pub fn scan_rev(
        &self,
        after: u64,
        upto: u64,
        mut f: impl FnMut(EntryRef<'_>) -> bool,
    ) -> io::Result<()> {
        if after >= upto {
            return Ok(());
        }
        let dir = match &self.source {
            Source::Segments(d) => d,
            Source::Lines(l) => return scan_lines(&**l, after, upto, true, f),
        };
        let segments = dir.list()?;
        for (first, path) in segments.iter().rev() {
            if *first > upto {
                continue;
            }
            let mut stop = false;
            lines_rev(path, |line| {
                let seq = match quick_seq(line) {
                    Some(s) => s,
                    None => match serde_json::from_slice::<EntryRef<'_>>(line) {
                        Ok(e) => e.seq,
                        Err(_) => return true,
                    },
                };
                if seq > upto {
                    return true;
                }
                if seq <= after {
                    stop = true;
                    return false;
                }
                let Ok(e) = serde_json::from_slice::<EntryRef<'_>>(line) else {
                    return true;
                };
                if f(e) {
                    true
                } else {
                    stop = true;
                    false
                }
            })?;
            if stop || *first <= after + 1 {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Every entry with `seq` in `after+1..=upto`, owned (for the monitor's catch-up).
    pub fn read_range(&self, after: u64, upto: u64, max: usize) -> io::Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        self.scan(after, upto, |e| {
            out.push(e.into_owned());
            out.len() < max
        })?;
        Ok(out)
    }
}

/// Block size of the backward reader.
const REV_BLOCK: u64 = 64 * 1024;

/// Calls `f` with each complete line of `path` (without its `\n`), last line first, until `f`
/// returns false. A torn last line (no `\n`) is skipped: it is not an entry yet.
fn lines_rev(path: &Path, mut f: impl FnMut(&[u8]) -> bool) -> io::Result<()> {
    let mut file = File::open(path)?;
    let mut pos = file.metadata()?.len();
    // Bytes after `pos` not yet handed out: a line's start that lies in an earlier block.
    let mut carry: Vec<u8> = Vec::new();
    let mut torn_tail_dropped = false;
    loop {
        let n = REV_BLOCK.min(pos);
        pos -= n;
        let mut data = vec![0u8; usize::try_from(n).unwrap_or(0)];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut data)?;
        data.extend_from_slice(&carry);
        if !torn_tail_dropped {
            match data.iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    data.truncate(i + 1);
                    torn_tail_dropped = true;
                }
                None if pos == 0 => return Ok(()),
                None => {
                    carry = data;
                    continue;
                }
            }
        }
        // `data` ends with a newline; hand out lines from the end.
        let mut end = data.len();
        loop {
            if end == 0 {
                carry.clear();
                break;
            }
            match data[..end - 1].iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    if !f(&data[i + 1..end - 1]) {
                        return Ok(());
                    }
                    end = i + 1;
                }
                None if pos == 0 => {
                    if !f(&data[..end - 1]) {
                        return Ok(());
                    }
                    return Ok(());
                }
                None => {
                    data.truncate(end);
                    carry = data;
                    break;
                }
            }
        }
        if pos == 0 {
            return Ok(());
        }
    }
}

/// Follows the log forward from a sequence number, reading each byte once: the monitor's view.
/// Only entries up to a caller-given (committed) head are returned, so a batch still being
/// written is never seen.
pub struct Tail {
    dir: SegmentDir,
    /// A shared chain instead of segment files.
    lines: Option<std::sync::Arc<dyn ChainLines>>,
    reader: Option<BufReader<File>>,
    next_seq: u64,
    line: Vec<u8>,
}

impl Tail {
    /// Starts after entry `after`.
    pub fn new(dir: SegmentDir, after: u64) -> Self {
        Self {
            dir,
            lines: None,
            reader: None,
            next_seq: after + 1,
            line: Vec::with_capacity(1024),
        }
    }

    /// Follows a shared chain (cluster mode) after entry `after`.
    pub fn over(lines: std::sync::Arc<dyn ChainLines>, after: u64) -> Self {
        let mut t = Self::new(SegmentDir::new(""), after);
        t.lines = Some(lines);
        t
    }

    /// The sequence number the next entry will have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn open_at(&mut self) -> io::Result<bool> {
        let segments = self.dir.list()?;
        let Some(i) = segments
            .iter()
            .rposition(|(first, _)| *first <= self.next_seq)
        else {
            return Ok(false);
        };
        let mut r = BufReader::with_capacity(1 << 20, File::open(&segments[i].1)?);
        // Skip entries before next_seq (only on the first open or after a rollover).
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            self.line.clear();
            let n = r.read_until(b'\n', &mut self.line)?;
            match quick_seq(&self.line) {
                Some(seq) if seq < self.next_seq && self.line.last() == Some(&b'\n') => continue,
                _ => {
                    r.seek_relative(-(n as i64))?;
                    break;
                }
            }
        }
        self.reader = Some(r);
        Ok(true)
    }

    /// Calls `f` for each entry with `seq <= upto`, at most `max` of them; returns how many.
    pub fn read(
        &mut self,
        upto: u64,
        max: usize,
        mut f: impl FnMut(EntryRef<'_>),
    ) -> io::Result<usize> {
        let mut count = 0;
        if let Some(src) = self.lines.clone() {
            while count < max && self.next_seq <= upto {
                let page = src.lines(
                    self.next_seq - 1,
                    upto,
                    (max - count).min(LINES_PAGE),
                    false,
                )?;
                if page.is_empty() {
                    break;
                }
                for (seq, line) in &page {
                    match serde_json::from_str::<EntryRef<'_>>(line) {
                        Ok(e) if *seq == self.next_seq && e.seq == *seq => {
                            self.next_seq += 1;
                            count += 1;
                            f(e);
                        }
                        _ => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "audit entry {} is unreadable or out of order",
                                    self.next_seq
                                ),
                            ));
                        }
                    }
                }
            }
            return Ok(count);
        }
        while count < max && self.next_seq <= upto {
            if self.reader.is_none() && !self.open_at()? {
                break;
            }
            let r = self.reader.as_mut().expect("opened above");
            self.line.clear();
            let n = r.read_until(b'\n', &mut self.line)?;
            if n == 0 || self.line.last() != Some(&b'\n') {
                if n > 0 {
                    r.seek_relative(-(n as i64))?;
                }
                // End of this segment: the next entry, if committed, starts a new one.
                let next_exists = self.dir.segment_path(self.next_seq).exists();
                if n == 0 && next_exists {
                    self.reader = None;
                    continue;
                }
                break;
            }
            let body = &self.line[..n - 1];
            match serde_json::from_slice::<EntryRef<'_>>(body) {
                Ok(e) if e.seq == self.next_seq => {
                    self.next_seq += 1;
                    count += 1;
                    f(e);
                }
                Ok(e) if e.seq < self.next_seq => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "audit entry {} is unreadable or out of order",
                            self.next_seq
                        ),
                    ));
                }
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_seq_reads_only_the_writer_prefix() {
        assert_eq!(quick_seq(br#"{"seq":42,"ts":"x"}"#), Some(42));
        assert_eq!(quick_seq(br#"{"ts":"x","seq":42}"#), None);
        assert_eq!(quick_seq(b""), None);
    }
}

#[cfg(test)]
mod tail_tests {
    use super::*;
    use crate::audit::{Action, Actor, GENESIS_HASH, NewEntry, Outcome};

    fn write_entries(dir: &SegmentDir, first: u64, n: u64, prev: &mut String, partial: bool) {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for seq in first..first + n {
            let e = NewEntry::new(Actor::default(), Action::EmployeeRead, Outcome::Success).seal(
                seq,
                "2026-01-01T00:00:00.000000Z",
                prev,
                &mut scratch,
            );
            *prev = e.hash.to_string();
            out.extend_from_slice(serde_json::to_string(&e).unwrap().as_bytes());
            out.push(b'\n');
        }
        if partial {
            out.extend_from_slice(b"{\"seq\":");
        }
        std::fs::write(dir.segment_path(first), out).unwrap();
    }

    #[test]
    fn tail_follows_segments_and_stops_at_the_head() {
        let t = tempfile::tempdir().unwrap();
        let dir = SegmentDir::new(t.path());
        let mut prev = GENESIS_HASH.to_owned();
        write_entries(&dir, 1, 5, &mut prev, false);
        write_entries(&dir, 6, 3, &mut prev, true);
        let mut tail = Tail::new(dir.clone(), 2);
        let mut seen = Vec::new();
        assert_eq!(tail.read(4, 100, |e| seen.push(e.seq)).unwrap(), 2);
        assert_eq!(tail.read(100, 2, |e| seen.push(e.seq)).unwrap(), 2);
        assert_eq!(tail.read(100, 100, |e| seen.push(e.seq)).unwrap(), 2);
        assert_eq!(
            seen,
            vec![3, 4, 5, 6, 7, 8],
            "crosses the segment boundary in order"
        );
        assert_eq!(tail.next_seq(), 9, "the partial entry is not consumed");
    }
}

#[cfg(test)]
mod rev_tests {
    use super::*;
    use crate::audit::{Action, Actor, GENESIS_HASH, NewEntry, Outcome};

    /// `n` entries from `first` in one segment (every third denied), optionally a torn tail.
    fn segment(dir: &SegmentDir, first: u64, n: u64, prev: &mut String, torn: bool) {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for seq in first..first + n {
            let outcome = if seq % 3 == 0 {
                Outcome::Denied
            } else {
                Outcome::Success
            };
            let mut e = NewEntry::new(Actor::default(), Action::EmployeeRead, outcome);
            // Long reasons so that entries straddle the backward reader's blocks.
            e.reason = Some("r".repeat(usize::try_from(seq % 700).unwrap()));
            let e = e.seal(seq, "2026-01-01T00:00:00.000000Z", prev, &mut scratch);
            *prev = e.hash.to_string();
            out.extend_from_slice(serde_json::to_string(&e).unwrap().as_bytes());
            out.push(b'\n');
        }
        if torn {
            out.extend_from_slice(b"{\"seq\":99999,\"ts\"");
        }
        std::fs::write(dir.segment_path(first), out).unwrap();
    }

    fn log() -> (tempfile::TempDir, AuditReader) {
        let t = tempfile::tempdir().unwrap();
        let dir = SegmentDir::new(t.path());
        let mut prev = GENESIS_HASH.to_owned();
        segment(&dir, 1, 700, &mut prev, false);
        segment(&dir, 701, 600, &mut prev, true);
        (t, AuditReader::new(dir))
    }

    #[test]
    fn backwards_is_forwards_reversed_across_blocks_and_segments() {
        let (_t, r) = log();
        let mut fwd = Vec::new();
        r.scan(0, 1300, |e| {
            fwd.push(e.seq);
            true
        })
        .unwrap();
        let mut rev = Vec::new();
        r.scan_rev(0, 1300, |e| {
            rev.push(e.seq);
            true
        })
        .unwrap();
        assert_eq!(fwd.len(), 1300);
        fwd.reverse();
        assert_eq!(rev, fwd, "the torn tail is not an entry");
        let mut some = Vec::new();
        r.scan_rev(650, 720, |e| {
            some.push(e.seq);
            true
        })
        .unwrap();
        assert_eq!(some, (651..=720).rev().collect::<Vec<_>>());
    }

    #[test]
    fn descending_pages_chain_through_before_seq() {
        let (_t, r) = log();
        let q = AuditQuery {
            outcome: Some("denied".into()),
            descending: true,
            limit: 100,
            ..AuditQuery::default()
        };
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = r
                .query(
                    &AuditQuery {
                        before_seq: before,
                        ..q.clone()
                    },
                    1250,
                )
                .unwrap();
            seen.extend(page.entries.iter().map(|e| e.seq));
            assert!(page.next_after_seq.is_none());
            match page.next_before_seq {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        let want: Vec<u64> = (1..=1250).rev().filter(|s| s % 3 == 0).collect();
        assert_eq!(
            seen, want,
            "every denied entry up to the head, newest first, once"
        );
        let asc = r
            .query(
                &AuditQuery {
                    outcome: Some("success".into()),
                    before_seq: Some(10),
                    limit: 100,
                    ..AuditQuery::default()
                },
                1250,
            )
            .unwrap();
        let got: Vec<u64> = asc.entries.iter().map(|e| e.seq).collect();
        assert_eq!(got, vec![1, 2, 4, 5, 7, 8]);
        assert!(asc.next_after_seq.is_none());
    }
}
