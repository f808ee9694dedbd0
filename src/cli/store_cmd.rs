//! `hrvault store copy --from-data-dir DIR --to URL`: the CLI of `service::copy_data_dir_to_store`.

use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::CliError;
use crate::service::{CopyProgress, CopyStage, copy_data_dir_to_store};
use crate::store::describe_store_url;

/// Copies the vault in `dir` into the empty store at `url`, with a progress bar on stderr.
pub(super) async fn copy(dir: &Path, url: &str) -> Result<(), CliError> {
    let dir = dir.to_path_buf();
    let url = url.to_owned();
    let name = describe_store_url(&url);
    let shown = dir.display().to_string();
    let report = tokio::task::spawn_blocking(move || {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:12} {bar:40} {pos}/{len} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut stage = None;
        let result = copy_data_dir_to_store(&dir, &url, &mut |p: CopyProgress| {
            if stage != Some(p.stage) {
                stage = Some(p.stage);
                bar.reset();
                bar.set_message(match p.stage {
                    CopyStage::Verifying => "verifying",
                    CopyStage::Rows => "rows",
                    CopyStage::KeySlots => "key slots",
                    CopyStage::Audit => "audit chain",
                });
            }
            bar.set_length(p.total);
            bar.set_position(p.done);
        });
        bar.finish_and_clear();
        result
    })
    .await
    .map_err(|e| CliError::usage(format!("error: {e}")))??;
    eprintln!(
        "copied the vault in {shown} to {name}: {} rows ({} id lists), {} key slots, {} audit entries",
        report.rows, report.id_lists, report.key_slots, report.entries
    );
    println!(
        "ok: audit chain copied: {} entries, head seq {} hash {}",
        report.entries, report.head.seq, report.head.hash
    );
    Ok(())
}
