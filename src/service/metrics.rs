//! Prometheus metrics (`GET /metrics`, OpenMetrics text): request counts and latency by route,
//! audit group-commit batch sizes and commit latency, monitor and webhook activity. Labels are
//! route templates, methods, statuses and rule names only — never ids or values.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RuleLabels {
    pub(crate) rule: String,
}

/// Every metric of the vault.
pub struct Metrics {
    /// What any scraper sees: HTTP and audit figures.
    registry: Registry,
    /// Monitor, alert and webhook figures: only for a `security` or `admin` token (CONTRACT §2:
    /// an insider must not watch their own alerts fire).
    monitor_registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram>,
    audit_entries: Counter,
    audit_batches: Counter,
    audit_failures: Counter,
    audit_batch_size: Histogram,
    audit_commit_seconds: Histogram,
    audit_head: Gauge,
    pub(crate) monitor_events: Counter,
    pub(crate) monitor_processed: Gauge,
    pub(crate) alerts_raised: Family<RuleLabels, Counter>,
    pub(crate) webhook_delivered: Counter,
    pub(crate) webhook_failures: Counter,
    disk_low: Gauge,
    disk_free: Gauge,
    space: std::sync::OnceLock<Arc<crate::audit::SpaceGuard>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hrvault");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let audit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        let audit_commit_seconds = Histogram::new(exponential_buckets(0.00005, 2.0, 16));
        let m = Self {
            http_requests: http_requests.clone(),
            http_seconds: http_seconds.clone(),
            audit_entries: Counter::default(),
            audit_batches: Counter::default(),
            audit_failures: Counter::default(),
            audit_batch_size: audit_batch_size.clone(),
            audit_commit_seconds: audit_commit_seconds.clone(),
            audit_head: Gauge::default(),
            monitor_events: Counter::default(),
            monitor_processed: Gauge::default(),
            alerts_raised: Family::default(),
            webhook_delivered: Counter::default(),
            webhook_failures: Counter::default(),
            disk_low: Gauge::default(),
            disk_free: Gauge::default(),
            space: std::sync::OnceLock::new(),
            registry: Registry::default(),
            monitor_registry: Registry::default(),
        };
        let mut monitor = Registry::with_prefix("hrvault");
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            http_requests,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route template",
            http_seconds,
        );
        registry.register(
            "audit_entries",
            "Audit entries made durable",
            m.audit_entries.clone(),
        );
        registry.register(
            "audit_batches",
            "Group commits (one fdatasync each)",
            m.audit_batches.clone(),
        );
        registry.register(
            "audit_commit_failures",
            "Group commits that failed (requests answered 503)",
            m.audit_failures.clone(),
        );
        registry.register(
            "audit_batch_size",
            "Entries per group commit",
            audit_batch_size,
        );
        registry.register(
            "audit_commit_seconds",
            "Append + fdatasync (+ store sync) time per group commit",
            audit_commit_seconds,
        );
        registry.register(
            "disk_low",
            "1 while free space on the data dir's file system is below server.min_free_disk_mb (audited requests answer 503)",
            m.disk_low.clone(),
        );
        registry.register(
            "disk_free_bytes",
            "Free bytes on the data dir's file system at the last look",
            m.disk_free.clone(),
        );
        registry.register(
            "audit_head_seq",
            "Sequence number of the last durable audit entry",
            m.audit_head.clone(),
        );
        monitor.register(
            "monitor_events",
            "Audit entries evaluated by the insider-threat monitor",
            m.monitor_events.clone(),
        );
        monitor.register(
            "monitor_processed_seq",
            "Last audit entry the monitor evaluated",
            m.monitor_processed.clone(),
        );
        monitor.register(
            "alerts_raised",
            "Insider-threat alerts raised, by rule",
            m.alerts_raised.clone(),
        );
        monitor.register(
            "webhook_deliveries",
            "Alert webhooks delivered",
            m.webhook_delivered.clone(),
        );
        monitor.register(
            "webhook_failures",
            "Alert webhook attempts that failed (retried)",
            m.webhook_failures.clone(),
        );
        Self {
            registry,
            monitor_registry: monitor,
            ..m
        }
    }

    /// Counts one HTTP response. Label values are bounded (CONTRACT §4): a method outside the
    /// standard nine counts as `other`, so no client can mint label series.
    pub fn http(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_owned(),
                method: method_label(method).to_owned(),
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts one audit group commit.
    pub fn audit_commit(&self, entries: u64, seconds: f64, ok: bool) {
        if ok {
            self.audit_batches.inc();
            self.audit_entries.inc_by(entries);
            if entries > 0 {
                self.audit_batch_size.observe(entries as f64);
            }
            self.audit_commit_seconds.observe(seconds);
        } else {
            self.audit_failures.inc();
        }
    }

    /// Counts a raised alert.
    pub(crate) fn alert_raised(&self, rule: &str) {
        self.alerts_raised
            .get_or_create(&RuleLabels {
                rule: rule.to_owned(),
            })
            .inc();
    }

    /// Alerts raised so far (all rules).
    pub fn alerts_raised_total(&self) -> u64 {
        crate::model::Rule::ALL
            .iter()
            .map(|r| {
                self.alerts_raised
                    .get_or_create(&RuleLabels {
                        rule: r.as_str().to_owned(),
                    })
                    .get()
            })
            .sum()
    }

    /// The monitor's position.
    pub fn monitor_processed_seq(&self) -> u64 {
        self.monitor_processed.get().max(0) as u64
    }

    /// Webhook failures so far.
    pub fn webhook_failures_total(&self) -> u64 {
        self.webhook_failures.get()
    }

    /// Rewrites an OpenMetrics exposition as classic Prometheus text (0.0.4): a counter family
    /// is named with its `_total` suffix in `# HELP`/`# TYPE`, and `# EOF` is dropped.
    pub fn to_prometheus_text(openmetrics: &str) -> String {
        let counters: std::collections::HashSet<&str> = openmetrics
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.strip_suffix(" counter"))
            .collect();
        let mut out = String::with_capacity(openmetrics.len());
        for line in openmetrics.lines() {
            if line == "# EOF" {
                continue;
            }
            let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
                let rest = line.strip_prefix(prefix)?;
                let (name, tail) = rest.split_once(' ')?;
                counters
                    .contains(name)
                    .then(|| format!("{prefix}{name}_total {tail}"))
            });
            match renamed {
                Some(l) => out.push_str(&l),
                None => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Reports the free-disk watermark (once, when the vault opens).
    pub(crate) fn watch_disk(&self, space: Arc<crate::audit::SpaceGuard>) {
        let _ = self.space.set(space);
    }

    /// The OpenMetrics text exposition; the monitor's families only with `monitor`.
    pub fn render(&self, audit_head: u64, monitor: bool) -> String {
        self.audit_head.set(audit_head as i64);
        if let Some(space) = self.space.get() {
            self.disk_low.set(i64::from(space.is_low()));
            if space.free_bytes() != u64::MAX {
                self.disk_free
                    .set(i64::try_from(space.free_bytes()).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::with_capacity(8 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        if monitor {
            // One exposition: drop the first registry's `# EOF` before appending the second.
            if let Some(body) = out.strip_suffix("# EOF\n") {
                out.truncate(body.len());
            }
            prometheus_client::encoding::text::encode(&mut out, &self.monitor_registry)
                .expect("writing to a String cannot fail");
        }
        out
    }
}

/// The method as a label: one of the RFC 9110 methods (and PATCH), else `other`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_figures_only_on_request_and_methods_are_bounded() {
        let m = Metrics::new();
        m.alert_raised("honeytoken_access");
        m.http("unmatched", "BREW", 404, 0.001);
        m.http("unmatched", "X".repeat(5000).as_str(), 404, 0.001);
        let public = m.render(1, false);
        assert!(!public.contains("alerts_raised"), "{public}");
        assert!(!public.contains("monitor_"), "{public}");
        assert!(!public.contains("webhook"), "{public}");
        assert!(
            public.contains("method=\"other\",status=\"404\"} 2"),
            "{public}"
        );
        assert!(!public.contains("BREW"));
        let full = m.render(1, true);
        assert!(full.contains("hrvault_alerts_raised_total{rule=\"honeytoken_access\"} 1"));
        assert_eq!(full.matches("# EOF").count(), 1, "{full}");
        assert!(full.ends_with("# EOF\n"));
    }

    #[test]
    fn exposition_has_the_documented_families() {
        let m = Metrics::new();
        m.http("/v1/employees/{id}", "GET", 200, 0.002);
        m.audit_commit(32, 0.0004, true);
        m.audit_commit(3, 0.0, false);
        m.alert_raised("honeytoken_access");
        let text = m.render(35, true);
        for needle in [
            "hrvault_http_requests_total{route=\"/v1/employees/{id}\",method=\"GET\",status=\"200\"} 1",
            "hrvault_audit_entries_total 32",
            "hrvault_audit_commit_failures_total 1",
            "hrvault_audit_batch_size_bucket",
            "hrvault_audit_head_seq 35",
            "hrvault_alerts_raised_total{rule=\"honeytoken_access\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert_eq!(m.alerts_raised_total(), 1);
        let classic = Metrics::to_prometheus_text(&text);
        assert!(
            classic.contains("# TYPE hrvault_audit_entries_total counter"),
            "{classic}"
        );
        assert!(classic.contains("# HELP hrvault_audit_entries_total "));
        assert!(classic.contains("# TYPE hrvault_audit_batch_size histogram"));
        assert!(!classic.contains("# EOF"));
        assert!(classic.contains("hrvault_audit_entries_total 32"));
    }
}
