//! `audit verify` and `audit export`: offline, read-only, append nothing.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, EXIT_CHECK_FAILED, Format, VaultArgs};
use crate::audit::{
    ExportFormat, Scan, SegmentDir, Verdict, export as export_log, export_lines, verify_lines,
    verify_reader,
};
use crate::service::{Location, open_store_chain};

/// What `audit verify` checks: exactly one of a data dir, a store and an export file.
pub(super) enum VerifySource {
    DataDir(PathBuf),
    Store(String),
    File(PathBuf),
}

/// Exactly one of `--data-dir`, `--store` (or `HRVAULT_STORE_URL`) and `--file`; exit 2 else.
pub(super) fn verify_source(
    at: &VaultArgs,
    file: Option<PathBuf>,
) -> Result<VerifySource, CliError> {
    match (&at.data_dir, &at.store, file) {
        (None, None, Some(f)) => Ok(VerifySource::File(f)),
        (_, _, None) => Ok(match at.location()? {
            Location::DataDir(d) => VerifySource::DataDir(d),
            Location::Store(u) => VerifySource::Store(u),
        }),
        (_, _, Some(_)) => Err(CliError::usage(
            "error: pass only one of --data-dir DIR, --store URL (HRVAULT_STORE_URL counts as --store) and --file EXPORT.jsonl",
        )),
    }
}

/// `hrvault audit verify (--data-dir DIR | --store URL | --file EXPORT.jsonl)`. A store is read
/// without the passphrase and nothing is written to it (but schema migrations).
pub(super) async fn verify(source: VerifySource) -> Result<(), CliError> {
    let scan = match source {
        VerifySource::DataDir(dir) => {
            super::must_be_vault(&dir)?;
            // The same scan start-up recovery acts on, so both give the same verdict.
            SegmentDir::new(dir.join("audit")).scan(None)
        }
        VerifySource::Store(url) => {
            let chain = open_store_chain(&url).await?;
            tokio::task::spawn_blocking(move || {
                let head = chain.head().map_err(std::io::Error::other)?;
                verify_lines(&chain, &head).map(|verdict| Scan {
                    verdict,
                    damaged_segment: None,
                    torn_tail: None,
                })
            })
            .await
            .map_err(|e| CliError::usage(format!("error: {e}")))?
        }
        VerifySource::File(f) => {
            let reader = File::open(&f)
                .map_err(|e| CliError::usage(format!("error: cannot open {}: {e}", f.display())))?;
            verify_reader(BufReader::with_capacity(1 << 20, reader), None).map(|verdict| Scan {
                verdict,
                damaged_segment: None,
                torn_tail: None,
            })
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

/// `hrvault audit export (--data-dir DIR | --store URL) [--format jsonl|ocsf] [--out FILE]`.
pub(super) async fn export(
    location: &Location,
    format: Format,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let fmt = match format {
        Format::Jsonl => ExportFormat::Jsonl,
        Format::Ocsf => ExportFormat::Ocsf,
    };
    match location {
        Location::DataDir(dir) => {
            super::must_be_vault(dir)?;
            let segments = SegmentDir::new(dir.join("audit"));
            let total: u64 = segments
                .list()
                .map_err(|e| CliError::usage(format!("error: cannot read the audit log: {e}")))?
                .iter()
                .filter_map(|(_, p)| p.metadata().ok().map(|m| m.len()))
                .sum();
            let bar = progress_bar(
                total,
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                out,
            );
            let mut sink = open_sink(out)?;
            let n = export_log(&segments, fmt, &mut sink, &mut |bytes| {
                bar.set_position(bytes)
            })
            .map_err(|e| CliError::usage(format!("error: export failed: {e}")))?;
            bar.finish_and_clear();
            eprintln!("exported {n} audit entries");
        }
        Location::Store(url) => {
            let chain = open_store_chain(url).await?;
            let out = out.map(Path::to_path_buf);
            let n = tokio::task::spawn_blocking(move || {
                let head = chain.head().map_err(|e| {
                    CliError::usage(format!("error: cannot read the audit log: {e}"))
                })?;
                let bar = progress_bar(
                    head.seq,
                    "{bar:40} {pos}/{len} entries {per_sec} eta {eta}",
                    out.as_deref(),
                );
                let mut sink = open_sink(out.as_deref())?;
                let n = export_lines(&chain, head.seq, fmt, &mut sink, &mut |entries| {
                    bar.set_position(entries)
                })
                .map_err(|e| CliError::usage(format!("error: export failed: {e}")))?;
                bar.finish_and_clear();
                Ok::<u64, CliError>(n)
            })
            .await
            .map_err(|e| CliError::usage(format!("error: {e}")))??;
            eprintln!("exported {n} audit entries");
        }
    }
    Ok(())
}

fn progress_bar(total: u64, template: &str, out: Option<&Path>) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if out.is_none() {
        // Standard output carries the export; keep the terminal clean unless stderr is a tty.
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar
}

fn open_sink(out: Option<&Path>) -> Result<Box<dyn Write>, CliError> {
    Ok(match out {
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
    })
}
