//! The one parser of audit segment files, shared by start-up recovery (`SegmentDir::recover`)
//! and verification (`verify_data_dir`, `hrvault audit verify`, `GET /v1/audit/verify`), so
//! that they give the same verdict on the same bytes (docs/design/audit-chain.md §7).
//!
//! A segment is split on `\n`. Every `\n`-terminated line must be an entry in the writer's exact
//! form that continues the chain across every segment: a blank line, a carriage return before
//! the `\n` (CRLF), a line that is not an entry, a gap or a broken link is damage, wherever it is.
//! The only bytes not judged as entries are the unterminated end of the *last* segment: the
//! writer ends every batch with `\n`, so that is all a crash can tear. Start-up cuts it;
//! verification reports it without failing. An unterminated end of an earlier segment is
//! damage. This module only reads; it never writes, cuts or logs.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use super::segment::SegmentDir;
use super::verify::{ChainVerifier, LineCheck, Verdict, check_line};

/// The unterminated end of the last segment: a torn write, never acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The last segment.
    pub path: PathBuf,
    /// Where the torn bytes start (just after the last `\n`).
    pub offset: u64,
    /// How many bytes follow the last `\n`.
    pub len: u64,
}

/// What a scan of every segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The chain's verdict over every complete line of every segment.
    pub verdict: Verdict,
    /// The segment holding the first bad entry when the verdict is `Broken`.
    pub damaged_segment: Option<PathBuf>,
    /// A torn write at the end of the last segment (not part of the verdict).
    pub torn_tail: Option<TornTail>,
}

/// What to do with bytes after the last `\n` of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unterminated {
    /// Judge them as a line (an exported file whose last line lost its newline).
    Check,
    /// Set them aside as a possible torn write; the caller decides.
    SetAside,
}

/// What feeding one stream found.
pub(crate) struct Fed {
    /// The verdict if the chain broke in this stream.
    pub(crate) broken: Option<Verdict>,
    /// (offset, length) of bytes after the last `\n`, when set aside.
    pub(crate) unterminated: Option<(u64, u64)>,
}

/// Lines per parallel chunk (about 8 MiB of entries).
const CHUNK_LINES: usize = 16 * 1024;

/// Classifies one `\n`-free line on its own: blank and CR-terminated lines are named as such.
fn classify(line: &[u8], scratch: &mut Vec<u8>, form: &mut Vec<u8>) -> LineCheck {
    if line.is_empty() {
        return LineCheck::Blank;
    }
    if line.last() == Some(&b'\r') {
        return LineCheck::CarriageReturn;
    }
    check_line(line, scratch, form)
}

/// Feeds the lines of `r` to `v` in order (checked on every core, applied in order). Stops
/// after entry `upto` if given.
pub(crate) fn feed(
    v: &mut ChainVerifier,
    mut r: impl BufRead,
    upto: Option<u64>,
    unterminated: Unterminated,
) -> io::Result<Fed> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_LINES * 512);
    let mut lines: Vec<(usize, usize)> = Vec::with_capacity(CHUNK_LINES);
    let mut consumed = 0u64;
    let mut set_aside = None;
    loop {
        buf.clear();
        lines.clear();
        while lines.len() < CHUNK_LINES {
            let start = buf.len();
            let n = r.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            let at = consumed;
            consumed += n as u64;
            if buf.last() == Some(&b'\n') {
                lines.push((start, buf.len() - 1));
            } else if unterminated == Unterminated::SetAside {
                set_aside = Some((at, n as u64));
            } else {
                lines.push((start, buf.len()));
            }
        }
        if lines.is_empty() {
            return Ok(Fed {
                broken: None,
                unterminated: set_aside,
            });
        }
        let part = lines.len().div_ceil(workers);
        let checks: Vec<LineCheck> = std::thread::scope(|s| {
            let handles: Vec<_> = lines
                .chunks(part)
                .map(|chunk| {
                    let buf = &buf;
                    s.spawn(move || {
                        let (mut scratch, mut form) =
                            (Vec::with_capacity(1024), Vec::with_capacity(1024));
                        chunk
                            .iter()
                            .map(|&(a, b)| classify(&buf[a..b], &mut scratch, &mut form))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a verify worker panicked"))
                .collect()
        });
        for c in checks {
            if upto.is_some_and(|u| v.head().seq >= u && !v.is_pending()) {
                return Ok(Fed {
                    broken: None,
                    unterminated: None,
                });
            }
            if let Err((first_bad_seq, reason)) = v.apply(c) {
                return Ok(Fed {
                    broken: Some(Verdict::Broken {
                        first_bad_seq,
                        reason,
                    }),
                    unterminated: None,
                });
            }
        }
    }
}

impl SegmentDir {
    /// Scans every segment in order (with the server stopped, or bounded by `upto`, the
    /// committed head, while it runs) and classifies what it finds: the one verdict that
    /// start-up and `audit verify` both act on.
    pub fn scan(&self, upto: Option<u64>) -> io::Result<Scan> {
        let segments = self.list()?;
        let mut v = ChainVerifier::new();
        let last = segments.len().saturating_sub(1);
        for (i, (first_seq, path)) in segments.iter().enumerate() {
            if upto.is_some_and(|u| *first_seq > u) {
                break;
            }
            let broken = |first_bad_seq: u64, reason: String| Scan {
                verdict: Verdict::Broken {
                    first_bad_seq,
                    reason,
                },
                damaged_segment: Some(path.clone()),
                torn_tail: None,
            };
            let expected = v.head().seq + 1;
            if !v.is_pending() && *first_seq != expected {
                return Ok(broken(
                    expected,
                    format!(
                        "segment {} starts at entry {first_seq}, expected {expected}",
                        path.display()
                    ),
                ));
            }
            let fed = feed(
                &mut v,
                BufReader::with_capacity(1 << 20, File::open(path)?),
                upto,
                Unterminated::SetAside,
            )?;
            if let Some(verdict) = fed.broken {
                return Ok(Scan {
                    verdict,
                    damaged_segment: Some(path.clone()),
                    torn_tail: None,
                });
            }
            if let Some((offset, len)) = fed.unterminated {
                if i != last {
                    let expected = v.head().seq + 1;
                    return Ok(broken(
                        expected,
                        format!(
                            "segment {} ends in the middle of a line after entry {}: only the last segment can end in a torn write",
                            path.display(),
                            v.head().seq
                        ),
                    ));
                }
                if upto.is_none() {
                    let verdict = v.finish();
                    let torn_tail = Some(TornTail {
                        path: path.clone(),
                        offset,
                        len,
                    });
                    let damaged_segment = (!verdict.is_intact()).then(|| path.clone());
                    return Ok(Scan {
                        verdict,
                        damaged_segment,
                        torn_tail,
                    });
                }
            }
        }
        let verdict = v.finish();
        let damaged_segment = match verdict.is_intact() {
            true => None,
            false => segments.last().map(|(_, p)| p.clone()),
        };
        Ok(Scan {
            verdict,
            damaged_segment,
            torn_tail: None,
        })
    }
}
