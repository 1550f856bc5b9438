//! Counting days (RULES D1–D5): the official working-day schedule of each year, deadlines of N
//! working days, calendar-day periods, and the local date of an instant.
//!
//! A working day is Monday–Friday, minus the State Council's announced rest days, plus the weekend
//! days it declares working days (调休上班). The schedules of 2025 and 2026 are built in
//! (`calendar/cn-YYYY.toml`); operators load later years at run time with
//! [`WorkCalendar::put_year`]. A year without a schedule counts Monday–Friday only, and every
//! answer that depends on such a year is marked provisional.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// The zone calendar dates are evaluated in unless the agency configures another (RULES D5).
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// The official schedule of 2025 (国办发明电〔2024〕12号).
const BUILTIN_2025: &str = include_str!("../calendar/cn-2025.toml");
/// The official schedule of 2026 (国务院办公厅, 2025-11-04).
const BUILTIN_2026: &str = include_str!("../calendar/cn-2026.toml");

/// The calendar date of `at` in `zone` (RULES D5: timestamps are UTC, dates are local).
pub fn local_date(at: Timestamp, zone: Tz) -> NaiveDate {
    at.to_datetime().with_timezone(&zone).date_naive()
}

/// The first instant after `end` (a local date in `zone`), in UTC micros: the end of a period
/// that lasts through `end` (a publication, RULES P7; a reporting period). Saturates at
/// `i64::MAX`; where a zone skips the local midnight, the period ends an hour later.
pub fn end_instant(end: NaiveDate, zone: Tz) -> i64 {
    let Some(next) = end.checked_add_days(Days::new(1)) else { return i64::MAX };
    let midnight = next.and_time(NaiveTime::MIN);
    zone.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(midnight + chrono::TimeDelta::hours(1))).earliest())
        .map_or(i64::MAX, |t| t.timestamp_micros())
}

/// The date `days` calendar days after `start`, for the periods of RULES D2 (90-day case limit,
/// 15-day payment period, 30-day seizure period). The start day is not counted (D3), so a 15-day
/// period starting on 1 March ends at the end of 16 March. Saturates at [`NaiveDate::MAX`].
pub fn add_calendar_days(start: NaiveDate, days: u32) -> NaiveDate {
    start.checked_add_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX)
}

/// A case is to be decided within 90 calendar days of filing (处罚法 Art. 60; RULES D2, R10).
pub const DECISION_LIMIT_DAYS: u32 = 90;

/// The last day on which a case filed at `filed_at` is decided in time (RULES R10): the filing
/// day in the agency's zone (D5), not counted (D3), plus [`DECISION_LIMIT_DAYS`] calendar days
/// (D2). The one definition of the limit: the case view, the decision and supervision use it.
pub fn decision_due(filed_at: Timestamp, zone: Tz) -> NaiveDate {
    add_calendar_days(local_date(filed_at, zone), DECISION_LIMIT_DAYS)
}

/// Whether a decision made at `at` (or a case still undecided at `at`) is past the limit of a
/// case filed at `filed_at`: `at`'s local date is after [`decision_due`].
pub fn decision_late(filed_at: Timestamp, at: Timestamp, zone: Tz) -> bool {
    local_date(at, zone) > decision_due(filed_at, zone)
}

/// A bound no overdue case can be within: a case is overdue at `at` only if it was filed more
/// than this many microseconds earlier (89 days: the 90 local days less one for a day shortened by
/// a daylight-saving change). For a database filter before [`decision_late`] decides.
pub const DECISION_LATE_MIN_MICROS: i64 = (DECISION_LIMIT_DAYS as i64 - 1) * 86_400 * 1_000_000;

/// A named range of rest days (放假), both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestPeriod {
    /// The holiday's name, e.g. 春节.
    pub name: String,
    /// First rest day.
    pub from: NaiveDate,
    /// Last rest day.
    pub to: NaiveDate,
}

impl RestPeriod {
    /// Whether `date` is one of the rest days.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// The official working-day schedule of one year, validated: every date lies inside the year,
/// every rest range runs forwards, and every declared working day (调休上班) is a Saturday or Sunday
/// outside the rest ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    year: i32,
    workdays: BTreeSet<NaiveDate>,
    rest: Vec<RestPeriod>,
}

