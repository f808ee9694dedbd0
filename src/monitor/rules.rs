//! The nine rules of CONTRACT §2 and their sliding windows.
//!
//! The engine fires on every qualifying event; the alert store folds firings into at most one
//! open alert per (rule, user) per window, so `observe` can be called again for the same event
//! (a replay) without raising anything twice.

use std::collections::{HashMap, HashSet, VecDeque};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::event::{Event, EventKind};
use crate::config::MonitorSettings;
use crate::model::{EmployeeId, FlagKind, Rule, UserId};

/// An HR flag as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagView {
    pub kind: FlagKind,
    pub effective_date: Date,
    pub created_at: Timestamp,
    pub cleared_at: Option<Timestamp>,
}

impl FlagView {
    /// Whether the flag was in force at `ts`: created by then, not yet cleared, and its
    /// effective date reached in the configured time zone. Evaluating at the event's own time
    /// keeps a replay's verdict the same as the live one.
    pub fn active_at(&self, ts: Timestamp, tz: &TimeZone) -> bool {
        self.created_at <= ts
            && self.cleared_at.is_none_or(|c| c > ts)
            && ts.to_zoned_datetime(tz.clone()).date() >= self.effective_date
    }
}

/// What the rules need to know about people and records, looked up by the service.
pub trait Directory {
    /// The employee record a vault user is linked to.
    fn employee_of(&mut self, user: &UserId) -> Option<EmployeeId>;
    /// A record's department (for monitoring groups).
    fn department_of(&mut self, employee: &EmployeeId) -> Option<String>;
    /// Whether a record is a honeytoken.
    fn is_honeytoken(&mut self, employee: &EmployeeId) -> bool;
    /// Every flag (active or not) on a record.
    fn flags_of(&mut self, employee: &EmployeeId) -> Vec<FlagView>;
}

/// One rule firing for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub rule: Rule,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    /// The flagged person for flag rules, the decoy for honeytokens, else `None`.
    pub employee_id: Option<EmployeeId>,
    pub summary: String,
    /// Audit sequence numbers behind the firing (the whole window for threshold rules).
    pub evidence: Vec<u64>,
    /// Time of the triggering event.
    pub at: Timestamp,
    /// Sequence number of the triggering event.
    pub seq: u64,
}

#[derive(Debug, Default)]
struct Windows {
    reads: VecDeque<(Timestamp, u64, EmployeeId)>,
    /// How many of `reads` concern each record: its length is the distinct count, kept up to
    /// date as reads enter and leave the window (O(1) per event, not a rebuild).
    distinct: HashMap<EmployeeId, u32>,
    reveals: VecDeque<(Timestamp, u64)>,
    denied: VecDeque<(Timestamp, u64)>,
    misses: VecDeque<(Timestamp, u64)>,
    /// When each threshold rule last fired with its whole window as evidence: until one window
    /// has passed, later firings carry only their own event (the alert store already holds
    /// the rest), so a fast reader costs O(1) per event, not O(window).
    full_evidence_at: HashMap<Rule, Timestamp>,
}

impl Windows {
    fn expire(&mut self, cutoff: Timestamp) {
        while self.reads.front().is_some_and(|r| r.0 <= cutoff) {
            if let Some((_, _, e)) = self.reads.pop_front()
                && let std::collections::hash_map::Entry::Occupied(mut n) = self.distinct.entry(e)
            {
                *n.get_mut() -= 1;
                if *n.get() == 0 {
                    n.remove();
                }
            }
        }
        while self.reveals.front().is_some_and(|r| r.0 <= cutoff) {
            self.reveals.pop_front();
        }
        while self.denied.front().is_some_and(|r| r.0 <= cutoff) {
            self.denied.pop_front();
        }
        while self.misses.front().is_some_and(|r| r.0 <= cutoff) {
            self.misses.pop_front();
        }
    }

