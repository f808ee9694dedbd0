//! Valid inputs: the fuzz seeds (`fuzz/seeds/`) and the starting points of the structure-aware
//! proptest strategies. Everything here is deterministic except `key_file_bytes` (fresh keys).

use std::borrow::Cow;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hrvault::audit::Outcome;
use hrvault::audit::{Action, EntryRef, GENESIS_HASH};
use hrvault::crypto::{KdfParams, KeyFile, SigningKey};
use hrvault::model::{
    BlindIndex, EmployeeDraft, EmployeeId, NewEmployee, PublicFields, RecordKeyRef, Sealed,
};
use hrvault::store::{EmployeeEntry, StoredEmployee, Tombstone};
use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::{Value, json};

/// Passphrase of the `key_file` seed; the oracle unseals mutated files with it.
pub const KEY_FILE_PASSPHRASE: &str = "fuzz passphrase";

/// JOSE header of every hrvault token.
pub const TOKEN_HEADER: &str = r#"{"alg":"EdDSA","typ":"JWT"}"#;

/// `sub` of the genuine token.
pub const TOKEN_SUB: &str = "5f0c3a8e-6b1d-4c2e-9a7f-0d1e2f3a4b5c";

/// The fixed token signing key of the oracles (a public test key: never use it elsewhere).
pub fn token_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&[0x42; 32]).expect("32 bytes are a valid seed"))
}

/// Claims of the genuine token: valid until 2100-01-01.
pub fn genuine_claims() -> Value {
    json!({
        "iss": "hrvault",
        "aud": "hrvault-api",
        "sub": TOKEN_SUB,
        "role": "hr",
        "jti": "9b2e4c1a-7d3f-4e5b-8a6c-1f2e3d4c5b6a",
        "iat": 1_767_225_600,
        "exp": 4_102_444_800_i64,
        "tgen": 0
    })
}

/// The one token the oracles accept: header and claims as hrvault issues them, signed with
/// `token_key()`. Ed25519 is deterministic, so this is a constant.
pub fn genuine_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let claims = serde_json::to_vec(&genuine_claims()).expect("claims serialize");
        let input = format!("{}.{}", B64URL.encode(TOKEN_HEADER), B64URL.encode(claims));
        let sig = B64URL.encode(token_key().sign(input.as_bytes()));
        format!("{input}.{sig}")
    })
}

/// A create body that passes every rule, with the optional fields filled in.
pub fn employee() -> Value {
    json!({
        "employee_number": "E-1001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "preferred_name": "Ada",
        "work_email": "ada.lovelace@example.com",
        "department": "R&D",
        "job_title": "Analyst",
        "manager_id": "0b6f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
        "location": "London",
        "hire_date": "2026-01-15",
        "status": "active",
        "termination_date": "2027-06-30",
        "ssn": "123-45-6789",
        "date_of_birth": "1990-04-01",
        "home_address": {
            "line1": "12 St James's Square",
            "line2": "Flat 3",
            "city": "London",
            "state": "Greater London",
            "postal_code": "SW1Y 4JH",
            "country": "GB"
        },
        "bank_account": {"routing_number": "011000015", "account_number": "000123456789"}
    })
}

/// The same record with only the required fields.
pub fn employee_minimal() -> Value {
    json!({
        "employee_number": "E-1002",
        "first_name": "Grace",
        "last_name": "Hopper",
        "hire_date": "2026-02-01",
        "ssn": "234567890",
        "date_of_birth": "1980-12-09"
    })
}

