//! The audit log's downloads: the signed checkpoint and the filtered entries as JSONL, OCSF
//! (the CLI's converter) or CSV.

use super::*;

/// `GET /ui/audit/checkpoint`: the signed checkpoint as a JSON download.
pub(super) async fn checkpoint(State(v): State<Vault>, Signed(s, ctx): Signed) -> Response {
    let c = match v.audit_checkpoint(&s.principal, &ctx).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, &e),
    };
    let body = serde_json::to_vec_pretty(&c).unwrap_or_default();
    attachment(
        "application/json",
        &format!("hrvault-checkpoint-{}.json", c.seq),
        body,
    )
}

fn attachment(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The CSV header of an export.
pub(super) const CSV_HEADER: [&str; 15] = [
    "seq",
    "ts",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "action",
    "employee_id",
    "employee_ids",
    "fields",
    "reason",
    "outcome",
    "source_ip",
    "request_id",
    "prev_hash",
    "hash",
];

/// One entry as a CSV record, in [`CSV_HEADER`]'s order; lists are joined with `;`, a null is
/// an empty cell.
pub(super) fn csv_record(e: &AuditEntry) -> [String; 15] {
    let o = |v: &Option<std::borrow::Cow<'static, str>>| v.as_deref().unwrap_or("").to_owned();
    let l = |v: &Option<Vec<std::borrow::Cow<'static, str>>>| {
        v.as_ref().map_or_else(String::new, |l| l.join(";"))
    };
    [
        e.seq.to_string(),
        e.ts.to_string(),
        o(&e.actor.user_id),
        o(&e.actor.username),
        o(&e.actor.role),
        e.action.to_string(),
        o(&e.employee_id),
        l(&e.employee_ids),
        l(&e.fields),
        o(&e.reason),
        e.outcome.to_string(),
        o(&e.source_ip),
        o(&e.request_id),
        e.prev_hash.to_string(),
        e.hash.to_string(),
    ]
}

/// The entries as CSV with a header row.
pub(super) fn to_csv(entries: &[AuditEntry]) -> Result<Vec<u8>, ServiceError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)
        .map_err(|_| ServiceError::Internal)?;
    for e in entries {
        w.write_record(csv_record(e))
            .map_err(|_| ServiceError::Internal)?;
    }
    w.into_inner().map_err(|_| ServiceError::Internal)
}

/// `GET /ui/audit/export?format=jsonl|ocsf|csv&<filters>`: the filtered entries, oldest first.
pub(super) async fn export(
    State(v): State<Vault>,
    Signed(s, ctx): Signed,
    RawQuery(raw): RawQuery,
) -> Response {
    let f = Filters::parse(raw.as_deref());
    let q = match f.query(false, EXPORT_MAX) {
        Ok(q) => q,
        Err(errs) => {
            let text = errs
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return error_page(&s, &ServiceError::invalid("filters", &text));
        }
    };
    let format = f.format.as_deref().unwrap_or("jsonl");
    if !matches!(format, "jsonl" | "ocsf" | "csv") {
        return error_page(
            &s,
            &ServiceError::invalid("format", "must be jsonl, ocsf or csv"),
        );
    }
    let page_of = match v.query_audit(&s.principal, &ctx, Ok(q)).await {
        Ok(p) => p,
        Err(e) => return error_page(&s, &e),
    };
    let mut out = Vec::new();
    let (ctype, ext) = match format {
        "csv" => match to_csv(&page_of.entries) {
            Ok(b) => {
                out = b;
                ("text/csv; charset=utf-8", "csv")
            }
            Err(e) => return error_page(&s, &e),
        },
        "ocsf" => {
            for e in &page_of.entries {
                if serde_json::to_writer(&mut out, &ocsf_event(e)).is_err() {
                    return error_page(&s, &ServiceError::Internal);
                }
                out.push(b'\n');
            }
            ("application/x-ndjson", "ocsf.jsonl")
        }
        _ => {
            for e in &page_of.entries {
                if serde_json::to_writer(&mut out, e).is_err() {
                    return error_page(&s, &ServiceError::Internal);
                }
                out.push(b'\n');
            }
            ("application/x-ndjson", "jsonl")
        }
    };
    let last = page_of.entries.last().map_or(0, |e| e.seq);
    attachment(ctype, &format!("hrvault-audit-to-{last}.{ext}"), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn entry() -> AuditEntry {
        let line = r#"{"seq":7,"ts":"2026-12-02T04:00:00.000000Z","actor":{"user_id":"u-1","username":"ann","role":"hr"},"action":"employee.export","employee_id":null,"employee_ids":["e1","e2"],"fields":["ssn"],"reason":"payroll, \"monthly\"","outcome":"success","source_ip":"127.0.0.1","request_id":null,"prev_hash":"aa","hash":"bb"}"#;
        serde_json::from_str::<crate::audit::EntryRef<'_>>(line)
            .expect("an entry")
            .into_owned()
    }

    #[test]
    fn csv_has_the_header_and_quotes_cells() {
        let out = String::from_utf8(to_csv(&[entry()]).expect("csv")).expect("utf-8");
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some(
                "seq,ts,actor_user_id,actor_username,actor_role,action,employee_id,employee_ids,fields,reason,outcome,source_ip,request_id,prev_hash,hash"
            )
        );
        assert_eq!(
            lines.next(),
            Some(
                "7,2026-12-02T04:00:00.000000Z,u-1,ann,hr,employee.export,,e1;e2,ssn,\"payroll, \"\"monthly\"\"\",success,127.0.0.1,,aa,bb"
            )
        );
        assert_eq!(lines.next(), None);
    }
}
