//! Calendar dates and instants without a clock: `now` always comes in as an argument.
//!
//! [`Date`] is a proleptic Gregorian day (ISO `YYYY-MM-DD`), [`Timestamp`] milliseconds
//! since the Unix epoch.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::shown;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The calendar day (UTC) of this instant.
    pub fn date(self) -> Date {
        Date(i32::try_from(self.0.div_euclid(86_400_000)).unwrap_or(i32::MAX))
    }
}

/// A calendar day, stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(pub i32);

/// Earliest and latest years accepted at the edge.
const MIN_YEAR: i32 = 1990;
const MAX_YEAR: i32 = 2100;

impl Date {
    /// Builds a date from year, month (1–12) and day, or `None` if it does not exist.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// Parses `YYYY-MM-DD` (years 1990–2100).
    pub fn parse(s: &str) -> Result<Date, String> {
        let b = s.as_bytes();
        let ok_shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !ok_shape {
            return Err(format!("{} is not a date; use YYYY-MM-DD", shown(s)));
        }
        let y: i32 = s[0..4].parse().map_err(|_| format!("bad year in '{s}'"))?;
        let m: u32 = s[5..7].parse().map_err(|_| format!("bad month in '{s}'"))?;
        let d: u32 = s[8..10].parse().map_err(|_| format!("bad day in '{s}'"))?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
            return Err(format!(
                "year {y} is out of range; use a year from {MIN_YEAR} to {MAX_YEAR}"
            ));
        }
        Date::from_ymd(y, m, d).ok_or_else(|| format!("{} is not a day of the calendar", shown(s)))
    }

    /// Year, month, day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        u32::try_from((self.0 + 3).rem_euclid(7)).unwrap_or(0)
    }

    /// The date `n` days later.
    pub fn add_days(self, n: i32) -> Date {
        Date(self.0 + n)
    }

    /// The same day `n` months later, clamped to the month's last day.
    pub fn add_months(self, n: u32) -> Date {
        let (y, m, d) = self.ymd();
        let total = i64::from(y) * 12 + i64::from(m - 1) + i64::from(n);
        let ny = i32::try_from(total.div_euclid(12)).unwrap_or(i32::MAX);
        let nm = u32::try_from(total.rem_euclid(12)).unwrap_or(0) + 1;
        let nd = d.min(days_in_month(ny, nm));
        Date(days_from_civil(ny, nm, nd))
    }

    /// The date `n` working days (Monday to Friday) after this one.
    pub fn add_working_days(self, n: u32) -> Date {
        let mut d = self;
        let mut left = n;
        while left > 0 {
            d = d.add_days(1);
            if d.weekday() < 5 {
                left -= 1;
            }
        }
        d
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i32::try_from(m).unwrap_or(1);
    let d = i32::try_from(d).unwrap_or(1);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in ["1990-01-01", "2024-02-29", "2026-11-24", "2100-12-31"] {
            let d = Date::parse(s).expect("valid date");
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn rejects_impossible_and_malformed_dates() {
        for s in [
            "2023-02-29",
            "2026-13-01",
            "2026-04-31",
            "26-01-01",
            "2026/01/01",
            "",
            "1800-01-01",
        ] {
            assert!(Date::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(Date::parse("2026-11-24").map(Date::weekday), Ok(1)); // Tuesday
        assert_eq!(Date(0).weekday(), 3); // 1970-01-01, a Thursday
    }

    #[test]
    fn working_days_skip_weekends() {
        // Friday + 5 working days = next Friday; Wednesday + 5 = next Wednesday.
        let fri = Date::parse("2026-11-27").expect("date");
        assert_eq!(fri.add_working_days(5).to_string(), "2026-12-04");
        let sat = Date::parse("2026-11-28").expect("date");
        assert_eq!(sat.add_working_days(1).to_string(), "2026-11-30");
    }

    #[test]
    fn months_clamp_to_last_day() {
        let d = Date::parse("2024-02-29").expect("date");
        assert_eq!(d.add_months(12).to_string(), "2025-02-28");
        let d = Date::parse("2026-01-31").expect("date");
        assert_eq!(d.add_months(1).to_string(), "2026-02-28");
    }

    #[test]
    fn timestamp_to_date() {
        assert_eq!(
            Timestamp(1_795_000_000_000).date().to_string(),
            "2026-11-18"
        );
        assert_eq!(Timestamp(-1).date().to_string(), "1969-12-31");
    }
}
