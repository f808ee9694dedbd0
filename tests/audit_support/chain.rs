//! An independent implementation of the audit chain, written from docs/design/audit-chain.md
//! alone: it uses no hrvault code, only `serde_json` to parse and `sha2` to hash. Its own JSON
//! writer (sorted keys, JCS escaping) produces the canonical bytes, so agreement with the product
//! on real logs proves the document is enough to re-implement the verifier.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `prev_hash` of entry 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The keys of a line, in the order the writer emits them (CONTRACT §2 Audit).
pub const KEYS: [&str; 13] = [
    "seq",
    "ts",
    "actor",
    "action",
    "employee_id",
    "employee_ids",
    "fields",
    "reason",
    "outcome",
    "source_ip",
    "request_id",
    "prev_hash",
    "hash",
];

/// The one optional key: present (a string) only when the client sent a valid `x-request-id`,
/// written right after `request_id`; absent from entries written before it existed.
pub const OPTIONAL_KEY: &str = "client_request_id";

/// Every key a line may have, in writer order.
const LINE_ORDER: [&str; 14] = [
    "seq",
    "ts",
    "actor",
    "action",
    "employee_id",
    "employee_ids",
    "fields",
    "reason",
    "outcome",
    "source_ip",
    "request_id",
    OPTIONAL_KEY,
    "prev_hash",
    "hash",
];

/// The keys of `actor`, in writer order.
pub const ACTOR_KEYS: [&str; 3] = ["user_id", "username", "role"];

/// A JSON string as serde_json and RFC 8785 write it: `"` `\` and the short escapes
/// `\b \f \n \r \t`; other C0 controls as `\u00xx` (lower-case hex); everything else, including
/// DEL, `/` and non-ASCII, as raw UTF-8.
pub fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Chooses the key order of an object.
type KeyOrder<'a> = &'a dyn Fn(&Map<String, Value>) -> Vec<String>;

/// Compact JSON with object keys in the given order (`None`: sorted by code point).
fn write_value(v: &Value, out: &mut String, order: Option<KeyOrder<'_>>) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out, order);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let keys = match order {
                Some(f) => f(map),
                None => {
                    let mut k: Vec<String> = map.keys().cloned().collect();
                    k.sort();
                    k
                }
            };
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_value(&map[k.as_str()], out, order);
            }
            out.push('}');
        }
    }
}

/// The canonical bytes: the entry without `prev_hash` and `hash`, keys sorted, compact.
pub fn canonical(entry: &Value) -> String {
    let mut e = entry.as_object().expect("an entry is an object").clone();
    e.remove("prev_hash");
    e.remove("hash");
    let mut out = String::new();
    write_value(&Value::Object(e), &mut out, None);
    out
}

/// The line as the writer emits it: contract key order, compact (no trailing newline).
pub fn line_form(entry: &Value) -> String {
    let order = |m: &Map<String, Value>| -> Vec<String> {
        let known: &[&str] = if m.contains_key("seq") {
            &LINE_ORDER
        } else {
            &ACTOR_KEYS
        };
        known
            .iter()
            .filter(|k| m.contains_key(**k))
            .map(|k| (*k).to_owned())
            .collect()
    };
    let mut out = String::new();
    write_value(entry, &mut out, Some(&order));
    out
}

/// `hex(SHA-256(prev_hash as 64 ASCII characters || canonical))`, lower case.
pub fn link_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical);
    hex::encode(h.finalize())
}

/// Sets `prev_hash` and computes `hash` of an entry object.
pub fn seal(entry: &mut Value, prev_hash: &str) {
    entry["prev_hash"] = Value::String(prev_hash.to_owned());
    entry["hash"] = Value::String(String::new());
    let h = link_hash(prev_hash, canonical(entry).as_bytes());
    entry["hash"] = Value::String(h);
}

/// What the spec verifier concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry checked out.
    Intact {
        entries: u64,
        head_seq: u64,
        head_hash: String,
    },
    /// Entries before `seq` are proven; the chain breaks at `seq`.
    Broken { seq: u64, why: &'static str },
}

fn is_str_or_null(v: &Value) -> bool {
    v.is_string() || v.is_null()
}

fn is_str_list_or_null(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

/// A complete entry in writer form, or `None`.
fn parse_entry(line: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(line).ok()?;
    let m = v.as_object()?;
    let optional = match m.get(OPTIONAL_KEY) {
        None => 0,
        Some(Value::String(_)) => 1,
        Some(_) => return None,
    };
    if m.len() != KEYS.len() + optional || !KEYS.iter().all(|k| m.contains_key(*k)) {
        return None;
    }
    let actor = m.get("actor")?.as_object()?;
    let actor_ok = actor.len() == 3
        && ACTOR_KEYS
            .iter()
            .all(|k| actor.get(*k).is_some_and(is_str_or_null));
    let types_ok = m["seq"].is_u64()
        && ["ts", "action", "outcome", "prev_hash", "hash"]
            .iter()
            .all(|k| m[*k].is_string())
        && ["employee_id", "reason", "source_ip", "request_id"]
            .iter()
            .all(|k| is_str_or_null(&m[*k]))
        && ["employee_ids", "fields"]
            .iter()
            .all(|k| is_str_list_or_null(&m[*k]));
    (actor_ok && types_ok && line_form(&v) == line).then_some(v)
}

/// Verifies a JSONL text by the rules of docs/design/audit-chain.md §"What the verifier checks".
pub fn verify(text: &str) -> Verdict {
    verify_from(0, GENESIS, text)
}

/// Like `verify`, continuing a chain whose last verified entry is `head_seq` with `head_hash`.
pub fn verify_from(head_seq: u64, head_hash: &str, text: &str) -> Verdict {
    let mut head_seq = head_seq;
    let mut head_hash = head_hash.to_owned();
    for raw in text.split('\n') {
        if raw.is_empty() {
            continue;
        }
        let expected = head_seq + 1;
        let Some(e) = parse_entry(raw) else {
            return Verdict::Broken {
                seq: expected,
                why: "malformed, truncated or not in writer form",
            };
        };
        let seq = e["seq"].as_u64().expect("checked");
        if seq != expected {
            return Verdict::Broken {
                seq: expected,
                why: if seq > expected {
                    "missing"
                } else {
                    "out of order"
                },
            };
        }
        let prev = e["prev_hash"].as_str().expect("checked");
        let hash = e["hash"].as_str().expect("checked");
        if link_hash(prev, canonical(&e).as_bytes()) != hash {
            return Verdict::Broken {
                seq,
                why: "altered",
            };
        }
        if prev != head_hash {
            return Verdict::Broken {
                seq,
                why: if seq == 1 { "genesis" } else { "broken link" },
            };
        }
        head_seq = seq;
        head_hash = hash.to_owned();
    }
    Verdict::Intact {
        entries: head_seq,
        head_seq,
        head_hash,
    }
}

/// The checkpoint message: `{"hash":…,"seq":…,"ts":…}`, sorted and compact.
pub fn checkpoint_message(seq: u64, hash: &str, ts: &str) -> String {
    let mut out = String::from("{\"hash\":");
    write_str(hash, &mut out);
    out.push_str(&format!(",\"seq\":{seq},\"ts\":"));
    write_str(ts, &mut out);
    out.push('}');
    out
}