/// A JSONL audit chain of `reasons.len()` entries (entry `i` has reason `reasons[i]`), every
/// line terminated by `\n`, exactly as the writer and the export produce it.
pub fn chain(reasons: &[Option<String>]) -> Vec<String> {
    let mut prev = GENESIS_HASH.to_owned();
    let mut scratch = Vec::new();
    let outcomes = [Outcome::Success, Outcome::Denied, Outcome::Error];
    let roles = [Some("hr"), Some("payroll"), None, Some("auditor")];
    let mut lines = Vec::with_capacity(reasons.len());
    for (i, reason) in reasons.iter().enumerate() {
        let seq = i as u64 + 1;
        // Built as JSON: `ActorRef` is not exported, and this is the wire form anyway.
        let v = json!({
            "seq": seq,
            "ts": format!("2026-01-15T09:00:{:02}.{:06}Z", i % 60, i * 7),
            "actor": {
                "user_id": (i % 4 != 2).then_some(TOKEN_SUB),
                "username": (i % 4 != 2).then(|| format!("user{}", i % 3)),
                "role": roles[i % 4],
            },
            "action": Action::ALL[i % Action::ALL.len()].as_str(),
            "employee_id": (i % 2 == 0).then(|| format!("0b6f1c2d-3e4f-4a5b-8c6d-{i:012x}")),
            "employee_ids": (i % 3 == 1).then(|| vec![TOKEN_SUB]),
            "fields": (i % 4 == 2).then(|| vec!["ssn", "bank_account"]),
            "reason": reason,
            "outcome": outcomes[i % 3].as_str(),
            "source_ip": "127.0.0.1",
            "request_id": format!("req-{seq}"),
            "prev_hash": prev,
            "hash": "",
        });
        let text = v.to_string();
        let mut e = serde_json::from_str::<EntryRef<'_>>(&text)
            .expect("a well-formed entry")
            .into_owned();
        e.hash = Cow::Owned(e.computed_hash(&mut scratch));
        prev = e.hash.to_string();
        let mut line = serde_json::to_string(&e).expect("an entry serializes");
        line.push('\n');
        lines.push(line);
    }
    lines
}

/// A live stored row, as `store::insert_employee` writes it: `[1] || postcard(entry)`.
pub fn stored_live(public: PublicFields, honeytoken: bool) -> Vec<u8> {
    let at = |s: i64| Timestamp::from_second(s).expect("in range");
    let entry = EmployeeEntry::Live(Box::new(StoredEmployee {
        id: EmployeeId::from_bytes([7; 16]),
        public,
        version: 3,
        created_at: at(1_767_225_600),
        updated_at: at(1_767_312_000),
        honeytoken,
        record_key: RecordKeyRef {
            slot: 7,
            master_version: 1,
            key_version: 1,
        },
        ssn: Sealed(vec![1; 37]),
        ssn_index: BlindIndex([9; 32]),
        date_of_birth: Sealed(vec![2; 38]),
        home_address: Some(Sealed(vec![3; 80])),
        bank_account: None,
    }));
    encode(&entry)
}

/// A crypto-shredded row.
pub fn stored_tombstone() -> Vec<u8> {
    encode(&EmployeeEntry::Deleted(Tombstone {
        id: EmployeeId::from_bytes([8; 16]),
        deleted_at: Timestamp::from_second(1_767_398_400).expect("in range"),
        honeytoken: false,
    }))
}

fn encode(entry: &EmployeeEntry) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend(postcard::to_allocvec(entry).expect("plain data encodes"));
    out
}

/// Public fields of `employee()`.
pub fn public_fields() -> PublicFields {
    let draft: EmployeeDraft =
        serde_json::from_value(employee()).expect("the sample is a valid draft");
    NewEmployee::parse(&draft)
        .map(|n| n.public)
        .unwrap_or_else(|_| panic!("the sample employee validates"))
}

/// The contract's configuration example.
pub const CONFIG: &str = r#"[auth]
token_ttl_secs = 900
login_attempts_per_minute = 10

[monitor]
window_secs = 3600
excessive_access_threshold = 50
denied_probing_threshold = 5
bulk_reveal_threshold = 10
business_hours = "22:00-06:00"
business_days = "Mon-Fri"
timezone = "Europe/Berlin"
restrict_flagged = true
alert_webhook = "http://127.0.0.1:9000/hook"
alert_webhook_secret = "s3cret"

[monitor.groups]
"R&D" = true
"Sales" = false
"#;