/// The TOML form of a schedule, before validation. Dates may be strings ("2026-02-14") or TOML
/// local dates (2026-02-14).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    year: i64,
    #[serde(default)]
    workdays: Vec<toml::Value>,
    #[serde(default)]
    rest: Vec<RawRest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRest {
    name: String,
    from: toml::Value,
    to: toml::Value,
}

/// The TOML form written by [`YearSchedule::to_toml`].
#[derive(Serialize)]
struct OutSchedule<'a> {
    year: i32,
    workdays: Vec<String>,
    rest: Vec<OutRest<'a>>,
}

#[derive(Serialize)]
struct OutRest<'a> {
    name: &'a str,
    from: String,
    to: String,
}

fn parse_date(field: &str, value: &toml::Value) -> Result<NaiveDate> {
    let invalid = || {
        Error::invalid(
            field,
            format!("{} is not a date of the form YYYY-MM-DD", crate::error::clip(&value.to_string())),
        )
    };
    match value {
        toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid()),
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)).ok_or_else(invalid)
            }
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl YearSchedule {
    /// A validated schedule. Errors name the offending field: `year`, `workdays[i]`,
    /// `rest[i].name`, `rest[i].from`, `rest[i].to` or `rest[i]`.
    pub fn new(year: i32, workdays: Vec<NaiveDate>, rest: Vec<RestPeriod>) -> Result<Self> {
        let in_year = |d: NaiveDate| d.year() == year;
        if NaiveDate::from_ymd_opt(year, 1, 1).is_none() || NaiveDate::from_ymd_opt(year, 12, 31).is_none() {
            return Err(Error::invalid("year", format!("{year} is outside the supported range of dates")));
        }
        for (i, r) in rest.iter().enumerate() {
            if r.name.trim().is_empty() {
                return Err(Error::invalid(format!("rest[{i}].name"), "must not be empty"));
            }
            for (end, d) in [("from", r.from), ("to", r.to)] {
                if !in_year(d) {
                    return Err(Error::invalid(format!("rest[{i}].{end}"), format!("{d} is not in {year}")));
                }
            }
            if r.from > r.to {
                return Err(Error::invalid(format!("rest[{i}]"), format!("from {} is after to {}", r.from, r.to)));
            }
        }
        for (i, d) in workdays.iter().enumerate() {
            let field = format!("workdays[{i}]");
            if !in_year(*d) {
                return Err(Error::invalid(field, format!("{d} is not in {year}")));
            }
            if !is_weekend(*d) {
                return Err(Error::invalid(
                    field,
                    format!("{d} is a {}: only a Saturday or Sunday can be declared a working day", d.weekday()),
                ));
            }
            if let Some(r) = rest.iter().find(|r| r.contains(*d)) {
                return Err(Error::invalid(
                    field,
                    format!("{d} is inside the rest period {} ({}..{})", r.name, r.from, r.to),
                ));
            }
        }
        Ok(Self { year, workdays: workdays.into_iter().collect(), rest })
    }

    /// Parses and validates the TOML form of `calendar/cn-YYYY.toml`: `year`, `workdays` (the
    /// weekend days declared working days) and `[[rest]]` ranges with `name`, `from`, `to`.
    pub fn from_toml(text: &str) -> Result<Self> {
        let raw: RawSchedule = toml::from_str(text).map_err(|e| Error::invalid("schedule", e.message().to_owned()))?;
        let year =
            i32::try_from(raw.year).map_err(|_| Error::invalid("year", format!("{} is out of range", raw.year)))?;
        let workdays = raw
            .workdays
            .iter()
            .enumerate()
            .map(|(i, v)| parse_date(&format!("workdays[{i}]"), v))
            .collect::<Result<Vec<_>>>()?;
        let rest = raw
            .rest
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(RestPeriod {
                    from: parse_date(&format!("rest[{i}].from"), &r.from)?,
                    to: parse_date(&format!("rest[{i}].to"), &r.to)?,
                    name: r.name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(year, workdays, rest)
    }

    /// The TOML form, as read by [`Self::from_toml`] (for storing a schedule loaded at run time).
    pub fn to_toml(&self) -> String {
        let out = OutSchedule {
            year: self.year,
            workdays: self.workdays.iter().map(ToString::to_string).collect(),
            rest: self
                .rest
                .iter()
                .map(|r| OutRest { name: &r.name, from: r.from.to_string(), to: r.to.to_string() })
                .collect(),
        };
        // Strings, integers, arrays and tables only: serialisation cannot fail.
        toml::to_string(&out).unwrap_or_default()
    }

    /// The year this schedule covers.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The weekend days declared working days (调休上班), in date order.
    pub fn workdays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.workdays.iter().copied()
    }

    /// The rest periods, as announced.
    pub fn rest(&self) -> &[RestPeriod] {
        &self.rest
    }

    /// Whether `date` (which must lie in [`Self::year`]) is a working day under this schedule.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        !is_weekend(date) && !self.rest.iter().any(|r| r.contains(date))
    }
}

