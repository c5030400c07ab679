//! Ageing of unmatched needs: how long open needs without an agreed match
//! (`AUTHENTICATED`, `CIRCULATED`) have waited since their request, in buckets of 0–6,
//! 6–12 and 12+ months, and the list of those due their 12-month follow-up letter (the
//! follow-up date on or before today).

use clearinghouse_domain::{Date, Need, Priority};
use serde::{Deserialize, Serialize};

use crate::{
    classify::{days_between, is_open_unmatched, whole_months},
    input::{Lookup, ReportInput},
    meta::{Applies, ReportMeta},
    viewer::{HiddenRows, RowAccess},
};

/// One age bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeingBucket {
    /// Label for people (`0-6 months`).
    pub label: String,
    /// First whole month of age in the bucket.
    pub from_months: u32,
    /// First whole month past the bucket (`None`: open-ended).
    pub until_months: Option<u32>,
    /// Unmatched needs in the bucket.
    pub needs: u32,
    /// Of which priority HIGH.
    pub high: u32,
    /// Of which priority MEDIUM.
    pub medium: u32,
    /// Of which priority LOW.
    pub low: u32,
    /// Of which confidential (`COMMITTEE_ONLY`), as a count for every viewer.
    pub confidential: u32,
}

/// A need due its follow-up letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRow {
    /// Need id.
    pub need_id: String,
    /// Title.
    pub title: String,
    /// Requesting party's name.
    pub requester: String,
    /// Country (ISO3).
    pub country: String,
    /// Area code.
    pub area: String,
    /// Need status code.
    pub status: String,
    /// Priority code.
    pub priority: String,
    /// Request date.
    pub request_date: String,
    /// Follow-up due date (request date + 12 months).
    pub follow_up_due: String,
    /// Days since the follow-up fell due (0 on the day).
    pub days_overdue: i32,
    /// Whole months since the request.
    pub months_open: u32,
}

/// The ageing report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeingReport {
    /// Heading.
    pub meta: ReportMeta,
    /// The three buckets, youngest first.
    pub buckets: Vec<AgeingBucket>,
    /// All unmatched needs counted.
    pub unmatched_needs: u32,
    /// Needs due a follow-up, every one counted (shown or not).
    pub follow_ups_due: u32,
    /// The follow-up rows the viewer may see, most overdue first.
    pub follow_ups: Vec<FollowUpRow>,
    /// Follow-up rows left out for the viewer.
    pub follow_ups_hidden: HiddenRows,
}

/// The date a need was requested (its creation day when none was recorded).
pub(crate) fn request_date(n: &Need) -> Date {
    n.fields.request_date.unwrap_or_else(|| n.created_at.date())
}

pub(crate) fn follow_up_row(lookup: &Lookup<'_>, n: &Need, today: Date) -> FollowUpRow {
    let requested = request_date(n);
    FollowUpRow {
        need_id: n.id.to_string(),
        title: n.fields.title.clone(),
        requester: lookup.party_name(&n.requester),
        country: n.fields.country_code.clone(),
        area: n
            .fields
            .area
            .map(|a| a.code().to_owned())
            .unwrap_or_default(),
        status: n.status.code().to_owned(),
        priority: n.fields.priority.code().to_owned(),
        request_date: requested.to_string(),
        follow_up_due: n.follow_up_due.to_string(),
        days_overdue: days_between(n.follow_up_due, today),
        months_open: whole_months(requested, today),
    }
}

/// Follow-ups due: open unmatched needs passing the filter whose follow-up date is on or
/// before today, most overdue first (then request date, then id).
pub(crate) fn due_follow_ups<'a>(input: &ReportInput<'a>) -> Vec<&'a Need> {
    let mut due: Vec<&Need> = input
        .needs
        .iter()
        .filter(|n| is_open_unmatched(n.status) && input.filter.need_passes(n))
        .filter(|n| n.follow_up_due <= input.today)
        .collect();
    due.sort_by(|a, b| {
        (a.follow_up_due, request_date(a), &a.id).cmp(&(b.follow_up_due, request_date(b), &b.id))
    });
    due
}

/// Computes the ageing report.
pub fn ageing(input: &ReportInput<'_>) -> AgeingReport {
    let meta = ReportMeta::new(
        "ageing",
        "Ageing of unmatched needs",
        input,
        Applies {
            needs_not_applicable: None,
            gp_not_applicable: Some("needs carry no GP sub-working group"),
        },
    );
    let lookup = Lookup::new(input);
    let mut buckets = vec![
        bucket("0-6 months", 0, Some(6)),
        bucket("6-12 months", 6, Some(12)),
        bucket("12+ months", 12, None),
    ];
    let mut unmatched_needs = 0;
    for n in input
        .needs
        .iter()
        .filter(|n| is_open_unmatched(n.status) && input.filter.need_passes(n))
    {
        unmatched_needs += 1;
        let months = whole_months(request_date(n), input.today);
        let b = match months {
            0..6 => &mut buckets[0],
            6..12 => &mut buckets[1],
            _ => &mut buckets[2],
        };
        b.needs += 1;
        match n.fields.priority {
            Priority::High => b.high += 1,
            Priority::Medium => b.medium += 1,
            Priority::Low => b.low += 1,
        }
        if n.fields.visibility == clearinghouse_domain::Visibility::CommitteeOnly {
            b.confidential += 1;
        }
    }
    let due = due_follow_ups(input);
    let mut hidden = HiddenRows::default();
    let mut rows = Vec::new();
    for n in &due {
        match input.viewer.need_row(n) {
            RowAccess::Shown => rows.push(follow_up_row(&lookup, n, input.today)),
            other => hidden.count(other),
        }
    }
    AgeingReport {
        meta,
        buckets,
        unmatched_needs,
        follow_ups_due: u32::try_from(due.len()).unwrap_or(u32::MAX),
        follow_ups: rows,
        follow_ups_hidden: hidden,
    }
}

fn bucket(label: &str, from: u32, until: Option<u32>) -> AgeingBucket {
    AgeingBucket {
        label: label.to_owned(),
        from_months: from,
        until_months: until,
        needs: 0,
        high: 0,
        medium: 0,
        low: 0,
        confidential: 0,
    }
}
