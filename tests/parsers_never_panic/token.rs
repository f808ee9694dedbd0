//! The genuine token with one edit; signed tokens whose header or claims are one step off.

use super::*;

#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, char),
    Delete(prop::sample::Index),
    Insert(prop::sample::Index, char),
    Truncate(prop::sample::Index),
    Append(String),
}

fn b64_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .chars()
                .collect::<Vec<_>>()
        ),
        1 => prop::sample::select(vec!['.', '=', '+', '/', ' ', '\n', 'é']),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let ix = any::<prop::sample::Index>;
    prop_oneof![
        4 => (ix(), b64_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        1 => ix().prop_map(Edit::Delete),
        1 => (ix(), b64_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        1 => ix().prop_map(Edit::Truncate),
        1 => prop::sample::select(vec!["=", "==", ".", ".x", " ", "A"]).prop_map(|s| Edit::Append(s.into())),
    ]
}

/// A claim set one step away from the genuine one.
fn claims() -> impl Strategy<Value = Value> {
    let keys = vec![
        "iss", "aud", "sub", "role", "jti", "iat", "exp", "nbf", "tgen",
    ];
    let value = prop_oneof![
        Just(Value::Null),
        Just(serde_json::json!("4102444800")),
        Just(serde_json::json!(4_102_444_800.5)),
        Just(serde_json::json!(1)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(i64::MAX)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(["hrvault-api"])),
        Just(serde_json::json!({"$numberLong": "4102444800"})),
        Just(serde_json::json!("hrvault")),
        Just(serde_json::json!("admin")),
    ];
    (prop::sample::select(keys), prop::option::of(value)).prop_map(|(k, v)| {
        let mut c = samples::genuine_claims();
        let map = c.as_object_mut().expect("object");
        match v {
            None => {
                map.remove(k);
            }
            Some(v) => {
                map.insert(k.to_owned(), v);
            }
        }
        c
    })
}

fn header() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        samples::TOKEN_HEADER,
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"eddsa","typ":"JWT"}"#,
        r#"{"alg":"EdDSA"}"#,
        r#"{"alg":"EdDSA","typ":"JWT","kid":"x","jku":"http://evil/"}"#,
        r#"{"alg":"EdDSA","crit":["exp"]}"#,
        r#"{"typ":"JWT"}"#,
        r#"[]"#,
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The genuine token with one edit is refused (unless the edit changed nothing).
    #[test]
    fn edited_tokens_are_refused(e in edit()) {
        let mut t: Vec<char> = samples::genuine_token().chars().collect();
        match e {
            Edit::Replace(i, c) => { let i = i.index(t.len()); t[i] = c; }
            Edit::Delete(i) => { t.remove(i.index(t.len())); }
            Edit::Insert(i, c) => t.insert(i.index(t.len() + 1), c),
            Edit::Truncate(i) => t.truncate(i.index(t.len())),
            Edit::Append(s) => t.extend(s.chars()),
        }
        let t: String = t.into_iter().collect();
        oracles::token_verify(t.as_bytes());
    }

    /// Properly signed tokens whose header or claims are one step off: accepted only
    /// when every rule holds (the oracle checks alg, iss, aud, sub, exp, nbf).
    #[test]
    fn signed_claims_one_step_off(h in header(), c in claims()) {
        let mut data = h.into_bytes();
        data.push(0);
        data.extend(serde_json::to_vec(&c).expect("serializes"));
        oracles::token_claims(&data);
    }
}

/// Token request forms: the genuine one with one parameter changed, and arbitrary text.
fn form() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9._~-]{1,20}",
        "[ -~]{0,20}".prop_map(|s| s.replace('&', "%26")),
        prop::collection::vec(any::<char>(), 0..10).prop_map(String::from_iter),
    ];
    let key = prop::sample::select(vec![
        "grant_type",
        "client_id",
        "client_secret",
        "scope",
        "other",
    ]);
    prop_oneof![
        (key, value).prop_map(|(k, v)| format!(
            "grant_type=client_credentials&client_id=svc&client_secret=s&{k}={v}"
        )),
        "[ -~]{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Forms near the genuine request and arbitrary text never panic; accepted ones round-trip.
    #[test]
    fn token_forms(f in form()) {
        oracles::token_form(f.as_bytes());
    }
}
