//! A broker's day: needs awaiting authentication, consent windows closing or closed,
//! circulated needs still unmatched (oldest first, with the best candidate the caller's
//! engine finds), matches waiting for an answer and from whom, follow-ups due, and offers
//! expiring within 60 days.
//!
//! Every section counts all its items; rows of needs the viewer may not see are left out
//! and counted in the section's `hidden`.

use clearinghouse_domain::{
    Date, Match, MatchStatus, Need, NeedStatus, OfferId, PublicationConsent, matches::Acceptance,
};
use serde::{Deserialize, Serialize};

use crate::{
    ageing::{FollowUpRow, due_follow_ups, follow_up_row, request_date},
    classify::{days_between, whole_months},
    input::{Lookup, MissingRates, ReportInput},
    meta::{Applies, ReportMeta},
    portfolio::{offer_capacity, reserved_by_offer},
    viewer::{HiddenRows, RowAccess},
};

/// How far ahead offer expiries are listed, in days.
pub const EXPIRY_HORIZON_DAYS: i32 = 60;

/// The engine's best candidate for a need: the offer and its score in thousandths.
pub type BestCandidate<'a> = &'a dyn Fn(&Need) -> Option<(OfferId, u32)>;

/// One section of the worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section<T> {
    /// Items in the section, shown or not.
    pub total: u32,
    /// Rows left out for the viewer.
    pub hidden: HiddenRows,
    /// Rows shown.
    pub rows: Vec<T>,
}

impl<T> Default for Section<T> {
    fn default() -> Self {
        Section {
            total: 0,
            hidden: HiddenRows::default(),
            rows: Vec::new(),
        }
    }
}

impl<T> Section<T> {
    fn push(&mut self, access: RowAccess, row: impl FnOnce() -> T) {
        self.total += 1;
        match access {
            RowAccess::Shown => self.rows.push(row()),
            other => self.hidden.count(other),
        }
    }
}

/// A need submitted and awaiting authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedRow {
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
    /// Day of submission.
    pub submitted_on: String,
    /// Days since.
    pub days_waiting: i32,
}

/// An authenticated need and its consent window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRow {
    /// Need id.
    pub need_id: String,
    /// Title.
    pub title: String,
    /// Requesting party's name.
    pub requester: String,
    /// Publication consent code.
    pub consent: String,
    /// Last day the requester may object.
    pub window_ends: String,
    /// `WINDOW_OPEN`, `WINDOW_CLOSED`, `CONSENT_GIVEN` or `CONSENT_WITHHELD`
    /// (circulates to the Committee only).
    pub state: String,
    /// Whether the need may be circulated today.
    pub ready_to_circulate: bool,
    /// Days until the window closes (negative once closed).
    pub days_left: i32,
}

/// A circulated need with no agreed match yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedRow {
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
    /// Priority code.
    pub priority: String,
    /// Request date.
    pub request_date: String,
    /// Whole months since the request.
    pub months_open: u32,
    /// Best candidate offer, if the engine found one.
    pub best_offer_id: Option<String>,
    /// Its provider's name.
    pub best_offer_provider: Option<String>,
    /// Its score in thousandths.
    pub best_score_milli: Option<u32>,
}

/// A match waiting for answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitedRow {
    /// Match id.
    pub match_id: String,
    /// Need id.
    pub need_id: String,
    /// Match status code.
    pub status: String,
    /// Funding mode code.
    pub funding_mode: String,
    /// Who has not answered: `requester <name>` and `provider <name>` entries.
    pub waiting_for: Vec<String>,
    /// Day of the match's last change.
    pub waiting_since: String,
    /// Days since.
    pub days_waiting: i32,
}

/// An open offer whose validity ends soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringRow {
    /// Offer id.
    pub offer_id: String,
    /// Provider's name.
    pub provider: String,
    /// Programme name.
    pub programme: String,
    /// Last valid day.
    pub valid_until: String,
    /// Days left.
    pub days_left: i32,
    /// Whether the offer has no budget ceiling (no capacity limit).
    pub no_ceiling: bool,
    /// Remaining capacity in base minor units (`None`: no ceiling, or no exchange rate).
    pub remaining_minor: Option<i64>,
}