/// The last day of a period, and whether it rests on a year with no loaded schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The period ends at the end of this local date (RULES D3).
    pub date: NaiveDate,
    /// Some day counted lies in a year without an official schedule, so only weekends were
    /// excluded; the date may move once that year's schedule is loaded (RULES D4). Show this mark
    /// wherever the deadline is shown.
    pub provisional: bool,
}

impl Deadline {
    /// The instant the period has run out: the start of the day after [`Self::date`] in `zone`.
    /// An act at or after this instant is late.
    pub fn passes_at(&self, zone: Tz) -> Timestamp {
        let Some(next) = self.date.succ_opt() else {
            return Timestamp::from_micros(i64::MAX);
        };
        let midnight = next.and_time(NaiveTime::MIN);
        let instant = zone
            .from_local_datetime(&midnight)
            .earliest()
            // A zone whose clocks skip midnight: the first hour of the day is still the next day.
            .or_else(|| zone.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc));
        Timestamp::from_datetime(instant)
    }
}

/// Working-day schedules by year (RULES D4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearSchedule>,
}

impl WorkCalendar {
    /// A calendar with no schedules: every answer is Monday–Friday only, and provisional.
    pub fn new() -> Self {
        Self::default()
    }

    /// The calendar with the built-in official schedules (2025 and 2026).
    pub fn builtin() -> Self {
        let mut calendar = Self::new();
        for text in [BUILTIN_2025, BUILTIN_2026] {
            // Covered by the tests: the built-in files are valid.
            let schedule = YearSchedule::from_toml(text).expect("built-in calendar is valid");
            calendar.put_year(schedule);
        }
        calendar
    }

    /// Loads a year's schedule, replacing any schedule of the same year; returns the replaced one.
    pub fn put_year(&mut self, schedule: YearSchedule) -> Option<YearSchedule> {
        self.years.insert(schedule.year, schedule)
    }

    /// The schedule of `year`, if loaded.
    pub fn schedule(&self, year: i32) -> Option<&YearSchedule> {
        self.years.get(&year)
    }

    /// The years with a loaded schedule, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether `date` is a working day, and whether that answer is provisional (its year has no
    /// schedule, so only Saturdays and Sundays were excluded).
    pub fn is_working_day(&self, date: NaiveDate) -> (bool, bool) {
        match self.years.get(&date.year()) {
            Some(schedule) => (schedule.is_working_day(date), false),
            None => (!is_weekend(date), true),
        }
    }

    /// The deadline of a period of `n` working days starting on `start` (RULES D3): the start day
    /// is not counted, and the deadline is the `n`th working day after it. Provisional if any day
    /// examined (after `start`, up to the deadline) lies in a year without a schedule. With
    /// `n == 0` the deadline is `start` itself and nothing is examined. A count running past
    /// [`NaiveDate::MAX`] stops there, marked provisional.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Deadline {
        let mut date = start;
        let mut provisional = false;
        let mut remaining = n;
        while remaining > 0 {
            let Some(next) = date.succ_opt() else {
                return Deadline { date, provisional: true };
            };
            date = next;
            let (working, unsure) = self.is_working_day(date);
            provisional |= unsure;
            if working {
                remaining -= 1;
            }
        }
        Deadline { date, provisional }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_ends_at_the_first_local_midnight_after_its_last_day() {
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap().micros();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // Through 31 March in Shanghai: until 1 April 00:00 local, 31 March 16:00 UTC.
        assert_eq!(end_instant(day(2026, 3, 31), chrono_tz::Asia::Shanghai), at("2026-03-31T16:00:00Z"));
        assert_eq!(end_instant(day(2026, 3, 31), chrono_tz::UTC), at("2026-04-01T00:00:00Z"));
        // Santiago skipped 8 September 2024 00:00 (clocks went to 01:00, UTC-3): the period
        // ends at that first instant of the day, not never.
        assert_eq!(end_instant(day(2024, 9, 7), chrono_tz::America::Santiago), at("2024-09-08T04:00:00Z"));
        assert_eq!(end_instant(NaiveDate::MAX, chrono_tz::Asia::Shanghai), i64::MAX);
    }

