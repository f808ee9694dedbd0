//! The TOML configuration file.

use hrvault::config::Settings;

/// Target `config_toml`: `Settings::parse` returns a validated value or an error naming a key.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Settings::parse(text) {
        Err(e) => assert!(!e.0.is_empty(), "an empty configuration error"),
        Ok(s) => {
            assert!((1..=86_400).contains(&s.auth.token_ttl_secs));
            assert!((1..=100_000).contains(&s.auth.login_attempts_per_minute));
            assert!((1..=30 * 86_400).contains(&s.monitor.window_secs));
            let h = s.monitor.business_hours;
            assert!(h.start_min < 1440 && h.end_min < 1440 && h.start_min != h.end_min);
            let days = &s.monitor.business_days;
            assert!(!days.is_empty() && days.len() <= 7);
            assert!(
                days.windows(2)
                    .all(|w| w[0].to_monday_zero_offset() < w[1].to_monday_zero_offset()),
                "business_days not sorted and unique"
            );
            if s.monitor.alert_webhook.is_some() {
                assert!(s.monitor.alert_webhook_secret.is_some());
            }
        }
    }
}