    /// Evidence for a threshold rule firing on `ev`: the whole window the first time in a
    /// window, afterwards just `ev` itself.
    fn evidence(
        &mut self,
        rule: Rule,
        ev: &Event,
        window: SignedDuration,
        all: impl Fn(&Self) -> Vec<u64>,
    ) -> Vec<u64> {
        let full = self
            .full_evidence_at
            .get(&rule)
            .is_none_or(|at| at.checked_add(window).map_or(true, |end| ev.ts >= end));
        if full {
            self.full_evidence_at.insert(rule, ev.ts);
            all(self)
        } else {
            vec![ev.seq]
        }
    }

    fn is_empty(&self) -> bool {
        self.reads.is_empty()
            && self.reveals.is_empty()
            && self.denied.is_empty()
            && self.misses.is_empty()
    }
}

/// The rule engine: settings plus per-user windows.
pub struct Engine {
    settings: MonitorSettings,
    windows: HashMap<UserId, Windows>,
    window: SignedDuration,
    observed: u64,
}

impl Engine {
    /// An engine with empty windows.
    pub fn new(settings: MonitorSettings) -> Self {
        let window = SignedDuration::from_secs(settings.window_secs as i64);
        Self {
            settings,
            windows: HashMap::new(),
            window,
            observed: 0,
        }
    }

    /// The configured window.
    pub fn window(&self) -> SignedDuration {
        self.window
    }

    fn in_business_hours(&self, ts: Timestamp) -> bool {
        let z = ts.to_zoned_datetime(self.settings.timezone.clone());
        let minute = (z.hour() as u16) * 60 + z.minute() as u16;
        let h = self.settings.business_hours;
        let day = z.weekday();
        let days = &self.settings.business_days;
        if h.start_min <= h.end_min {
            days.contains(&day) && h.contains(minute)
        } else {
            // A window that wraps midnight belongs to the day it starts on.
            (minute >= h.start_min && days.contains(&day))
                || (minute < h.end_min && days.contains(&day.previous()))
        }
    }

    /// Updates the windows without firing: rebuilding state from the log on start.
    pub fn warm(&mut self, ev: &Event) {
        self.record(ev);
    }

    fn record(&mut self, ev: &Event) -> Option<&mut Windows> {
        let user = ev.user_id?;
        let cutoff = ev.ts.checked_sub(self.window).unwrap_or(Timestamp::MIN);
        self.observed += 1;
        if self.observed.is_multiple_of(4096) {
            self.windows.retain(|_, w| {
                w.expire(cutoff);
                !w.is_empty()
            });
        }
        let w = self.windows.entry(user).or_default();
        w.expire(cutoff);
        match ev.kind {
            EventKind::Read | EventKind::Reveal => {
                for e in &ev.employees {
                    w.reads.push_back((ev.ts, ev.seq, *e));
                    *w.distinct.entry(*e).or_insert(0) += 1;
                }
                if ev.kind == EventKind::Reveal {
                    w.reveals.push_back((ev.ts, ev.seq));
                }
            }
            EventKind::Denied => w.denied.push_back((ev.ts, ev.seq)),
            EventKind::LookupMiss => w.misses.push_back((ev.ts, ev.seq)),
            _ => {}
        }
        Some(w)
    }