    #[test]
    fn the_decision_limit_is_ninety_local_calendar_days_after_the_filing_day() {
        let sh = chrono_tz::Asia::Shanghai;
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        // Filed on 10 January in Shanghai (at 23:30 local, 15:30 UTC): due by the end of 10 April.
        let filed = at("2026-01-10T15:30:00Z");
        assert_eq!(decision_due(filed, sh), NaiveDate::from_ymd_opt(2026, 4, 10).unwrap());
        // The last minute of 10 April local time is in time, the first of 11 April is late,
        // whatever the UTC seconds since filing say (90 × 24 h after filing is 9 April, 15:30 UTC).
        assert!(!decision_late(filed, at("2026-04-10T15:59:59Z"), sh));
        assert!(decision_late(filed, at("2026-04-10T16:00:00Z"), sh));
        // The same instant of filing is 10 January in UTC too, but a day's boundary differs.
        assert!(!decision_late(filed, at("2026-04-10T23:59:59Z"), chrono_tz::UTC));
        assert!(decision_late(filed, at("2026-04-11T00:00:00Z"), chrono_tz::UTC));
        // Every late instant is later than the database bound.
        assert!(at("2026-04-10T16:00:00Z").micros() - filed.micros() > DECISION_LATE_MIN_MICROS);
    }
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn field(r: Result<YearSchedule>) -> String {
        match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    const SCHEDULE_2027: &str = r#"
        year = 2027
        workdays = []

        [[rest]]
        name = "元旦"
        from = "2027-01-01"
        to = "2027-01-03"
    "#;

    #[test]
    fn builtin_schedules_load_and_declared_workdays_are_weekends() {
        let cal = WorkCalendar::builtin();
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(cal.schedule(2026).unwrap().rest().len(), 7);
        for year in [2025, 2026] {
            for w in cal.schedule(year).unwrap().workdays() {
                assert!(is_weekend(w), "{w}");
                assert_eq!(cal.is_working_day(w), (true, false), "{w}");
            }
        }
        assert_eq!(d("2026-01-04").weekday(), Weekday::Sun);
        assert_eq!(d("2026-05-09").weekday(), Weekday::Sat);
        assert_eq!(cal.is_working_day(d("2025-01-26")), (true, false));
        assert_eq!(cal.is_working_day(d("2025-10-08")), (false, false));
    }

    #[test]
    fn spring_festival_2026() {
        let cal = WorkCalendar::builtin();
        for s in ["2026-02-14", "2026-02-28"] {
            assert_eq!(d(s).weekday(), Weekday::Sat);
            assert_eq!(cal.is_working_day(d(s)), (true, false), "{s}");
        }
        let mut day = d("2026-02-15");
        while day <= d("2026-02-23") {
            assert_eq!(cal.is_working_day(day), (false, false), "{day}");
            day = day.succ_opt().unwrap();
        }
        assert_eq!(d("2026-02-16").weekday(), Weekday::Mon);
        assert_eq!(d("2026-02-23").weekday(), Weekday::Mon);
        assert_eq!(cal.is_working_day(d("2026-02-13")), (true, false));
        assert_eq!(cal.is_working_day(d("2026-02-24")), (true, false));
        assert_eq!(cal.is_working_day(d("2026-02-21")), (false, false)); // Saturday inside 春节
    }

    #[test]
    fn seven_working_days_from_2026_02_12_end_on_the_working_saturday_after_spring_festival() {
        // Start Thursday 2026-02-12; the start day is not counted (D3).
        //   1: Fri 02-13
        //   2: Sat 02-14  (调休上班)
        //      Sun 02-15 .. Mon 02-23: 春节 rest (9 days)
        //   3: Tue 02-24
        //   4: Wed 02-25
        //   5: Thu 02-26
        //   6: Fri 02-27
        //   7: Sat 02-28  (调休上班)
        let cal = WorkCalendar::builtin();
        assert_eq!(d("2026-02-12").weekday(), Weekday::Thu);
        let deadline = cal.add_working_days(d("2026-02-12"), 7);
        assert_eq!(deadline, Deadline { date: d("2026-02-28"), provisional: false });
        assert_eq!(cal.add_working_days(d("2026-02-12"), 2).date, d("2026-02-14"));
        assert_eq!(cal.add_working_days(d("2026-02-12"), 3).date, d("2026-02-24"));
        assert_eq!(cal.add_working_days(d("2026-02-12"), 8).date, d("2026-03-02"));
        // Without the schedule the same count would end on Monday 2026-02-23, provisionally.
        assert_eq!(
            WorkCalendar::new().add_working_days(d("2026-02-12"), 7),
            Deadline { date: d("2026-02-23"), provisional: true }
        );
    }

    #[test]
    fn national_day_2026() {
        let cal = WorkCalendar::builtin();
        assert_eq!(d("2026-09-20").weekday(), Weekday::Sun);
        assert_eq!(d("2026-10-10").weekday(), Weekday::Sat);
        assert_eq!(d("2026-10-01").weekday(), Weekday::Thu);
        assert_eq!(cal.is_working_day(d("2026-09-20")), (true, false));
        assert_eq!(cal.is_working_day(d("2026-10-10")), (true, false));
        for day in 1..=7 {
            let date = NaiveDate::from_ymd_opt(2026, 10, day).unwrap();
            assert_eq!(cal.is_working_day(date), (false, false), "{date}");
        }
        assert_eq!(cal.is_working_day(d("2026-10-08")), (true, false));
        assert_eq!(cal.is_working_day(d("2026-10-11")), (false, false)); // an ordinary Sunday
        assert_eq!(cal.is_working_day(d("2026-09-25")), (false, false)); // 中秋节, a Friday
        // Wed 09-30 + 5: Thu 10-08, Fri 10-09, Sat 10-10 (调休), Mon 10-12, Tue 10-13.
        assert_eq!(cal.add_working_days(d("2026-09-30"), 5), Deadline { date: d("2026-10-13"), provisional: false });
        // Fri 09-18 + 2: Sun 09-20 (调休), Mon 09-21.
        assert_eq!(cal.add_working_days(d("2026-09-18"), 2).date, d("2026-09-21"));
    }

    #[test]
    fn deadline_into_an_unscheduled_year_is_provisional_until_the_year_is_loaded() {
        let mut cal = WorkCalendar::builtin();
        assert_eq!(d("2026-12-28").weekday(), Weekday::Mon);
        // Staying inside 2026 is not provisional.
        assert_eq!(cal.add_working_days(d("2026-12-28"), 3), Deadline { date: d("2026-12-31"), provisional: false });
        // Tue 29, Wed 30, Thu 31, then 2027 by weekdays only: Fri 01-01, Mon 01-04, 01-05, 01-06.
        assert_eq!(cal.add_working_days(d("2026-12-28"), 7), Deadline { date: d("2027-01-06"), provisional: true });
        assert_eq!(cal.is_working_day(d("2027-01-01")), (true, true));
        let replaced = cal.put_year(YearSchedule::from_toml(SCHEDULE_2027).unwrap());
        assert!(replaced.is_none());
        // With 元旦 2027-01-01..03 resting: Mon 01-04, 01-05, 01-06, 01-07.
        assert_eq!(cal.add_working_days(d("2026-12-28"), 7), Deadline { date: d("2027-01-07"), provisional: false });
        assert_eq!(cal.is_working_day(d("2027-01-01")), (false, false));
    }

    #[test]
    fn put_year_replaces_a_schedule() {
        let mut cal = WorkCalendar::builtin();
        let amended = YearSchedule::new(2026, vec![], vec![]).unwrap();
        let old = cal.put_year(amended).unwrap();
        assert_eq!(old.year(), 2026);
        assert_eq!(cal.is_working_day(d("2026-02-16")), (true, false));
        assert_eq!(cal.is_working_day(d("2026-02-14")), (false, false));
    }

    #[test]
    fn schedules_round_trip_through_toml_and_accept_toml_dates() {
        let cal = WorkCalendar::builtin();
        for year in [2025, 2026] {
            let s = cal.schedule(year).unwrap();
            assert_eq!(&YearSchedule::from_toml(&s.to_toml()).unwrap(), s);
        }
        let bare = YearSchedule::from_toml(
            "year = 2027\nworkdays = [2027-01-09]\n[[rest]]\nname = \"元旦\"\nfrom = 2027-01-01\nto = 2027-01-03\n",
        )
        .unwrap();
        assert_eq!(bare.workdays().collect::<Vec<_>>(), vec![d("2027-01-09")]);
        assert_eq!(bare.rest()[0].to, d("2027-01-03"));
    }

    #[test]
    fn invalid_schedules_name_the_field() {
        let rest = |name: &str, from: &str, to: &str| RestPeriod { name: name.into(), from: d(from), to: d(to) };
        assert_eq!(field(YearSchedule::new(2026, vec![d("2025-12-27")], vec![])), "workdays[0]");
        assert_eq!(field(YearSchedule::new(2026, vec![d("2026-02-14"), d("2026-02-16")], vec![])), "workdays[1]");
        assert_eq!(
            field(YearSchedule::new(2026, vec![d("2026-02-21")], vec![rest("春节", "2026-02-15", "2026-02-23")])),
            "workdays[0]"
        );
        assert_eq!(
            field(YearSchedule::new(2026, vec![], vec![rest("元旦", "2025-12-31", "2026-01-01")])),
            "rest[0].from"
        );
        assert_eq!(
            field(YearSchedule::new(
                2026,
                vec![],
                vec![rest("a", "2026-01-01", "2026-01-01"), rest("b", "2026-12-31", "2027-01-01")]
            )),
            "rest[1].to"
        );
        assert_eq!(field(YearSchedule::new(2026, vec![], vec![rest("春节", "2026-02-23", "2026-02-15")])), "rest[0]");
        assert_eq!(field(YearSchedule::new(2026, vec![], vec![rest(" ", "2026-02-15", "2026-02-23")])), "rest[0].name");
        assert_eq!(field(YearSchedule::new(i32::MAX, vec![], vec![])), "year");
        assert_eq!(field(YearSchedule::from_toml("year = 2026\nworkdays = [\"2026-02-30\"]")), "workdays[0]");
        assert_eq!(
            field(YearSchedule::from_toml("year = 2026\n[[rest]]\nname = \"x\"\nfrom = \"2026-01-01\"\nto = 5")),
            "rest[0].to"
        );
        assert_eq!(field(YearSchedule::from_toml("year = 2026\nholidays = []")), "schedule");
        assert_eq!(field(YearSchedule::from_toml("year = 99999999999")), "year");
    }

    #[test]
    fn calendar_days_and_local_dates() {
        // D2: 90 calendar days from filing on 2026-01-10 end on 2026-04-10, whatever the holidays.
        assert_eq!(add_calendar_days(d("2026-01-10"), 90), d("2026-04-10"));
        assert_eq!(add_calendar_days(d("2026-03-01"), 15), d("2026-03-16"));
        assert_eq!(add_calendar_days(NaiveDate::MAX, 1), NaiveDate::MAX);
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        assert_eq!(local_date(at("2026-02-12T15:59:59Z"), DEFAULT_ZONE), d("2026-02-12"));
        assert_eq!(local_date(at("2026-02-12T16:00:00Z"), DEFAULT_ZONE), d("2026-02-13"));
        assert_eq!(local_date(at("2026-02-12T16:00:00Z"), chrono_tz::UTC), d("2026-02-12"));
        let deadline = Deadline { date: d("2026-02-28"), provisional: false };
        assert_eq!(deadline.passes_at(DEFAULT_ZONE), at("2026-02-28T16:00:00Z"));
        assert_eq!(WorkCalendar::builtin().add_working_days(d("2026-02-12"), 0).date, d("2026-02-12"));
    }

    proptest! {
        #[test]
        fn working_day_deadlines_increase_and_land_on_working_days(offset in 0u64..(5 * 366), n in 0u32..80) {
            // From 2024 (no schedule) through 2028 (none either), across the built-in years.
            let cal = WorkCalendar::builtin();
            let start = d("2024-01-01") + Days::new(offset);
            let a = cal.add_working_days(start, n);
            let b = cal.add_working_days(start, n + 1);
            prop_assert!(a.date < b.date);
            prop_assert!(cal.is_working_day(b.date).0);
            prop_assert!(b.provisional || !a.provisional);
            if n > 0 {
                prop_assert!(cal.is_working_day(a.date).0);
            }
        }
    }
}