/// The worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worklist {
    /// Heading.
    pub meta: ReportMeta,
    /// `SUBMITTED` needs, oldest submission first.
    pub awaiting_authentication: Section<SubmittedRow>,
    /// `AUTHENTICATED` needs: ready ones first, then by window end.
    pub consent_windows: Section<ConsentRow>,
    /// `CIRCULATED` needs, oldest request first.
    pub unmatched: Section<UnmatchedRow>,
    /// Matches `PROPOSED` or accepted by one side, longest waiting first.
    pub awaiting_answers: Section<AwaitedRow>,
    /// Unmatched needs due their 12-month follow-up, most overdue first.
    pub follow_ups: Section<FollowUpRow>,
    /// Open offers valid until a day within the next 60, soonest first.
    pub expiring_offers: Section<ExpiringRow>,
}

fn reached(n: &Need, status: NeedStatus) -> Date {
    n.history
        .iter()
        .rev()
        .find(|c| c.to == status.code())
        .map_or_else(|| n.updated_at.date(), |c| c.at.date())
}

fn area_code(n: &Need) -> String {
    n.fields
        .area
        .map(|a| a.code().to_owned())
        .unwrap_or_default()
}

fn consent_state(n: &Need, today: Date) -> (&'static str, bool, Date) {
    let ends = n.consent_window_ends.unwrap_or(today);
    match n.fields.publication_consent {
        PublicationConsent::Granted | PublicationConsent::DeemedGranted => {
            ("CONSENT_GIVEN", true, ends)
        }
        PublicationConsent::Withheld => ("CONSENT_WITHHELD", true, ends),
        PublicationConsent::Pending if today > ends => ("WINDOW_CLOSED", true, ends),
        PublicationConsent::Pending => ("WINDOW_OPEN", false, ends),
    }
}

fn waiting_for(lookup: &Lookup<'_>, m: &Match) -> Vec<String> {
    let mut out = Vec::new();
    if m.requester_acceptance == Acceptance::Pending {
        out.push(format!("requester {}", lookup.party_name(&m.requester)));
    }
    let mut seen = Vec::new();
    for c in m
        .contributions
        .iter()
        .filter(|c| c.acceptance == Acceptance::Pending)
    {
        if !seen.contains(&&c.provider) {
            seen.push(&c.provider);
            out.push(format!("provider {}", lookup.party_name(&c.provider)));
        }
    }
    out
}

