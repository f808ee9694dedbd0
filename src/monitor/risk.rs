//! The per-user risk score of `GET /v1/risk`: explainable by hand.
//!
//! `score = Σ weight(severity) × status factor × 0.5^(age_days / 7)` over the user's alerts,
//! rounded to two decimals, where weight is low 1, medium 3, high 7, critical 15; the status
//! factor is open 1, acknowledged 0.5, resolved 0; the age is measured from the alert's
//! creation (a 7-day half-life: last week's alert counts half).

use jiff::Timestamp;

use crate::model::Severity;

/// Weight of one alert of `severity`.
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Low => 1.0,
        Severity::Medium => 3.0,
        Severity::High => 7.0,
        Severity::Critical => 15.0,
    }
}

/// One alert as the score sees it.
#[derive(Debug, Clone, Copy)]
pub struct RiskInput {
    pub severity: Severity,
    /// `open`, `acknowledged` or `resolved`.
    pub status_factor: f64,
    pub created_at: Timestamp,
}

const HALF_LIFE_DAYS: f64 = 7.0;

/// The score of a user's alerts at `now`.
pub fn risk_score(alerts: &[RiskInput], now: Timestamp) -> f64 {
    let raw: f64 = alerts
        .iter()
        .map(|a| {
            let age_days = ((now.as_second() - a.created_at.as_second()).max(0) as f64) / 86_400.0;
            severity_weight(a.severity) * a.status_factor * 0.5f64.powf(age_days / HALF_LIFE_DAYS)
        })
        .sum();
    (raw * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_status_and_half_life() {
        let now: Timestamp = "2026-03-15T00:00:00Z".parse().unwrap();
        let week_ago: Timestamp = "2026-03-08T00:00:00Z".parse().unwrap();
        let a = |s, f, t| RiskInput {
            severity: s,
            status_factor: f,
            created_at: t,
        };
        assert_eq!(risk_score(&[a(Severity::High, 1.0, now)], now), 7.0);
        assert_eq!(risk_score(&[a(Severity::High, 1.0, week_ago)], now), 3.5);
        assert_eq!(
            risk_score(
                &[a(Severity::Critical, 0.5, now), a(Severity::Low, 0.0, now)],
                now
            ),
            7.5
        );
        assert_eq!(risk_score(&[], now), 0.0);
    }
}
