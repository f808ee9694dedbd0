//! Each rule with a fixed clock: fires at threshold + 1 and not at threshold, windows expire,
//! groups switch actor rules off, honeytoken and termination rules always fire.

use std::collections::HashMap;

use super::*;
use crate::config::Settings;
use crate::model::Severity;

#[derive(Default)]
struct Dir {
    links: HashMap<UserId, EmployeeId>,
    departments: HashMap<EmployeeId, String>,
    honeytokens: Vec<EmployeeId>,
    flags: HashMap<EmployeeId, Vec<FlagView>>,
}

impl Directory for Dir {
    fn employee_of(&mut self, user: &UserId) -> Option<EmployeeId> {
        self.links.get(user).copied()
    }
    fn department_of(&mut self, employee: &EmployeeId) -> Option<String> {
        self.departments.get(employee).cloned()
    }
    fn is_honeytoken(&mut self, employee: &EmployeeId) -> bool {
        self.honeytokens.contains(employee)
    }
    fn flags_of(&mut self, employee: &EmployeeId) -> Vec<FlagView> {
        self.flags.get(employee).cloned().unwrap_or_default()
    }
}

fn settings(toml: &str) -> MonitorSettings {
    Settings::parse(toml).unwrap().monitor
}

/// Monday 2026-03-16, 10:00 UTC: inside default business hours.
fn t(offset_secs: i64) -> Timestamp {
    let base: Timestamp = "2026-03-16T10:00:00Z".parse().unwrap();
    base.checked_add(SignedDuration::from_secs(offset_secs))
        .unwrap()
}

struct Feed {
    engine: Engine,
    dir: Dir,
    seq: u64,
    user: UserId,
}

impl Feed {
    fn new(toml: &str) -> Self {
        Self {
            engine: Engine::new(settings(toml)),
            dir: Dir::default(),
            seq: 0,
            user: UserId::random(),
        }
    }

    fn event(&mut self, kind: EventKind, at: Timestamp, employees: Vec<EmployeeId>) -> Vec<Firing> {
        self.seq += 1;
        let ev = Event {
            seq: self.seq,
            ts: at,
            user_id: Some(self.user),
            username: Some("mallory".into()),
            touches: kind != EventKind::Other,
            kind,
            employees,
            id_list: None,
        };
        self.engine.observe(&ev, &mut self.dir)
    }

    fn rules(firings: &[Firing]) -> Vec<Rule> {
        firings.iter().map(|f| f.rule).collect()
    }
}

#[test]
fn excessive_access_fires_at_threshold_plus_one_distinct_records() {
    let mut f = Feed::new("[monitor]\nexcessive_access_threshold = 3");
    let records: Vec<EmployeeId> = (0..4).map(|_| EmployeeId::random()).collect();
    for (i, r) in records.iter().take(3).enumerate() {
        assert!(
            Feed::rules(&f.event(EventKind::Read, t(i as i64), vec![*r])).is_empty(),
            "at threshold"
        );
    }
    // Re-reading a record already counted does not make it distinct.
    assert!(Feed::rules(&f.event(EventKind::Read, t(10), vec![records[0]])).is_empty());
    let fired = f.event(EventKind::Read, t(11), vec![records[3]]);
    assert_eq!(Feed::rules(&fired), vec![Rule::ExcessiveAccess]);
    assert_eq!(
        fired[0].evidence,
        vec![1, 2, 3, 4, 5],
        "every read in the window is evidence"
    );
    assert_eq!(Rule::ExcessiveAccess.severity(), Severity::High);
}

#[test]
fn an_export_counts_every_record_it_contains() {
    let mut f = Feed::new("[monitor]\nexcessive_access_threshold = 3");
    let fired = f.event(
        EventKind::Read,
        t(0),
        (0..4).map(|_| EmployeeId::random()).collect(),
    );
    assert_eq!(Feed::rules(&fired), vec![Rule::ExcessiveAccess]);
    assert_eq!(fired[0].evidence, vec![1]);
}

