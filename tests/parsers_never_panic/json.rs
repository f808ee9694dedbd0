//! JSON request bodies: arbitrary JSON trees (objects, arrays, scalars, at any depth) written
//! compactly or with a key repeated, a tail appended or the outer object wrapped in an array.

use super::*;

fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        near_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn json_trees(v in tree(), tail in prop::sample::select(vec!["", " ", "\n", "x", "{}", "]"])) {
        let text = serde_json::to_string(&v).expect("serializes");
        oracles::json_body(text.as_bytes());
        oracles::json_body(format!("{text}{tail}").as_bytes());
        oracles::json_body(format!("[{text}]").as_bytes());
        let accepted = hrvault::api::check_json_body(text.as_bytes()).is_ok();
        prop_assert_eq!(accepted, v.is_object(), "objects (and only objects) without repeats pass");
    }
}
