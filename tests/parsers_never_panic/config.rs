//! Configuration files built from valid, wrongly typed and broken lines.

use super::*;

fn line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "token_ttl_secs",
        "login_attempts_per_minute",
        "window_secs",
        "excessive_access_threshold",
        "denied_probing_threshold",
        "bulk_reveal_threshold",
        "business_hours",
        "business_days",
        "timezone",
        "restrict_flagged",
        "alert_webhook",
        "alert_webhook_secret",
        "groups",
        "\"R&D\"",
        "bogus",
        "ключ",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "86400",
            "86401",
            "9223372036854775807",
            "1e3",
            "true",
            "\"08:00-18:00\"",
            "\"22:00-06:00\"",
            "\"8-18\"",
            "\"+1:00-02:00\"",
            "\"12:00-12:00\"",
            "\"Mon-Fri\"",
            "\"Sat-Mon\"",
            "\"mon,,fri\"",
            "\"Funday\"",
            "\"Monkey-Frisbee\"",
            "\"ü\"",
            "\"UTC\"",
            "\"Europe/Berlin\"",
            "\"../../etc/passwd\"",
            "\"http://127.0.0.1/h\"",
            "\"ftp://x\"",
            "[1, 2]",
            "{ a = 1 }",
            "\"unterminated",
            "'literal'",
            "\"\"\"multi\nline\"\"\"",
        ])
        .prop_map(str::to_owned),
        near_string().prop_map(|s| format!("{s:?}")),
    ];
    let section = prop::sample::select(vec![
        "[auth]",
        "[monitor]",
        "[monitor.groups]",
        "[nope]",
        "[[auth]]",
        "[monitor",
    ]);
    prop_oneof![
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => section.prop_map(str::to_owned),
        1 => near_string(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Plausible configuration files, each line drawn from keys, values and sections
    /// that are valid, of the wrong type, or broken.
    #[test]
    fn near_valid_files(lines in prop::collection::vec(line(), 0..10)) {
        oracles::config_toml(lines.join("\n").as_bytes());
    }

    /// The contract example with one line replaced.
    #[test]
    fn example_with_one_line_changed(at in any::<prop::sample::Index>(), new in line()) {
        let mut lines: Vec<&str> = samples::CONFIG.lines().collect();
        let i = at.index(lines.len());
        lines[i] = &new;
        oracles::config_toml(lines.join("\n").as_bytes());
    }
}
