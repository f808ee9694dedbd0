//! The chart of audited requests per hour over the last 7 days by outcome: an SVG drawn by the
//! server (fill attributes, no style), and the same numbers as text for the page.

use std::fmt::Write as _;

use super::*;

/// Colours of the chart, one per outcome, with their words (the legend says which is which).
const SERIES: [(&str, &str); 3] = [
    ("Success", "#1a7f37"),
    ("Denied", "#d4a72c"),
    ("Error", "#b42318"),
];

/// `GET /ui/audit/chart.svg`.
pub(super) async fn chart(State(v): State<Vault>, Signed(s, ctx): Signed) -> Response {
    match v.audit_hours(&s.principal, &ctx).await {
        Ok(h) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "image/svg+xml")],
            chart_svg(&h),
        )
            .into_response(),
        Err(e) => error_page(&s, &e),
    }
}

/// The hour's label: `MM-DD HH:00`.
fn hour_label(h: &AuditHours, i: usize) -> String {
    let t = h
        .start
        .checked_add(jiff::SignedDuration::from_hours(i as i64))
        .unwrap_or(h.start);
    t.strftime("%m-%d %H:00").to_string()
}

/// A stacked column per hour, axes labelled, legend in words. Colours are `fill` attributes
/// (no `style`), so the image needs no CSP exception.
pub(super) fn chart_svg(h: &AuditHours) -> String {
    const W: usize = 960;
    const LEFT: usize = 56;
    const TOP: usize = 36;
    const PLOT_H: usize = 220;
    const BAR: usize = 5;
    let max = h
        .counts
        .iter()
        .map(|c| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = TOP + PLOT_H + 60;
    let base = TOP + PLOT_H;
    let mut s = String::with_capacity(32 * 1024);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" role="img" aria-labelledby="t d"><title id="t">Audited requests per hour, last 7 days, by outcome</title><desc id="d">Stacked columns, one per hour from {} UTC; the page has the same numbers as a table.</desc><rect x="0" y="0" width="{W}" height="{height}" fill="#ffffff"/>"##,
        hour_label(h, 0)
    );
    // Legend.
    let mut x = LEFT;
    for (name, colour) in SERIES {
        let _ = write!(
            s,
            r##"<rect x="{x}" y="8" width="14" height="14" fill="{colour}"/><text x="{}" y="20" font-family="sans-serif" font-size="13" fill="#1f2328">{name}</text>"##,
            x + 20
        );
        x += 110;
    }
    // Y axis with four gridlines.
    for i in 0..=4u64 {
        let value = max * i / 4;
        let y = base - (PLOT_H as u64 * i / 4) as usize;
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#d0d7de" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#1f2328">{value}</text>"##,
            LEFT + CHART_HOURS * BAR,
            LEFT - 6,
            y + 4
        );
    }
    let _ = write!(
        s,
        r##"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#1f2328">Requests per hour</text>"##,
        TOP + PLOT_H / 2,
        TOP + PLOT_H / 2
    );
    // Columns.
    for (i, c) in h.counts.iter().enumerate() {
        let x = LEFT + i * BAR;
        let mut y = base as u64 * max;
        for (k, (name, colour)) in SERIES.iter().enumerate() {
            if c[k] == 0 {
                continue;
            }
            let hgt = c[k] * PLOT_H as u64;
            y -= hgt;
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{:.2}" width="{}" height="{:.2}" fill="{colour}"><title>{} UTC: {} {name}</title></rect>"##,
                y as f64 / max as f64,
                BAR - 1,
                hgt as f64 / max as f64,
                hour_label(h, i),
                c[k],
            );
        }
    }
    // X axis: a tick and a label at each day's first hour in the window.
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#1f2328" stroke-width="1"/>"##,
        LEFT + CHART_HOURS * BAR
    );
    for i in (0..CHART_HOURS).step_by(24) {
        let x = LEFT + i * BAR;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{base}" x2="{x}" y2="{}" stroke="#1f2328" stroke-width="1"/><text x="{x}" y="{}" font-family="sans-serif" font-size="11" fill="#1f2328">{}</text>"##,
            base + 5,
            base + 18,
            hour_label(h, i)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#1f2328">Hour (UTC)</text></svg>"##,
        LEFT + CHART_HOURS * BAR / 2,
        base + 40
    );
    s
}

