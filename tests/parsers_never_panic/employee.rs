//! JSON create and PATCH bodies one field away from valid; valid records; scalar text.

use super::*;

const PATHS: [&str; 22] = hrvault::model::EmployeeDraft::COLUMNS;
const OPTIONAL: [&str; 13] = [
    "preferred_name",
    "work_email",
    "department",
    "job_title",
    "manager_id",
    "location",
    "status",
    "termination_date",
    "home_address",
    "bank_account",
    "home_address.line2",
    "home_address.state",
    "home_address.postal_code",
];

#[derive(Debug, Clone)]
enum Mutation {
    Remove,
    Null,
    Text(String),
    Number(i64),
    Bool,
    Array,
    Object,
    Unknown(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::Remove),
        1 => Just(Mutation::Null),
        4 => near_string().prop_map(Mutation::Text),
        1 => any::<i64>().prop_map(Mutation::Number),
        1 => Just(Mutation::Bool),
        1 => Just(Mutation::Array),
        1 => Just(Mutation::Object),
        1 => "[a-z_]{1,12}".prop_map(Mutation::Unknown),
    ]
}

fn path() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        prop::sample::select(&PATHS[..]),
        Just("home_address"),
        Just("bank_account")
    ]
}

fn mutate(mut v: Value, path: &str, m: &Mutation) -> Value {
    let (obj, key) = match path.split_once('.') {
        Some((outer, inner)) => {
            if !v[outer].is_object() {
                v[outer] = serde_json::json!({});
            }
            (&mut v[outer], inner)
        }
        None => (&mut v, path),
    };
    let map = obj.as_object_mut().expect("an object");
    let key = key.to_owned();
    match m {
        Mutation::Remove => {
            map.remove(&key);
        }
        Mutation::Null => {
            map.insert(key, Value::Null);
        }
        Mutation::Text(s) => {
            map.insert(key, Value::String(s.clone()));
        }
        Mutation::Number(n) => {
            map.insert(key, (*n).into());
        }
        Mutation::Bool => {
            map.insert(key, true.into());
        }
        Mutation::Array => {
            map.insert(key, serde_json::json!(["x"]));
        }
        Mutation::Object => {
            map.insert(key, serde_json::json!({}));
        }
        Mutation::Unknown(k) => {
            map.insert(format!("x_{k}"), 1.into());
        }
    }
    v
}

fn aba(d: [u32; 8]) -> String {
    let partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5];
    let check = (10 - partial % 10) % 10;
    d.iter().chain([&check]).map(|n| n.to_string()).collect()
}

/// Records that satisfy every rule (with random content and optional parts).
fn valid_record() -> impl Strategy<Value = Value> {
    let names = "[A-Za-z][\\PC]{0,40}";
    let ssn = (1u32..900, 1u32..100, 1u32..10_000, any::<bool>())
        .prop_filter("666 is not an area", |(a, ..)| *a != 666)
        .prop_map(|(a, g, s, dashes)| {
            if dashes {
                format!("{a:03}-{g:02}-{s:04}")
            } else {
                format!("{a:03}{g:02}{s:04}")
            }
        });
    let date = |years: std::ops::RangeInclusive<i32>| {
        (years, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
    };
    let address = prop::option::of((names, names, names, prop::option::of(names)));
    let bank = prop::option::of((prop::array::uniform8(0u32..10), "[0-9]{4,17}"));
    (
        ("[A-Za-z0-9-]{1,32}", names, names, prop::option::of(names)),
        (ssn, date(1950..=2000), date(2020..=2030), any::<bool>()),
        (
            prop::option::of("[a-z]{1,10}@[a-z]{1,10}\\.(com|org)"),
            prop::option::of(any::<[u8; 16]>()),
            prop::option::of(prop::sample::select(
                &["onboarding", "active", "on_leave", "terminated"][..],
            )),
        ),
        (address, bank),
    )
        .prop_map(|(names, dates, misc, nested)| {
            let (number, first, last, preferred) = names;
            let (ssn, dob, hire, terminated) = dates;
            let (email, manager, status) = misc;
            let mut v = serde_json::json!({
                "employee_number": number, "first_name": first, "last_name": last,
                "preferred_name": preferred, "ssn": ssn, "date_of_birth": dob,
                "hire_date": hire, "work_email": email, "status": status,
                "manager_id": manager.map(|b| hrvault::model::EmployeeId::from_bytes(b).to_string()),
            });
            if terminated {
                v["termination_date"] = hire.clone().into();
            }
            if let Some((line1, city, country, state)) = nested.0 {
                v["home_address"] = serde_json::json!({
                    "line1": line1, "city": city, "country": country, "state": state
                });
            }
            if let Some((routing, account)) = nested.1 {
                v["bank_account"] = serde_json::json!({
                    "routing_number": aba(routing), "account_number": account
                });
            }
            v
        })
}

fn patch() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        Just(Value::Null),
        near_string().prop_map(Value::String),
        Just(serde_json::json!({"line1": "1 Main St", "city": "Oslo", "country": "NO"})),
        Just(serde_json::json!({"routing_number": "011000015", "account_number": "1234"})),
    ];
    let keys: Vec<&'static str> = PATHS[..14]
        .iter()
        .copied()
        .chain(["home_address", "bank_account"])
        .collect();
    prop::collection::btree_map(prop::sample::select(keys), value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// One field of a valid body mutated: no panic; strictness of types and fields holds;
    /// dropping an optional field keeps the body valid.
    #[test]
    fn one_field_mutated(full in any::<bool>(), path in path(), m in mutation()) {
        let base = if full { samples::employee() } else { samples::employee_minimal() };
        let v = mutate(base, path, &m);
                let bytes = serde_json::to_vec(&v).expect("serializes");
        oracles::employee_json(&bytes);
        oracles::export_line(&bytes);
        let parsed = serde_json::from_slice::<EmployeeDraft>(&bytes);
        let whole_object = matches!(path, "home_address" | "bank_account");
        match &m {
            Mutation::Unknown(_) => prop_assert!(parsed.is_err(), "unknown field accepted"),
            Mutation::Number(_) | Mutation::Bool | Mutation::Array => {
                prop_assert!(parsed.is_err(), "wrong type accepted")
            }
            Mutation::Object if !whole_object => prop_assert!(parsed.is_err()),
            Mutation::Remove | Mutation::Null if full && OPTIONAL.contains(&path) => {
                let draft = parsed.expect("still a draft");
                prop_assert!(oracles::check_draft(&draft).is_some(), "optional {} dropped", path);
            }
            _ => {}
        }
    }

    /// Bodies that satisfy every rule validate, and re-validate identically (the oracle).
    #[test]
        fn valid_records_validate(v in valid_record()) {
        // Every valid record also goes through the payroll export line and back.
        oracles::export_line(&serde_json::to_vec(&v).expect("serializes"));
        let draft: EmployeeDraft = serde_json::from_value(v).expect("a draft");
        prop_assert!(oracles::check_draft(&draft).is_some());
    }

    /// PATCH bodies applied to a valid record (the oracle checks every field of the result).
    #[test]
    fn patches_apply_exactly(full in any::<bool>(), p in patch()) {
        let base = if full { samples::employee() } else { samples::employee_minimal() };
        let mut data = serde_json::to_vec(&base).expect("serializes");
        data.push(0xFF);
        data.extend(serde_json::to_vec(&p).expect("serializes"));
        oracles::employee_patch(&data);
    }

    /// The small parsers on near-valid text.
    #[test]
    fn scalars_near_valid(s in near_string()) {
        oracles::scalars(s.as_bytes());
    }
}
