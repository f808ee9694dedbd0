//! The timeline's filters, as the filter form sends them: the service's `AuditQuery` from the
//! form's words and times.

use super::*;

/// The timeline's query string, as the filter form sends it (empty means "any").
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Filters {
    pub(super) actor: Option<String>,
    pub(super) action: Option<String>,
    pub(super) employee_id: Option<String>,
    pub(super) outcome: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) before: Option<String>,
    pub(super) format: Option<String>,
}

fn nonempty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Filters {
    pub(super) fn parse(raw: Option<&str>) -> Self {
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
    }

    /// The filter pairs (for links that keep the view: paging, exports).
    pub(super) fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("actor", nonempty(self.actor.as_ref())),
            ("action", nonempty(self.action.as_ref())),
            ("employee_id", nonempty(self.employee_id.as_ref())),
            ("outcome", nonempty(self.outcome.as_ref())),
            ("from", nonempty(self.from.as_ref())),
            ("to", nonempty(self.to.as_ref())),
        ]
    }

    /// The service query, or the problems per field (`(input id, message)`).
    pub(super) fn query(
        &self,
        descending: bool,
        limit: usize,
    ) -> Result<AuditQuery, Vec<(&'static str, String)>> {
        let mut errs = Vec::new();
        let action = nonempty(self.action.as_ref());
        if let Some(a) = &action
            && Action::parse(a).is_none()
        {
            errs.push(("f-action", "Not an audit action name.".to_owned()));
        }
        let outcome = nonempty(self.outcome.as_ref());
        if let Some(o) = &outcome
            && !OUTCOMES.iter().any(|(v, _)| v == o)
        {
            errs.push(("f-outcome", "Must be success, denied or error.".to_owned()));
        }
        let since = match nonempty(self.from.as_ref()).map(|s| instant(&s, false)) {
            Some(Err(m)) => {
                errs.push(("f-from", m));
                None
            }
            Some(Ok(t)) => Some(t),
            None => None,
        };
        let until = match nonempty(self.to.as_ref()).map(|s| instant(&s, true)) {
            Some(Err(m)) => {
                errs.push(("f-to", m));
                None
            }
            Some(Ok(t)) => Some(t),
            None => None,
        };
        // A paging link the person did not type: a broken one just starts from the newest.
        let before_seq = nonempty(self.before.as_ref()).and_then(|b| b.parse::<u64>().ok());
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(AuditQuery {
            actor: nonempty(self.actor.as_ref()),
            employee_id: nonempty(self.employee_id.as_ref()),
            action,
            since,
            until,
            after_seq: 0,
            before_seq,
            outcome,
            descending,
            limit,
        })
    }
}

pub(super) const OUTCOMES: [(&str, &str); 3] = [
    ("success", "Success"),
    ("denied", "Denied"),
    ("error", "Error"),
];

/// A form's time (`datetime-local`, a date, or RFC 3339; a time without an offset is UTC) as
/// the entries' RFC 3339 UTC form. A bare date as the end of a range means the whole day.
pub(super) fn instant(s: &str, end_of_range: bool) -> Result<String, String> {
    use jiff::civil::{Date, DateTime};
    use jiff::tz::TimeZone;
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(rfc3339(t));
    }
    let utc = |dt: DateTime| TimeZone::UTC.to_timestamp(dt).ok();
    if !s.contains(['T', 't', ' '])
        && let Ok(d) = s.parse::<Date>()
    {
        let dt = if end_of_range {
            d.at(23, 59, 59, 999_999_000)
        } else {
            d.at(0, 0, 0, 0)
        };
        if let Some(t) = utc(dt) {
            return Ok(rfc3339(t));
        }
    }
    if let Ok(dt) = s.parse::<DateTime>()
        && let Some(t) = utc(dt)
    {
        // `datetime-local` has minute precision: the end of a range takes the whole minute.
        let t = if end_of_range && dt.second() == 0 && dt.subsec_nanosecond() == 0 {
            t.checked_add(jiff::SignedDuration::from_micros(59_999_999))
                .unwrap_or(t)
        } else {
            t
        };
        return Ok(rfc3339(t));
    }
    Err("Must be a date and time, e.g. 2026-01-15T09:00 (UTC).".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_become_utc_instants() {
        assert_eq!(
            instant("2026-01-15T09:00", false).as_deref(),
            Ok("2026-01-15T09:00:00.000000Z")
        );
        assert_eq!(
            instant("2026-01-15T09:00", true).as_deref(),
            Ok("2026-01-15T09:00:59.999999Z")
        );
        assert_eq!(
            instant("2026-01-15", true).as_deref(),
            Ok("2026-01-15T23:59:59.999999Z")
        );
        assert_eq!(
            instant("2026-01-15T09:00:00+02:00", false).as_deref(),
            Ok("2026-01-15T07:00:00.000000Z")
        );
        assert!(instant("yesterday", false).is_err());
    }
}
