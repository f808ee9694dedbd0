//! Files: digests of a whole tree (to prove nothing changed) and plaintext scans.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Path (relative) → SHA-256 of every file under `dir`, plus every directory (hash of "").
pub fn tree_digest(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            if e.file_type().unwrap().is_dir() {
                out.insert(rel, "<dir>".to_owned());
                stack.push(e.path());
            } else {
                out.insert(rel, hex(&Sha256::digest(fs::read(e.path()).unwrap())));
            }
        }
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

/// The encodings of `value` a careless implementation might store instead of ciphertext: the
/// raw bytes, lower- and upper-case hex, and base64 at each of the three alignments.
pub fn encodings(value: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let raw = value.as_bytes();
    let mut out = vec![
        ("raw".to_owned(), raw.to_vec()),
        ("hex".to_owned(), hex(raw).into_bytes()),
        ("HEX".to_owned(), hex(raw).to_uppercase().into_bytes()),
    ];
    for skip in 0..3usize {
        // Wherever the value sits in a base64 stream, one of these three cuts starts on a 3-byte
        // group boundary; its whole groups then encode to exactly these characters.
        let part = &raw[skip.min(raw.len())..];
        let whole = part.len() / 3 * 3;
        if whole >= 6 {
            out.push((
                format!("base64@{skip}"),
                STANDARD.encode(&part[..whole]).into_bytes(),
            ));
        }
    }
    out
}
