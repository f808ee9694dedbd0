//! Exports for auditors and SIEMs, streamed with bounded memory.
//!
//! `jsonl` copies each line byte for byte (so `audit verify --file` re-checks the export
//! independently); `ocsf` maps each entry to an OCSF 1.x API Activity event (class 6003).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};

use serde_json::{Map, Value, json};

use super::ChainLines;
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

/// Streams every complete entry of a data dir's segments to `out`; `progress` receives the
/// bytes read so far. Returns the number of entries written.
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
            write_entry(format, &line[..n - 1], count, out)?;
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

/// Streams a shared chain's entries 1..=`upto` (cluster mode: `PgChain`) to `out`, a page at a
/// time; `progress` receives the entries written so far. Returns the number written.
pub fn export_lines(
    lines: &dyn ChainLines,
    upto: u64,
    format: ExportFormat,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    const PAGE: usize = 1000;
    let mut count = 0u64;
    let mut after = 0u64;
    while after < upto {
        let page = lines.lines(after, upto, PAGE, false)?;
        let Some(&(last, _)) = page.last() else {
            break;
        };
        for (_, line) in &page {
            write_entry(format, line.as_bytes(), count, out)?;
            count += 1;
        }
        after = last;
        progress(count);
    }
    progress(count);
    out.flush()?;
    Ok(count)
}

/// Writes one entry (`line`: its JSON without the newline; `before` entries written already)
/// in `format`, newline-terminated: the one per-line writer of every export.
fn write_entry(
    format: ExportFormat,
    line: &[u8],
    before: u64,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ExportFormat::Jsonl => {
            out.write_all(line)?;
            out.write_all(b"\n")
        }
        ExportFormat::Ocsf => {
            let e: EntryRef<'_> = serde_json::from_slice(line).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("malformed audit entry after entry {before}"),
                )
            })?;
            serde_json::to_writer(&mut *out, &ocsf_event(&e))?;
            out.write_all(b"\n")
        }
    }
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
///
/// OCSF has no `null`: an attribute the entry does not have is left out (an object whose
/// required attribute is missing, such as `api.request` without a request id, is left out
/// whole), so every event validates against the 1.1.0 schema (tests/data/ocsf/).
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
    let mut user = Map::new();
    put(&mut user, "uid", e.actor.user_id.as_deref());
    put(&mut user, "name", e.actor.username.as_deref());
    if let Some(role) = e.actor.role.as_deref() {
        // OCSF's user types are Unknown/User/Admin/System; a vault role is "Other" (99),
        // with the source's value in `type`.
        user.insert("type_id".into(), json!(99));
        user.insert("type".into(), json!(role));
    }
    let mut actor = Map::new();
    if !user.is_empty() {
        actor.insert("user".into(), Value::Object(user));
    }
    let mut api = Map::new();
    api.insert("operation".into(), json!(e.action));
    api.insert("service".into(), json!({"name": "hrvault"}));
    if let Some(rid) = e.request_id.as_deref() {
        api.insert("request".into(), json!({"uid": rid}));
    }
    // A network endpoint needs at least one identifying attribute: an entry without a source
    // address was made on the vault's host (an offline command or the server itself).
    let src_endpoint = match e.source_ip.as_deref() {
        Some(ip) => json!({"ip": ip}),
        None => json!({"name": "local"}),
    };
    let mut unmapped = Map::new();
    unmapped.insert("seq".into(), json!(e.seq));
    unmapped.insert("prev_hash".into(), json!(e.prev_hash));
    unmapped.insert("hash".into(), json!(e.hash));
    if let Some(fields) = &e.fields {
        unmapped.insert("fields".into(), json!(fields));
    }
    put(&mut unmapped, "reason", e.reason.as_deref());
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
        "actor": Value::Object(actor),
        "api": Value::Object(api),
        "src_endpoint": src_endpoint,
        "metadata": {
            "version": "1.1.0",
            "product": {"name": "hrvault", "vendor_name": "hrvault", "version": env!("CARGO_PKG_VERSION")},
            "sequence": e.seq,
            "uid": e.hash,
        },
        "resources": resources,
        "unmapped": Value::Object(unmapped),
    })
}

/// Inserts `key` only if there is a value: OCSF leaves an absent attribute out, never `null`.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        map.insert(key.into(), json!(v));
    }
}
