//! How reports classify records: a need's coverage class, a match's stage, ages in
//! months, and the day a match was agreed.

use clearinghouse_domain::{Date, Match, MatchStatus, NeedStatus};
use serde::{Deserialize, Serialize};

/// How far agreed matches cover a need that counts in coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NeedClass {
    /// No agreed match: `AUTHENTICATED`, `CIRCULATED`, or `LAPSED` (closed unmet).
    Unmatched,
    /// `PARTIALLY_MATCHED`.
    PartiallyMatched,
    /// `MATCHED`, `FULFILLED` or `CLOSED`.
    Matched,
}

impl NeedClass {
    /// The class of a need in `status`, or `None` when the need does not count in
    /// coverage: only needs authenticated or later count, and not withdrawn ones (so
    /// `DRAFT`, `SUBMITTED`, `REJECTED` and `WITHDRAWN` are left out).
    pub fn of(status: NeedStatus) -> Option<NeedClass> {
        use NeedStatus as S;
        match status {
            S::Authenticated | S::Circulated | S::Lapsed => Some(NeedClass::Unmatched),
            S::PartiallyMatched => Some(NeedClass::PartiallyMatched),
            S::Matched | S::Fulfilled | S::Closed => Some(NeedClass::Matched),
            S::Draft | S::Submitted | S::Rejected | S::Withdrawn => None,
        }
    }
}

/// Whether a need is open and has no agreed match (`AUTHENTICATED` or `CIRCULATED`):
/// the needs the ageing report and the follow-up list are about.
pub fn is_open_unmatched(status: NeedStatus) -> bool {
    matches!(status, NeedStatus::Authenticated | NeedStatus::Circulated)
}

/// The stage of a match, coarser than its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    /// `PROPOSED`, `ACCEPTED_BY_REQUESTER`, `ACCEPTED_BY_PROVIDERS`: answers awaited.
    Negotiating,
    /// `AGREED`: capacity reserved, not started.
    Agreed,
    /// `IN_IMPLEMENTATION` or `SUSPENDED`.
    Implementing,
    /// `COMPLETED`.
    Completed,
    /// `DECLINED`, `WITHDRAWN` or `CANCELLED`.
    Ended,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 5] = [
        Stage::Negotiating,
        Stage::Agreed,
        Stage::Implementing,
        Stage::Completed,
        Stage::Ended,
    ];

    /// The stage of a match status.
    pub fn of(status: MatchStatus) -> Stage {
        use MatchStatus as M;
        match status {
            M::Proposed | M::AcceptedByRequester | M::AcceptedByProviders => Stage::Negotiating,
            M::Agreed => Stage::Agreed,
            M::InImplementation | M::Suspended => Stage::Implementing,
            M::Completed => Stage::Completed,
            M::Declined | M::Withdrawn | M::Cancelled => Stage::Ended,
        }
    }

    /// Position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Stage::Negotiating => "NEGOTIATING",
            Stage::Agreed => "AGREED",
            Stage::Implementing => "IMPLEMENTING",
            Stage::Completed => "COMPLETED",
            Stage::Ended => "ENDED",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Negotiating => "negotiating",
            Stage::Agreed => "agreed",
            Stage::Implementing => "implementing",
            Stage::Completed => "completed",
            Stage::Ended => "ended",
        }
    }
}

/// Whether a match in `status` holds pledged amounts as funding: `AGREED` and later,
/// not ended (`AGREED`, `IN_IMPLEMENTATION`, `SUSPENDED`, `COMPLETED`).
pub fn is_reserving(status: MatchStatus) -> bool {
    status.reserves()
}

/// Whole calendar months from `from` to `to` (0 when `to` is earlier): the largest `n`
/// with `from + n months <= to`.
pub fn whole_months(from: Date, to: Date) -> u32 {
    if to < from {
        return 0;
    }
    let (fy, fm, _) = from.ymd();
    let (ty, tm, _) = to.ymd();
    let rough = (ty - fy) * 12 + i32::try_from(tm).unwrap_or(1) - i32::try_from(fm).unwrap_or(1);
    let mut n = u32::try_from(rough.max(0)).unwrap_or(0);
    while n > 0 && from.add_months(n) > to {
        n -= 1;
    }
    n
}

/// Days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i32 {
    to.0 - from.0
}

/// The day a match last reached `status`, from its history.
pub fn reached_on(m: &Match, status: MatchStatus) -> Option<Date> {
    m.history
        .iter()
        .rev()
        .find(|c| c.to == status.code())
        .map(|c| c.at.date())
}

/// The day a match was agreed: when it last reached `AGREED`, or, for a match whose
/// history lacks that step, its last change.
pub fn agreed_on(m: &Match) -> Date {
    reached_on(m, MatchStatus::Agreed).unwrap_or_else(|| m.updated_at.date())
}