/// Per-day totals of the chart's hours (the window's 7 days of 24 hours each).
pub(super) fn day_totals(h: &AuditHours) -> Vec<(String, [u64; 3])> {
    h.counts
        .chunks(24)
        .enumerate()
        .map(|(d, hours)| {
            let mut t = [0u64; 3];
            for c in hours {
                for k in 0..3 {
                    t[k] += c[k];
                }
            }
            let from = hour_label(h, d * 24);
            let to = hour_label(h, d * 24 + hours.len() - 1);
            (format!("{from} to {to}"), t)
        })
        .collect()
}

pub(super) fn chart_section(h: &AuditHours) -> Markup {
    let days = day_totals(h);
    let total: [u64; 3] = days.iter().fold([0; 3], |mut a, (_, t)| {
        for k in 0..3 {
            a[k] += t[k];
        }
        a
    });
    html! {
        section.card aria-labelledby="chart-h" {
            h2 id="chart-h" { "Audited requests per hour, last 7 days" }
            div.chart {
                img src="/ui/audit/chart.svg" width="960" height="316" alt={
                    "Chart of audited requests per hour over the last 7 days by outcome: "
                    (total[0]) " success, " (total[1]) " denied, " (total[2]) " error in all. The same numbers are in the table below."
                };
            }
            @if h.partial {
                p.hint { "The log is too long to count every hour of the week at once; the oldest hours may be undercounted." }
            }
            div.table-wrap {
                table {
                    caption { "Audited requests per day (UTC) by outcome" }
                    thead {
                        tr {
                            th scope="col" { "Day (hours, UTC)" }
                            th scope="col" { "Success" }
                            th scope="col" { "Denied" }
                            th scope="col" { "Error" }
                        }
                    }
                    tbody {
                        @for (label, t) in &days {
                            tr { th scope="row" { (label) } td { (t[0]) } td { (t[1]) } td { (t[2]) } }
                        }
                        tr { th scope="row" { "All 7 days" } td { (total[0]) } td { (total[1]) } td { (total[2]) } }
                    }
                }
            }
            details {
                summary { "Every hour with audited requests" }
                div.table-wrap {
                    table {
                        caption { "Audited requests per hour (UTC) by outcome; hours with none are left out" }
                        thead {
                            tr {
                                th scope="col" { "Hour (UTC)" }
                                th scope="col" { "Success" }
                                th scope="col" { "Denied" }
                                th scope="col" { "Error" }
                            }
                        }
                        tbody {
                            @for (i, c) in h.counts.iter().enumerate() {
                                @if c.iter().any(|n| *n > 0) {
                                    tr { th scope="row" { (hour_label(h, i)) } td { (c[0]) } td { (c[1]) } td { (c[2]) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_a_column_part_per_nonzero_count_and_a_legend() {
        let mut counts = vec![[0u64; 3]; CHART_HOURS];
        counts[0] = [1, 0, 0];
        counts[167] = [3, 2, 1];
        let h = AuditHours {
            start: "2026-11-25T05:00:00Z".parse().expect("time"),
            counts,
            partial: false,
        };
        let svg = chart_svg(&h);
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("style="));
        assert_eq!(
            svg.matches("<rect x=").count(),
            1 + 3 + 4,
            "background, legend, bars"
        );
        for word in [
            "Success",
            "Denied",
            "Error",
            "Requests per hour",
            "Hour (UTC)",
        ] {
            assert!(svg.contains(word), "{word}");
        }
        let days = day_totals(&h);
        assert_eq!(days.len(), 7);
        assert_eq!(days[0].1, [1, 0, 0]);
        assert_eq!(days[6].1, [3, 2, 1]);
    }
}