#[test]
fn windows_expire() {
    let mut f = Feed::new("[monitor]\nexcessive_access_threshold = 1\nwindow_secs = 60");
    assert!(
        f.event(EventKind::Read, t(0), vec![EmployeeId::random()])
            .is_empty()
    );
    // 60 s later the first read has left the window.
    assert!(
        f.event(EventKind::Read, t(60), vec![EmployeeId::random()])
            .is_empty()
    );
    assert_eq!(
        Feed::rules(&f.event(EventKind::Read, t(61), vec![EmployeeId::random()])),
        vec![Rule::ExcessiveAccess]
    );
}

#[test]
fn denied_probing_and_bulk_reveal_thresholds() {
    let mut f = Feed::new(
        "[monitor]\ndenied_probing_threshold = 2\nbulk_reveal_threshold = 2\nexcessive_access_threshold = 100",
    );
    assert!(f.event(EventKind::Denied, t(0), vec![]).is_empty());
    assert!(f.event(EventKind::Denied, t(1), vec![]).is_empty());
    let fired = f.event(EventKind::Denied, t(2), vec![]);
    assert_eq!(Feed::rules(&fired), vec![Rule::DeniedProbing]);
    assert_eq!(fired[0].evidence, vec![1, 2, 3]);

    let e = EmployeeId::random();
    assert!(f.event(EventKind::Reveal, t(3), vec![e]).is_empty());
    assert!(f.event(EventKind::Reveal, t(4), vec![e]).is_empty());
    assert_eq!(
        Feed::rules(&f.event(EventKind::Reveal, t(5), vec![e])),
        vec![Rule::BulkReveal]
    );
}

#[test]
fn zero_threshold_fires_on_the_first_event() {
    let mut f = Feed::new("[monitor]\ndenied_probing_threshold = 0");
    assert_eq!(
        Feed::rules(&f.event(EventKind::Denied, t(0), vec![])),
        vec![Rule::DeniedProbing]
    );
}

#[test]
fn off_hours_in_the_configured_zone_and_days() {
    let mut f = Feed::new("[monitor]\ntimezone = \"Europe/Berlin\"");
    let e = EmployeeId::random();
    // 07:30 UTC on a Monday in March is 08:30 in Berlin (UTC+1): inside 08:00-18:00.
    assert!(
        f.event(
            EventKind::Read,
            "2026-03-16T07:30:00Z".parse().unwrap(),
            vec![e]
        )
        .is_empty()
    );
    // 06:30 UTC is 07:30 in Berlin: outside.
    assert_eq!(
        Feed::rules(&f.event(
            EventKind::Read,
            "2026-03-16T06:30:00Z".parse().unwrap(),
            vec![e]
        )),
        vec![Rule::OffHoursAccess]
    );
    // Saturday noon: not a business day.
    assert_eq!(
        Feed::rules(&f.event(
            EventKind::Read,
            "2026-03-21T11:00:00Z".parse().unwrap(),
            vec![e]
        )),
        vec![Rule::OffHoursAccess]
    );
    // Lists and denials are not reads.
    assert!(
        f.event(
            EventKind::Other,
            "2026-03-21T11:00:00Z".parse().unwrap(),
            vec![e]
        )
        .is_empty()
    );
}

