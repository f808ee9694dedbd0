//! Exports for auditors and SIEMs, streamed with bounded memory.
//!
//! `jsonl` copies each line byte for byte (so `audit verify --file` re-checks the export
//! independently); `ocsf` maps each entry to an OCSF 1.x API Activity event (class 6003).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};

use serde_json::{Value, json};

use super::entry::EntryRef;
use super::segment::SegmentDir;

/// Output format of `hrvault audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One entry per line, exactly as the API returns it.
    Jsonl,
    /// One OCSF API Activity event per line.
    Ocsf,
}

/// Streams every complete entry to `out`; `progress` receives the bytes read so far.
/// Returns the number of entries written.
pub fn export(
    dir: &SegmentDir,
    format: ExportFormat,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let mut count = 0u64;
    let mut read = 0u64;
    let mut line = Vec::with_capacity(1024);
    for (_, path) in dir.list()? {
        let mut r = BufReader::with_capacity(1 << 20, File::open(&path)?);
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line)?;
            if n == 0 || line.last() != Some(&b'\n') {
                break;
            }
            read += n as u64;
            match format {
                ExportFormat::Jsonl => out.write_all(&line)?,
                ExportFormat::Ocsf => {
                    let e: EntryRef<'_> = serde_json::from_slice(&line[..n - 1]).map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("malformed audit entry after entry {count}"),
                        )
                    })?;
                    serde_json::to_writer(&mut *out, &ocsf_event(&e))?;
                    out.write_all(b"\n")?;
                }
            }
            count += 1;
            if count.is_multiple_of(4096) {
                progress(read);
            }
        }
    }
    progress(read);
    out.flush()?;
    Ok(count)
}

fn activity(action: &str) -> (u8, &'static str) {
    match action.rsplit('.').next().unwrap_or("") {
        "create" | "import" => (1, "Create"),
        "read" | "list" | "reveal" | "lookup" | "export" => (2, "Read"),
        "update" | "rotate" => (3, "Update"),
        "delete" => (4, "Delete"),
        _ => (99, "Other"),
    }
}

/// One OCSF 1.1 API Activity event (`class_uid` 6003, category 6 Application Activity).
pub fn ocsf_event(e: &EntryRef<'_>) -> Value {
    let (activity_id, activity_name) = activity(&e.action);
    let time_ms =
        e.ts.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(0);
    let success = e.outcome == "success";
    let mut resources: Vec<Value> = Vec::new();
    if let Some(id) = &e.employee_id {
        resources.push(json!({"uid": id, "type": "employee"}));
    }
    for id in e.employee_ids.iter().flatten() {
        resources.push(json!({"uid": id, "type": "employee"}));
    }
    json!({
        "class_uid": 6003,
        "class_name": "API Activity",
        "category_uid": 6,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": 600300 + u32::from(activity_id),
        "severity_id": if e.outcome == "denied" { 3 } else { 1 },
        "time": time_ms,
        "status": if success { "Success" } else { "Failure" },
        "status_id": if success { 1 } else { 2 },
        "status_detail": e.outcome,
        "actor": {"user": {"uid": e.actor.user_id, "name": e.actor.username, "type": e.actor.role}},
        "api": {"operation": e.action, "service": {"name": "hrvault"}, "request": {"uid": e.request_id}},
        "resources": resources,
        "src_endpoint": {"ip": e.source_ip},
        "metadata": {
            "version": "1.1.0",
            "product": {"name": "hrvault", "vendor_name": "hrvault", "version": env!("CARGO_PKG_VERSION")},
            "sequence": e.seq,
            "uid": e.hash,
        },
        "unmapped": {"seq": e.seq, "prev_hash": e.prev_hash, "hash": e.hash, "fields": e.fields, "reason": e.reason},
    })
}
