//! Dates the 1540 procedure sets: the 5-working-day window in which a State may object to
//! circulation and publication, and the follow-up letter 12 months after the request.

use crate::time::Date;

/// Working days a State has to object after its request is acknowledged.
pub const CONSENT_WINDOW_WORKING_DAYS: u32 = 5;

/// Months after the request date when the follow-up letter is due.
pub const FOLLOW_UP_MONTHS: u32 = 12;

/// Last day of the consent window for a request acknowledged on `acknowledged`.
pub fn consent_window_end(acknowledged: Date) -> Date {
    acknowledged.add_working_days(CONSENT_WINDOW_WORKING_DAYS)
}

/// Whether the window that ends on `window_end` has passed on `today`.
pub fn consent_window_passed(window_end: Date, today: Date) -> bool {
    today > window_end
}

/// Due date of the follow-up letter for a request dated `request_date`.
pub fn follow_up_due(request_date: Date) -> Date {
    request_date.add_months(FOLLOW_UP_MONTHS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    #[test]
    fn window_spans_five_working_days() {
        // Acknowledged Thursday 2026-11-26 -> ends Thursday 2026-12-03.
        assert_eq!(consent_window_end(d("2026-11-26")), d("2026-12-03"));
        assert!(!consent_window_passed(d("2026-12-03"), d("2026-12-03")));
        assert!(consent_window_passed(d("2026-12-03"), d("2026-12-04")));
    }

    #[test]
    fn follow_up_is_twelve_months_later() {
        assert_eq!(follow_up_due(d("2026-11-24")), d("2027-11-24"));
        assert_eq!(follow_up_due(d("2028-02-29")), d("2029-02-28"));
    }
}
