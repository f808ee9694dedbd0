//! `/metrics` (CONTRACT §2 monitor, §4): unauthenticated scrapers see no alert, rule or monitor
//! figure; a `security` or `admin` token sees them; label values are bounded whatever methods
//! and paths arrive.

use std::time::Duration;

use super::common::{WAIT, draft, poll};
use super::oauth::send;
use super::world;

fn scrape(token: Option<&str>) -> String {
    let w = world();
    let mut r = w.c().get("/metrics");
    if let Some(t) = token {
        r = r.token(t);
    }
    r.send().expect(200).text()
}

const MONITOR_FAMILIES: [&str; 5] = [
    "hrvault_alerts_raised",
    "hrvault_monitor_events",
    "hrvault_monitor_processed_seq",
    "hrvault_webhook_deliveries",
    "hrvault_webhook_failures",
];

#[test]
fn monitor_figures_need_a_security_or_admin_token() {
    let w = world();
    let s = &w.staff;
    // Raise an alert (a read of a honeytoken), so that there is a rule figure to hide.
    let decoy = w
        .c()
        .post("/v1/honeytokens")
        .token(&s.security.token)
        .json(&draft())
        .send();
    let id = decoy.expect(201).json()["id"].as_str().unwrap().to_owned();
    w.c()
        .get(&format!("/v1/employees/{id}"))
        .token(&s.hr.token)
        .send()
        .expect(200);
    poll(
        "the alert in /metrics",
        WAIT,
        Duration::from_millis(50),
        || {
            scrape(Some(&s.security.token))
                .contains("hrvault_alerts_raised_total{rule=\"honeytoken_access\"}")
                .then_some(())
        },
    );
    for (who, token) in [
        ("nobody", None),
        ("hr", Some(s.hr.token.as_str())),
        ("payroll", Some(s.payroll.token.as_str())),
        ("auditor", Some(s.auditor.token.as_str())),
        ("a bad token", Some("not.a.token")),
    ] {
        let text = scrape(token);
        assert!(text.contains("hrvault_http_requests_total"), "{who}");
        for f in MONITOR_FAMILIES {
            assert!(!text.contains(f), "{who} sees {f}");
        }
    }
    for (who, token) in [("security", &s.security.token), ("admin", &s.admin.token)] {
        let text = scrape(Some(token));
        for f in MONITOR_FAMILIES {
            assert!(text.contains(f), "{who} does not see {f}:\n{text}");
        }
    }
}

/// Issue 10: any method name, of any length, became a permanent label series.
#[test]
fn random_methods_and_paths_do_not_grow_metrics() {
    let w = world();
    let c = w.c();
    // Any token of method characters, of any length, sent by hand (client libraries refuse
    // non-standard methods).
    let odd = |method: &str, path: &str| {
        let r = send(
            &format!("{method} {path} HTTP/1.1\nHost: {{host}}\nContent-Length: 0\n"),
            b"",
        );
        assert!(r.status >= 400, "{method} {path}: {}", r.status);
    };
    // Warm up the label sets these requests can reach, then measure.
    odd("BREW", "/v1/users");
    odd("BREW", "/no/such/path/x");
    c.get("/v1/employees/0/nothing").send();
    // The series these requests can reach: by `other` methods or on unmatched paths.
    let odd_series = |text: &str| -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|l| l.starts_with("hrvault_http_requests_total{"))
            .filter(|l| l.contains("method=\"other\"") || l.contains("route=\"unmatched\""))
            .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
            .collect()
    };
    let before = odd_series(&scrape(None));
    for i in 0..50 {
        let method = format!("M{i}{}", "X".repeat(i * 20));
        odd(&method, "/v1/users");
        odd(&method, &format!("/no/such/path/{i}"));
        c.get(&format!("/v1/employees/{i}/nothing-{i}")).send();
    }
    let text = scrape(None);
    assert!(!text.contains("M1X"), "a method became a label");
    assert!(!text.contains("nothing-"), "a path became a label");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    assert_eq!(odd_series(&text), before, "new label series appeared");
    for l in text
        .lines()
        .filter(|l| l.starts_with("hrvault_http_requests_total{"))
    {
        let method = l
            .split("method=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            [
                "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
                "other"
            ]
            .contains(&method),
            "{l}"
        );
    }
}