#[test]
fn night_shift_hours_wrap_midnight_and_belong_to_their_start_day() {
    let mut f =
        Feed::new("[monitor]\nbusiness_hours = \"22:00-06:00\"\nbusiness_days = \"Mon-Fri\"");
    let e = EmployeeId::random();
    let read = |f: &mut Feed, at: &str| {
        Feed::rules(&f.event(EventKind::Read, at.parse().unwrap(), vec![e]))
    };
    assert!(
        read(&mut f, "2026-03-16T23:00:00Z").is_empty(),
        "Monday night"
    );
    assert!(
        read(&mut f, "2026-03-17T05:59:00Z").is_empty(),
        "Tuesday early morning = Monday's shift"
    );
    assert_eq!(
        read(&mut f, "2026-03-17T06:00:00Z"),
        vec![Rule::OffHoursAccess],
        "end is exclusive"
    );
    assert_eq!(
        read(&mut f, "2026-03-16T12:00:00Z"),
        vec![Rule::OffHoursAccess],
        "midday"
    );
    assert!(
        read(&mut f, "2026-03-21T03:00:00Z").is_empty(),
        "Saturday 03:00 = Friday's shift"
    );
    assert_eq!(
        read(&mut f, "2026-03-22T03:00:00Z"),
        vec![Rule::OffHoursAccess],
        "Sunday 03:00 = Saturday's shift"
    );
}

fn flag(
    kind: FlagKind,
    effective: &str,
    created: Timestamp,
    cleared: Option<Timestamp>,
) -> FlagView {
    FlagView {
        kind,
        effective_date: effective.parse().unwrap(),
        created_at: created,
        cleared_at: cleared,
    }
}

#[test]
fn flag_rules_follow_the_flag_at_event_time() {
    let mut f = Feed::new("");
    let me = EmployeeId::random();
    f.dir.links.insert(f.user, me);
    f.dir.flags.insert(
        me,
        vec![flag(FlagKind::Pip, "2026-03-16", t(100), Some(t(200)))],
    );
    let other = EmployeeId::random();
    assert!(
        f.event(EventKind::Read, t(50), vec![other]).is_empty(),
        "before the flag existed"
    );
    let fired = f.event(EventKind::Read, t(150), vec![other]);
    assert_eq!(Feed::rules(&fired), vec![Rule::HrFlaggedAccess]);
    assert_eq!(
        fired[0].employee_id,
        Some(me),
        "the alert names the flagged person"
    );
    assert!(
        f.event(EventKind::Read, t(250), vec![other]).is_empty(),
        "after it was cleared"
    );

    f.dir
        .flags
        .insert(me, vec![flag(FlagKind::Layoff, "2026-03-17", t(0), None)]);
    assert!(
        f.event(EventKind::Read, t(300), vec![other]).is_empty(),
        "effective tomorrow"
    );
    assert_eq!(
        Feed::rules(&f.event(EventKind::Read, t(86_400), vec![other])),
        vec![Rule::LayoffWatchlistAccess]
    );
    assert_eq!(Rule::LayoffWatchlistAccess.severity(), Severity::Medium);
}

#[test]
fn groups_switch_actor_rules_off_but_not_honeytokens_or_termination() {
    let mut f =
        Feed::new("[monitor]\nexcessive_access_threshold = 0\n[monitor.groups]\n\"Sales\" = false");
    let me = EmployeeId::random();
    f.dir.links.insert(f.user, me);
    f.dir.departments.insert(me, "Sales".into());
    f.dir
        .flags
        .insert(me, vec![flag(FlagKind::Pip, "2026-01-01", t(-10), None)]);
    let decoy = EmployeeId::random();
    f.dir.honeytokens.push(decoy);
    assert!(
        f.event(
            EventKind::Read,
            "2026-03-16T03:00:00Z".parse().unwrap(),
            vec![EmployeeId::random()]
        )
        .is_empty()
    );
    let fired = f.event(EventKind::Read, t(1), vec![decoy]);
    assert_eq!(Feed::rules(&fired), vec![Rule::HoneytokenAccess]);
    assert_eq!(fired[0].employee_id, Some(decoy));
    assert_eq!(Rule::HoneytokenAccess.severity(), Severity::Critical);
    assert_eq!(
        Feed::rules(&f.event(EventKind::TerminatedAttempt, t(2), vec![])),
        vec![Rule::TerminatedUserAccess]
    );

    // The same person moved to a monitored department is watched again.
    f.dir.departments.insert(me, "R&D".into());
    let rules = Feed::rules(&f.event(EventKind::Read, t(3), vec![EmployeeId::random()]));
    assert!(
        rules.contains(&Rule::HrFlaggedAccess) && rules.contains(&Rule::ExcessiveAccess),
        "{rules:?}"
    );
}

