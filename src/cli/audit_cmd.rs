//! `audit verify` and `audit export`: offline, read-only, append nothing.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, EXIT_CHECK_FAILED, Format};
use crate::audit::{ExportFormat, Scan, SegmentDir, Verdict, export as export_log, verify_reader};

/// `hrvault audit verify (--data-dir DIR | --file EXPORT.jsonl)`.
pub(super) fn verify(data_dir: Option<&Path>, file: Option<&Path>) -> Result<(), CliError> {
    let scan = match (data_dir, file) {
        (Some(dir), _) => {
            super::must_be_vault(dir)?;
            // The same scan start-up recovery acts on, so both give the same verdict.
            SegmentDir::new(dir.join("audit")).scan(None)
        }
        (None, Some(f)) => {
            let reader = File::open(f)
                .map_err(|e| CliError::usage(format!("error: cannot open {}: {e}", f.display())))?;
            verify_reader(BufReader::with_capacity(1 << 20, reader), None).map(|verdict| Scan {
                verdict,
                damaged_segment: None,
                torn_tail: None,
            })
        }
        (None, None) => {
            return Err(CliError::usage(
                "error: pass --data-dir DIR or --file EXPORT.jsonl",
            ));
        }
    }
    .map_err(|e| CliError::usage(format!("error: cannot read the audit log: {e}")))?;
    match scan.verdict {
        Verdict::Intact { entries, head } => {
            println!(
                "ok: audit chain intact: {entries} entries, head seq {} hash {}",
                head.seq, head.hash
            );
            if let Some(torn) = scan.torn_tail {
                println!(
                    "note: {} bytes after entry {} at the end of {} are a torn write (never acknowledged); the next start-up cuts them and keeps them in a torn-*.bin file",
                    torn.len,
                    head.seq,
                    torn.path.display()
                );
            }
            Ok(())
        }
        Verdict::Broken {
            first_bad_seq,
            reason,
        } => {
            match scan.damaged_segment {
                Some(seg) => println!(
                    "FAILED: first bad entry seq {first_bad_seq}: {reason} (in {})",
                    seg.display()
                ),
                None => println!("FAILED: first bad entry seq {first_bad_seq}: {reason}"),
            }
            Err(CliError {
                message: format!("audit chain broken at entry {first_bad_seq}"),
                code: EXIT_CHECK_FAILED,
            })
        }
    }
}

/// `hrvault audit export --data-dir DIR [--format jsonl|ocsf] [--out FILE]`.
pub(super) fn export(dir: &Path, format: Format, out: Option<&Path>) -> Result<(), CliError> {
    super::must_be_vault(dir)?;
    let segments = SegmentDir::new(dir.join("audit"));
    let total: u64 = segments
        .list()
        .map_err(|e| CliError::usage(format!("error: cannot read the audit log: {e}")))?
        .iter()
        .filter_map(|(_, p)| p.metadata().ok().map(|m| m.len()))
        .sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if out.is_none() {
        // Standard output carries the export; keep the terminal clean unless stderr is a tty.
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    let mut sink: Box<dyn Write> = match out {
        Some(p) => Box::new(BufWriter::with_capacity(
            1 << 20,
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)
                .map_err(|e| {
                    CliError::usage(format!("error: cannot write {}: {e}", p.display()))
                })?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };
    let fmt = match format {
        Format::Jsonl => ExportFormat::Jsonl,
        Format::Ocsf => ExportFormat::Ocsf,
    };
    let n = export_log(&segments, fmt, &mut sink, &mut |bytes| {
        bar.set_position(bytes)
    })
    .map_err(|e| CliError::usage(format!("error: export failed: {e}")))?;
    bar.finish_and_clear();
    eprintln!("exported {n} audit entries");
    Ok(())
}
