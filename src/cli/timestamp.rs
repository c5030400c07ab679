//! Instants on the command line: `YYYY-MM-DD` (midnight UTC) or RFC 3339
//! (`2026-11-24T10:02:03Z`, `2026-11-24T12:02:03+02:00`).

use clearinghouse_domain::Date;

/// Parses a date or an RFC 3339 instant.
pub fn parse(s: &str) -> Result<prost_types::Timestamp, String> {
    let s = s.trim();
    let (day, rest) = s.split_at(s.len().min(10));
    let date = Date::parse(day)?;
    let mut seconds = i64::from(date.0) * 86_400;
    if rest.is_empty() {
        return Ok(prost_types::Timestamp { seconds, nanos: 0 });
    }
    let bad = || {
        format!(
            "'{s}' is not a date or an RFC 3339 time; use e.g. 2026-11-24 or 2026-11-24T10:00:00Z"
        )
    };
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => return Err(bad()),
    };
    let clock = clock.split('.').next().unwrap_or(clock);
    let hms: Vec<i64> = clock
        .split(':')
        .map(|p| p.parse::<i64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [h, m, sec] = match hms.as_slice() {
        [h, m] => [*h, *m, 0],
        [h, m, s] => [*h, *m, *s],
        _ => return Err(bad()),
    };
    if h > 23 || m > 59 || sec > 60 {
        return Err(bad());
    }
    seconds += h * 3600 + m * 60 + sec;
    if !offset.eq_ignore_ascii_case("z") {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (oh, om) = offset[1..].split_once(':').ok_or_else(bad)?;
        let oh: i64 = oh.parse().map_err(|_| bad())?;
        let om: i64 = om.parse().map_err(|_| bad())?;
        seconds -= sign * (oh * 3600 + om * 60);
    }
    Ok(prost_types::Timestamp { seconds, nanos: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_rfc3339_times_with_offsets_parse_to_the_same_instant() {
        let day = parse("2023-11-14").expect("date").seconds;
        assert_eq!(day, 1_699_920_000);
        assert_eq!(
            parse("2023-11-14T22:13:20Z").expect("utc").seconds,
            1_700_000_000
        );
        assert_eq!(
            parse("2023-11-15T00:13:20+02:00").expect("offset").seconds,
            1_700_000_000
        );
        assert!(parse("yesterday").is_err());
        assert!(parse("2023-11-14T25:00:00Z").is_err());
    }
}