#[test]
fn unlinked_actors_are_monitored_and_touches_of_decoys_count() {
    let mut f = Feed::new("[monitor.groups]\n\"R&D\" = false");
    let decoy = EmployeeId::random();
    f.dir.honeytokens.push(decoy);
    assert_eq!(
        Feed::rules(&f.event(EventKind::Touch, t(0), vec![decoy])),
        vec![Rule::HoneytokenAccess]
    );
    assert_eq!(
        Feed::rules(&f.event(
            EventKind::Read,
            "2026-03-16T23:00:00Z".parse().unwrap(),
            vec![EmployeeId::random()]
        )),
        vec![Rule::OffHoursAccess]
    );
}

#[test]
fn warming_rebuilds_windows_without_firing() {
    let mut f = Feed::new("[monitor]\nexcessive_access_threshold = 2");
    for i in 0..2 {
        let ev = Event {
            seq: i + 1,
            ts: t(i as i64),
            user_id: Some(f.user),
            username: None,
            kind: EventKind::Read,
            employees: vec![EmployeeId::random()],
            touches: true,
            id_list: None,
        };
        f.engine.warm(&ev);
    }
    f.seq = 2;
    assert_eq!(
        Feed::rules(&f.event(EventKind::Read, t(5), vec![EmployeeId::random()])),
        vec![Rule::ExcessiveAccess]
    );
}

#[test]
fn a_threshold_rule_sends_its_window_once_per_window_then_single_events() {
    let mut f = Feed::new("[monitor]\nexcessive_access_threshold = 2\nwindow_secs = 100");
    for i in 0..2 {
        assert!(
            f.event(EventKind::Read, t(i), vec![EmployeeId::random()])
                .is_empty()
        );
    }
    let first = f.event(EventKind::Read, t(2), vec![EmployeeId::random()]);
    assert_eq!(
        first[0].evidence,
        vec![1, 2, 3],
        "the whole window when it first fires"
    );
    let next = f.event(EventKind::Read, t(3), vec![EmployeeId::random()]);
    assert_eq!(
        next[0].evidence,
        vec![4],
        "then only the new event, while the alert is in its window"
    );
    // Still in the alert's window: single events.
    assert_eq!(
        f.event(EventKind::Read, t(60), vec![EmployeeId::random()])[0].evidence,
        vec![5]
    );
    assert_eq!(
        f.event(EventKind::Read, t(61), vec![EmployeeId::random()])[0].evidence,
        vec![6]
    );
    // One window after the first firing, the next firing carries its window again.
    let later = f.event(EventKind::Read, t(102), vec![EmployeeId::random()]);
    assert_eq!(later[0].rule, Rule::ExcessiveAccess);
    assert!(later[0].evidence.len() > 1, "{:?}", later[0].evidence);
}

#[test]
fn distinct_counts_follow_records_leaving_the_window() {
    let mut f = Feed::new("[monitor]\nexcessive_access_threshold = 1\nwindow_secs = 10");
    let a = EmployeeId::random();
    assert!(f.event(EventKind::Read, t(0), vec![a]).is_empty());
    assert!(
        f.event(EventKind::Read, t(5), vec![a]).is_empty(),
        "the same record twice is one"
    );
    // At t=11 the read at 0 left, the one at 5 has not: still one distinct record.
    assert!(f.event(EventKind::Read, t(11), vec![a]).is_empty());
    assert_eq!(
        Feed::rules(&f.event(EventKind::Read, t(12), vec![EmployeeId::random()])),
        vec![Rule::ExcessiveAccess]
    );
}
