//! The fuzz targets' oracles on the stable toolchain: every parser of untrusted input gets
//! arbitrary bytes and structure-aware near-valid inputs (one field mutated, a chain with a byte
//! flipped or lines removed, swapped or duplicated, CSV with odd quoting, tampered tokens), and
//! must not panic. The oracles live in `fuzz/src/` and are shared with `cargo fuzz`; the seeds in
//! `fuzz/seeds/` and the minimised crashes in `fuzz/regressions/` are replayed here too.

#[allow(
    unreachable_pub,
    reason = "the oracles are `pub` for the fuzz crate that also uses them"
)]
#[path = "../fuzz/src/lib.rs"]
mod oracles;

use std::path::{Path, PathBuf};

use hrvault::audit::{Verdict, verify_reader};
use hrvault::model::EmployeeDraft;
use oracles::samples;
use proptest::prelude::*;
use serde_json::Value;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Every committed seed and every saved regression input, through its oracle.
#[test]
fn seeds_and_regressions_pass_their_oracles() {
    for (target, oracle) in oracles::TARGETS {
        let seeds = files(&fuzz_dir().join("seeds").join(target));
        assert!(!seeds.is_empty(), "fuzz/seeds/{target}/ has no seeds");
        let regressions = files(&fuzz_dir().join("regressions").join(target));
        for path in seeds.iter().chain(&regressions) {
            let data = std::fs::read(path).expect("readable seed");
            oracle(&data);
        }
    }
}

/// The deterministic seeds on disk are exactly what `samples::seeds()` produces.
#[test]
fn committed_seeds_are_current() {
    for (target, name, data) in samples::seeds() {
        let path = fuzz_dir().join("seeds").join(target).join(name);
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == data,
            "{} is stale: run `cargo test --test parsers_never_panic -- --ignored write_seeds`",
            path.display()
        );
    }
}

/// Regenerates `fuzz/seeds/` (including a fresh `key_file` seed).
#[test]
#[ignore = "writes fuzz/seeds/; run by hand after changing samples.rs"]
fn write_seeds() {
    let mut all = samples::seeds();
    all.push(("key_file", "vault.keys", samples::key_file_bytes()));
    for (target, name, data) in all {
        let dir = fuzz_dir().join("seeds").join(target);
        std::fs::create_dir_all(&dir).expect("create seed dir");
        std::fs::write(dir.join(name), data).expect("write seed");
    }
}

/// The samples the strategies start from are valid, so the mutations below are "near-valid".
#[test]
fn samples_are_valid() {
    for v in [samples::employee(), samples::employee_minimal()] {
        let draft: EmployeeDraft = serde_json::from_value(v).expect("sample parses");
        assert!(oracles::check_draft(&draft).is_some(), "sample validates");
    }
    let chain = samples::chain(&[None, Some("x".into())]).concat();
    let verdict = verify_reader(chain.as_bytes(), None).expect("memory");
    assert!(verdict.is_intact(), "{verdict:?}");
    assert!(hrvault::config::Settings::parse(samples::CONFIG).is_ok());
}

mod bytes {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

        /// Raw bytes into every target.
        #[test]
        fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
            for (_, oracle) in oracles::TARGETS {
                oracle(&data);
            }
        }

        /// Text (incl. control characters) into every target: reaches further into the text
        /// parsers than raw bytes.
        #[test]
        fn arbitrary_text(chars in prop::collection::vec(any::<char>(), 0..200)) {
            let text: String = chars.into_iter().collect();
            for (_, oracle) in oracles::TARGETS {
                oracle(text.as_bytes());
            }
        }
    }
}

/// Text that is close to what the field parsers accept.
fn near_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{3}-[0-9]{2}-[0-9]{4}",
        "[0-9]{8,10}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[ \t]{0,2}[A-Za-z0-9.@_-]{0,40}[ \t\n]{0,2}",
        "[0-9a-fA-F-]{36}",
        "[a-z.]{0,10}@[a-z-]{0,10}\\.[a-z]{0,3}",
        prop::collection::vec(any::<char>(), 0..30).prop_map(String::from_iter),
        (195usize..205).prop_map(|n| "é".repeat(n)),
        Just(String::new()),
    ]
}

/// Import errors name the file line of the row (CONTRACT: header = line 1).
#[test]
fn csv_line_numbers_follow_the_file() {
    let cases: [(&str, [u64; 3]); 7] = [
        ("ssn\nx\ny\nz", [2, 3, 4]),
        ("ssn\n\"x\nx\"\ny\nz", [2, 4, 5]),
        ("ssn\r\nx\r\n\r\ny\nz", [2, 4, 5]),
        ("ssn\nx\r\ny\rz\n", [2, 3, 4]),
        ("ssn\r\nx\r\ny\r\nz", [2, 3, 4]),
        ("ssn\rx\ry\rz", [2, 3, 4]),
        ("ssn\nx\n\ny\nz", [2, 4, 5]),
    ];
    for (text, want) in cases {
        let got: Vec<u64> = hrvault::service::CsvDrafts::new(text.as_bytes())
            .expect("header")
            .map(|r| r.line)
            .collect();
        assert_eq!(got, want, "{text:?}");
    }
}

/// A configuration error never repeats the webhook secret, however the line is mistyped.
#[test]
fn config_errors_never_echo_the_secret() {
    let secret = "Zq7hunter2Vx9Lk";
    let templates = [
        "alert_webhook_secret = S",
        "alert_webhook_secret = \"S",
        "alert_webhook_secret = [\"S\"]",
        "alert_webhook_secret = \"S\" x",
        "alert_webhook_secret = \"S\\q\"",
        "alert_webhook_secret: \"S\"",
        "alert_webhook_secret \"S\"",
        "alert_webhook_secret =\n\"S\"",
        "alert_webhook_secret = \"\"\"\nS \\q\n\"\"\"",
        "alert_webhook_secret = '''\nS\n''' x",
    ];
    let leaks: Vec<String> = templates
        .iter()
        .filter_map(|t| {
            let text = format!("[monitor]\n{}\n", t.replace('S', secret));
            let msg = hrvault::config::Settings::parse(&text).err()?.0;
            msg.contains(secret)
                .then(|| format!("{t:?} -> {}", msg.replace(secret, "<SECRET>")))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "errors echo the secret:\n{}",
        leaks.join("\n")
    );
}

#[path = "parsers_never_panic/chain.rs"]
mod chain;
#[path = "parsers_never_panic/config.rs"]
mod config;
#[path = "parsers_never_panic/csv_rows.rs"]
mod csv_rows;
#[path = "parsers_never_panic/employee.rs"]
mod employee;
#[path = "parsers_never_panic/json.rs"]
mod json;
#[path = "parsers_never_panic/stored.rs"]
mod stored;
#[path = "parsers_never_panic/token.rs"]
mod token;