    /// Observes one event and returns what fires.
    pub fn observe(&mut self, ev: &Event, dir: &mut dyn Directory) -> Vec<Firing> {
        let mut out = Vec::new();
        let fire = |out: &mut Vec<Firing>,
                    rule: Rule,
                    employee_id: Option<EmployeeId>,
                    summary: String,
                    evidence: Vec<u64>| {
            out.push(Firing {
                rule,
                user_id: ev.user_id,
                username: ev.username.clone(),
                employee_id,
                summary,
                evidence,
                at: ev.ts,
                seq: ev.seq,
            });
        };
        let who = ev
            .username
            .as_deref()
            .unwrap_or("an unknown user")
            .to_owned();

        // Honeytokens: any touch of a decoy, by anyone, whatever the group.
        if (ev.touches
            || matches!(
                ev.kind,
                EventKind::Read | EventKind::Reveal | EventKind::Touch
            ))
            && let Some(decoy) = ev.employees.iter().find(|e| dir.is_honeytoken(e))
        {
            fire(
                &mut out,
                Rule::HoneytokenAccess,
                Some(*decoy),
                format!("{who} touched honeytoken record {decoy}"),
                vec![ev.seq],
            );
        }
        let linked = ev.user_id.and_then(|u| dir.employee_of(&u));
        if ev.kind == EventKind::TerminatedAttempt {
            fire(
                &mut out,
                Rule::TerminatedUserAccess,
                linked,
                format!("{who}, disabled by termination, tried to use the vault"),
                vec![ev.seq],
            );
        }

        let monitored = match linked {
            None => true,
            Some(e) => {
                let dept = dir.department_of(&e);
                self.settings.monitors(dept.as_deref())
            }
        };
        let tz = self.settings.timezone.clone();
        let thresholds = (
            self.settings.excessive_access_threshold,
            self.settings.denied_probing_threshold,
            self.settings.bulk_reveal_threshold,
            self.settings.lookup_miss_threshold,
        );
        let off_hours = ev.is_read() && !self.in_business_hours(ev.ts);
        let window = self.window;
        let Some(w) = self.record(ev) else { return out };
        if !monitored {
            return out;
        }

        if ev.is_read() {
            if let Some(e) = linked {
                let flags = dir.flags_of(&e);
                let active: HashSet<FlagKind> = flags
                    .iter()
                    .filter(|f| f.active_at(ev.ts, &tz))
                    .map(|f| f.kind)
                    .collect();
                if active.contains(&FlagKind::Pip) || active.contains(&FlagKind::Disciplinary) {
                    fire(
                        &mut out,
                        Rule::HrFlaggedAccess,
                        Some(e),
                        format!(
                            "{who} (on a performance plan or disciplinary action) read employee data"
                        ),
                        vec![ev.seq],
                    );
                }
                if active.contains(&FlagKind::Layoff) || active.contains(&FlagKind::Resignation) {
                    fire(
                        &mut out,
                        Rule::LayoffWatchlistAccess,
                        Some(e),
                        format!(
                            "{who} (on the layoff or resignation watchlist) read employee data"
                        ),
                        vec![ev.seq],
                    );
                }
            }
            let distinct = w.distinct.len();
            if distinct as u64 > thresholds.0 {
                let evidence = w.evidence(Rule::ExcessiveAccess, ev, window, |w| {
                    dedup(w.reads.iter().map(|r| r.1))
                });
                let summary = format!(
                    "{who} read {} distinct records within the window (threshold {})",
                    distinct, thresholds.0
                );
                fire(&mut out, Rule::ExcessiveAccess, None, summary, evidence);
            }
            if ev.kind == EventKind::Reveal && w.reveals.len() as u64 > thresholds.2 {
                let evidence = w.evidence(Rule::BulkReveal, ev, window, |w| {
                    dedup(w.reveals.iter().map(|r| r.1))
                });
                let summary = format!(
                    "{who} made {} reveals within the window (threshold {})",
                    w.reveals.len(),
                    thresholds.2
                );
                fire(&mut out, Rule::BulkReveal, None, summary, evidence);
            }
            if off_hours {
                fire(
                    &mut out,
                    Rule::OffHoursAccess,
                    None,
                    format!("{who} read employee data outside business hours"),
                    vec![ev.seq],
                );
            }
        }
        if ev.kind == EventKind::Denied && w.denied.len() as u64 > thresholds.1 {
            let evidence = w.evidence(Rule::DeniedProbing, ev, window, |w| {
                dedup(w.denied.iter().map(|r| r.1))
            });
            let summary = format!(
                "{who} was denied {} times within the window (threshold {})",
                w.denied.len(),
                thresholds.1
            );
            fire(&mut out, Rule::DeniedProbing, None, summary, evidence);
        }
        if ev.kind == EventKind::LookupMiss && w.misses.len() as u64 > thresholds.3 {
            let evidence = w.evidence(Rule::LookupProbing, ev, window, |w| {
                dedup(w.misses.iter().map(|r| r.1))
            });
            let summary = format!(
                "{who} made {} lookups that found no record within the window (threshold {})",
                w.misses.len(),
                thresholds.3
            );
            fire(&mut out, Rule::LookupProbing, None, summary, evidence);
        }
        out
    }
}

fn dedup(seqs: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = seqs.collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests;
