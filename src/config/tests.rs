use super::*;

#[test]
fn defaults_match_the_contract() {
    let s = Settings::default();
    assert_eq!(
        s.auth,
        AuthSettings {
            token_ttl_secs: 900,
            login_attempts_per_minute: 10,
            lookups_per_minute: 30,
        }
    );
    assert_eq!(s.monitor.window_secs, 3600);
    assert_eq!(
        (
            s.monitor.excessive_access_threshold,
            s.monitor.denied_probing_threshold,
            s.monitor.bulk_reveal_threshold
        ),
        (50, 5, 10)
    );
    assert_eq!(
        s.monitor.business_hours,
        BusinessHours {
            start_min: 480,
            end_min: 1080
        }
    );
    assert_eq!(s.monitor.business_days.len(), 5);
    assert!(s.monitor.restrict_flagged);
}

#[test]
fn the_contract_example_parses() {
    let s = Settings::parse(
        r#"
[auth]
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
"#,
    )
    .unwrap();
    let h = s.monitor.business_hours;
    assert!(
        h.contains(23 * 60)
            && h.contains(0)
            && h.contains(5 * 60 + 59)
            && !h.contains(6 * 60)
            && !h.contains(12 * 60)
    );
    assert!(!s.monitor.monitors(Some("Sales")));
    assert!(
        s.monitor.monitors(Some("R&D"))
            && s.monitor.monitors(Some("Unlisted"))
            && s.monitor.monitors(None)
    );
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[auth]\ntoken_ttl_secs = 0", "auth.token_ttl_secs"),
        ("[auth]\ntoken_ttl_secs = \"long\"", "token_ttl_secs"),
        ("[auth]\nbogus = 1", "bogus"),
        ("[nope]\nx = 1", "nope"),
        (
            "[monitor]\nbusiness_hours = \"8-18\"",
            "monitor.business_hours",
        ),
        (
            "[monitor]\nbusiness_days = \"Funday\"",
            "monitor.business_days",
        ),
        ("[monitor]\ntimezone = \"Mars/Olympus\"", "monitor.timezone"),
        (
            "[monitor]\nalert_webhook = \"ftp://x\"\nalert_webhook_secret = \"k\"",
            "monitor.alert_webhook",
        ),
        (
            "[monitor]\nalert_webhook = \"http://x/h\"",
            "monitor.alert_webhook_secret",
        ),
        (
            "[monitor]\ndenied_probing_threshold = -1",
            "monitor.denied_probing_threshold",
        ),
        ("[monitor.groups]\nSales = \"yes\"", "Sales"),
    ];
    for (text, key) in cases {
        let err = Settings::parse(text).unwrap_err().0;
        assert!(err.contains(key), "{text:?} -> {err}");
    }
}

#[test]
fn server_and_tls_follow_the_contract() {
    let s = Settings::default();
    assert_eq!(
        s.server,
        ServerSettings {
            max_connections: 1024,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            min_free_disk_mb: 512
        }
    );
    assert_eq!(s.tls, None);
    let s = Settings::parse(
        r#"
[server]
max_connections = 8
header_timeout_secs = 2
idle_timeout_secs = 3
min_free_disk_mb = 0

[tls]
cert_file = "/etc/hrvault/tls/cert.pem"
key_file = "/etc/hrvault/tls/key.pem"
client_ca_file = "/etc/hrvault/tls/clients.pem"

[monitor]
alert_webhook = "https://siem.internal/hook"
alert_webhook_ca_file = "/etc/hrvault/siem-ca.pem"
alert_webhook_secret = "k"
"#,
    )
    .unwrap();
    assert_eq!(s.server.max_connections, 8);
    assert_eq!(s.server.min_free_disk_mb, 0);
    let tls = s.tls.unwrap();
    assert_eq!(tls.key_file, PathBuf::from("/etc/hrvault/tls/key.pem"));
    assert!(tls.client_ca_file.is_some());
    assert_eq!(
        s.monitor.alert_webhook.as_deref(),
        Some("https://siem.internal/hook")
    );
    assert!(s.monitor.alert_webhook_ca_file.is_some());
}

#[test]
fn server_and_tls_errors_name_the_key() {
    let cases = [
        ("[server]\nmax_connections = 0", "server.max_connections"),
        (
            "[server]\nheader_timeout_secs = -1",
            "server.header_timeout_secs",
        ),
        (
            "[server]\nidle_timeout_secs = \"soon\"",
            "idle_timeout_secs",
        ),
        ("[server]\nmin_free_disk_mb = -5", "server.min_free_disk_mb"),
        ("[server]\nbacklog = 5", "backlog"),
        ("[tls]\ncert_file = \"c.pem\"", "tls.key_file"),
        ("[tls]\nkey_file = \"k.pem\"", "tls.cert_file"),
        ("[tls]\nclient_ca_file = \"ca.pem\"", "tls.cert_file"),
        ("[tls]\ncert_file = \"\"\nkey_file = \"k\"", "tls.cert_file"),
        ("[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nca = 1", "ca"),
        (
            "[monitor]\nalert_webhook_ca_file = \"ca.pem\"",
            "monitor.alert_webhook_ca_file",
        ),
        (
            "[monitor]\nalert_webhook = \"https://\"\nalert_webhook_secret = \"k\"",
            "monitor.alert_webhook",
        ),
    ];
    for (text, key) in cases {
        let err = Settings::parse(text).unwrap_err().0;
        assert!(err.contains(key), "{text:?} -> {err}");
    }
}

#[test]
fn a_mistyped_secret_is_not_echoed() {
    let err = Settings::parse("[monitor]\nalert_webhook_secret = 123456789")
        .unwrap_err()
        .0;
    assert!(err.contains("monitor.alert_webhook_secret"), "{err}");
    assert!(!err.contains("123456789"), "{err}");
}

#[test]
fn day_lists_and_ranges() {
    assert_eq!(
        parse_days("Sat-Mon").unwrap(),
        vec![Weekday::Monday, Weekday::Saturday, Weekday::Sunday]
    );
    assert_eq!(parse_days("Mon,Wed,Fri").unwrap().len(), 3);
}