/// An HRIS export with every column, one full row, one minimal row and one invalid row.
pub const CSV: &str = "employee_number,first_name,last_name,preferred_name,work_email,department,job_title,manager_id,location,hire_date,status,termination_date,ssn,date_of_birth,home_address.line1,home_address.line2,home_address.city,home_address.state,home_address.postal_code,home_address.country,bank_account.routing_number,bank_account.account_number
E-1001,Ada,Lovelace,Ada,ada@example.com,R&D,Analyst,0b6f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d,London,2026-01-15,active,,123-45-6789,1990-04-01,\"12 St James's Square, Flat 3\",,London,,SW1Y 4JH,GB,011000015,000123456789
E-1002,Grace,Hopper,,,,,,,2026-02-01,,,234567890,1980-12-09,,,,,,,,
E-1003,\"Quote \"\"Q\"\"\",X,,,,,,,2026-13-01,,,000-00-0000,1980-12-09,,,,,,,,
";

/// A fresh key file sealed under `KEY_FILE_PASSPHRASE` with the cheap test KDF parameters.
pub fn key_file_bytes() -> Vec<u8> {
    let kdf = KdfParams::danger_insecure_fast().expect("RNG");
    KeyFile::create(
        &SecretString::from(KEY_FILE_PASSPHRASE),
        kdf,
        "2026-01-15T09:00:00.000000Z",
    )
    .map(|(file, _)| file.to_bytes())
    .unwrap_or_else(|_| panic!("a key file can be created"))
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a Value serializes")
}

/// Seeds per target: `(target, file name, bytes)`. `key_file` is left out (not deterministic;
/// `tests/parsers_never_panic.rs` writes it when regenerating).
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let chain = chain(&[None, Some("payroll \"correction\"\n\u{1f}".into()), None]).concat();
    let mut patch = json_bytes(&employee());
    patch.push(0xFF);
    patch.extend(br#"{"last_name":"Byron","preferred_name":null,"bank_account":{"routing_number":"011000015","account_number":"1234"}}"#);
    let mut claims_with_header = TOKEN_HEADER.as_bytes().to_vec();
    claims_with_header.push(0);
    claims_with_header.extend(json_bytes(&genuine_claims()));
    vec![
        ("employee_json", "full.json", json_bytes(&employee())),
        (
            "employee_json",
            "minimal.json",
            json_bytes(&employee_minimal()),
        ),
        ("employee_patch", "patch.bin", patch),
        (
            "stored_record",
            "live.bin",
            stored_live(public_fields(), false),
        ),
        ("stored_record", "tombstone.bin", stored_tombstone()),
        (
            "audit_entry",
            "entry.json",
            chain.lines().nth(1).unwrap_or("").as_bytes().to_vec(),
        ),
        ("audit_chain", "three.jsonl", chain.into_bytes()),
        (
            "token_verify",
            "genuine.jwt",
            genuine_token().as_bytes().to_vec(),
        ),
        ("token_claims", "claims.json", json_bytes(&genuine_claims())),
        ("token_claims", "header_claims.bin", claims_with_header),
        ("config_toml", "contract.toml", CONFIG.as_bytes().to_vec()),
                ("csv_import", "import.csv", CSV.as_bytes().to_vec()),
        ("token_form", "client_credentials.form", b"grant_type=client_credentials&client_id=payroll-svc&client_secret=Zk3%2Bq%2Fs3cr3t&scope=export".to_vec()),
        ("token_form", "basic.bin", b"Basic cGF5cm9sbC1zdmM6WmszX3Etc2VjcmV0\0grant_type=client_credentials".to_vec()),
        ("export_line", "full.json", json_bytes(&employee())),
        ("export_line", "minimal.json", json_bytes(&employee_minimal())),
        ("scalars", "ssn.txt", b"123-45-6789".to_vec()),
        ("scalars", "date.txt", b"2024-02-29".to_vec()),
        ("scalars", "username.txt", b"hr.onboarding@corp".to_vec()),
        ("scalars", "uuid.txt", TOKEN_SUB.as_bytes().to_vec()),
        ("json_body", "employee.json", json_bytes(&employee())),
        ("json_body", "nested_duplicate.json", br#"{"home_address":{"city":"a","city":"b"}}"#.to_vec()),
        ("json_body", "array.json", br#"[true,"auditor"]"#.to_vec()),
    ]
}