/// Computes the worklist; `best_candidate` is the caller's engine.
pub fn worklist(input: &ReportInput<'_>, best_candidate: BestCandidate<'_>) -> Worklist {
    let meta = ReportMeta::new("worklist", "Worklist", input, Applies::default());
    let lookup = Lookup::new(input);
    let today = input.today;
    let viewer = input.viewer;
    let needs: Vec<&Need> = input
        .needs
        .iter()
        .filter(|n| input.filter.need_passes(n))
        .collect();

    let mut submitted: Vec<&Need> = needs
        .iter()
        .copied()
        .filter(|n| n.status == NeedStatus::Submitted)
        .collect();
    submitted.sort_by_key(|n| (reached(n, NeedStatus::Submitted), &n.id));
    let mut awaiting_authentication = Section::default();
    for n in submitted {
        awaiting_authentication.push(viewer.need_row(n), || {
            let on = reached(n, NeedStatus::Submitted);
            SubmittedRow {
                need_id: n.id.to_string(),
                title: n.fields.title.clone(),
                requester: lookup.party_name(&n.requester),
                country: n.fields.country_code.clone(),
                area: area_code(n),
                submitted_on: on.to_string(),
                days_waiting: days_between(on, today),
            }
        });
    }

    let mut authenticated: Vec<(&Need, (&'static str, bool, Date))> = needs
        .iter()
        .copied()
        .filter(|n| n.status == NeedStatus::Authenticated)
        .map(|n| (n, consent_state(n, today)))
        .collect();
    authenticated.sort_by_key(|(n, (_, ready, ends))| (!*ready, *ends, &n.id));
    let mut consent_windows = Section::default();
    for (n, (state, ready, ends)) in authenticated {
        consent_windows.push(viewer.need_row(n), || ConsentRow {
            need_id: n.id.to_string(),
            title: n.fields.title.clone(),
            requester: lookup.party_name(&n.requester),
            consent: n.fields.publication_consent.code().to_owned(),
            window_ends: ends.to_string(),
            state: state.to_owned(),
            ready_to_circulate: ready,
            days_left: days_between(today, ends),
        });
    }

    let mut circulated: Vec<&Need> = needs
        .iter()
        .copied()
        .filter(|n| n.status == NeedStatus::Circulated)
        .collect();
    circulated.sort_by_key(|n| (request_date(n), &n.id));
    let mut unmatched = Section::default();
    for n in circulated {
        unmatched.push(viewer.need_row(n), || {
            let best = best_candidate(n);
            UnmatchedRow {
                need_id: n.id.to_string(),
                title: n.fields.title.clone(),
                requester: lookup.party_name(&n.requester),
                country: n.fields.country_code.clone(),
                area: area_code(n),
                priority: n.fields.priority.code().to_owned(),
                request_date: request_date(n).to_string(),
                months_open: whole_months(request_date(n), today),
                best_offer_id: best.as_ref().map(|(o, _)| o.to_string()),
                best_offer_provider: best
                    .as_ref()
                    .and_then(|(o, _)| lookup.offer(o))
                    .map(|o| lookup.party_name(&o.provider)),
                best_score_milli: best.map(|(_, s)| s),
            }
        });
    }

    let mut open_matches: Vec<&Match> = input
        .matches
        .iter()
        .filter(|m| {
            matches!(
                m.status,
                MatchStatus::Proposed
                    | MatchStatus::AcceptedByRequester
                    | MatchStatus::AcceptedByProviders
            ) && lookup.match_passes(input.filter, m)
        })
        .collect();
    open_matches.sort_by_key(|m| (m.updated_at, &m.id));
    let mut awaiting_answers = Section::default();
    for m in open_matches {
        let access = match lookup.need(&m.need) {
            Some(n) => viewer.need_row(n),
            None if viewer.sees_confidential_rows() => RowAccess::Shown,
            None => RowAccess::Restricted,
        };
        awaiting_answers.push(access, || AwaitedRow {
            match_id: m.id.clone(),
            need_id: m.need.to_string(),
            status: m.status.code().to_owned(),
            funding_mode: m.funding_mode.code().to_owned(),
            waiting_for: waiting_for(&lookup, m),
            waiting_since: m.updated_at.date().to_string(),
            days_waiting: days_between(m.updated_at.date(), today),
        });
    }

    let mut follow_ups = Section::default();
    for n in due_follow_ups(input) {
        follow_ups.push(viewer.need_row(n), || follow_up_row(&lookup, n, today));
    }

    let horizon = today.add_days(EXPIRY_HORIZON_DAYS);
    let reserved = reserved_by_offer(input);
    let mut missing = MissingRates::default();
    let mut expiring: Vec<(Date, &clearinghouse_domain::Offer)> = input
        .offers
        .iter()
        .filter(|o| o.status.is_open() && input.filter.offer_passes(o))
        .filter_map(|o| {
            let until = o.fields.valid_until?;
            (today <= until && until <= horizon).then_some((until, o))
        })
        .collect();
    expiring.sort_by_key(|(until, o)| (*until, &o.id));
    let mut expiring_offers = Section::default();
    for (until, o) in expiring {
        let res = reserved.get(&o.id).map_or(&[][..], Vec::as_slice);
        let remaining = offer_capacity(input, o, res, &mut missing).and_then(|(_, _, r)| r);
        expiring_offers.push(RowAccess::Shown, || ExpiringRow {
            offer_id: o.id.to_string(),
            provider: lookup.party_name(&o.provider),
            programme: o.fields.programme_name.clone(),
            valid_until: until.to_string(),
            days_left: days_between(today, until),
            no_ceiling: o.fields.budget_ceiling.is_none(),
            remaining_minor: remaining,
        });
    }

    let mut meta = meta;
    let missing_rates = missing.codes();
    if !missing_rates.is_empty() {
        meta.notes.push(format!(
            "offer amounts in {} have no exchange rate to {}: remaining capacity not shown for them",
            missing_rates.join(", "),
            meta.base_currency
        ));
    }
    Worklist {
        meta,
        awaiting_authentication,
        consent_windows,
        unmatched,
        awaiting_answers,
        follow_ups,
        expiring_offers,
    }
}
