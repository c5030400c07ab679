//! Matches by status and by funding mode (single-donor, jointly funded, pooled through an
//! IO fund, in kind): counts and pledged volume in the base currency.
//!
//! A match's volume is the sum of the amounts of its contributions that were not
//! declined. By status, every match counts; by funding mode, only committed matches
//! (`AGREED` or later, not ended), so the funding-mode shares are shares of the
//! committed volume.

use clearinghouse_domain::{FundingMode, Match, MatchStatus};
use serde::{Deserialize, Serialize};

use crate::{
    classify::is_reserving,
    input::{BaseSum, Lookup, MissingRates, ReportInput},
    meta::{Applies, ReportMeta},
    money::basis_points,
};

/// Matches of one status or funding mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRow {
    /// Match status code or funding mode code.
    pub key: String,
    /// Matches.
    pub matches: u32,
    /// Pledged volume of those matches, base minor units (amounts without a rate left out).
    pub volume_minor: i64,
    /// Matches with an amount in a currency without an exchange rate.
    pub matches_without_rate: u32,
    /// Matches with no amount at all (in-kind only).
    pub in_kind_only: u32,
    /// Funding-mode rows: `volume_minor` as a share of the committed volume, basis points
    /// rounded down. Status rows: none.
    pub share_of_committed_bp: Option<u32>,
}

/// The matches report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchVolumeReport {
    /// Heading.
    pub meta: ReportMeta,
    /// Every status in lifecycle order, all matches.
    pub by_status: Vec<VolumeRow>,
    /// Every funding mode, committed matches only.
    pub by_funding_mode: Vec<VolumeRow>,
    /// All matches counted.
    pub total_matches: u32,
    /// Committed matches (`AGREED` or later, not ended).
    pub committed_matches: u32,
    /// Their pledged volume, base minor units.
    pub committed_volume_minor: i64,
    /// Currencies met without an exchange rate.
    pub missing_rates: Vec<String>,
}

fn row(key: &str) -> VolumeRow {
    VolumeRow {
        key: key.to_owned(),
        matches: 0,
        volume_minor: 0,
        matches_without_rate: 0,
        in_kind_only: 0,
        share_of_committed_bp: None,
    }
}

fn add(row: &mut VolumeRow, m: &Match, input: &ReportInput<'_>, missing: &mut MissingRates) {
    row.matches += 1;
    let pledged = m.pledged();
    if pledged.is_empty() {
        row.in_kind_only += 1;
    }
    let mut sum = BaseSum::default();
    for p in pledged {
        sum.add(input.rates, p, missing);
    }
    row.volume_minor = row.volume_minor.saturating_add(sum.minor);
    if sum.unconverted {
        row.matches_without_rate += 1;
    }
}

/// Computes the matches report.
pub fn match_volume(input: &ReportInput<'_>) -> MatchVolumeReport {
    let mut meta = ReportMeta::new(
        "matches",
        "Matches by status and funding mode",
        input,
        Applies::default(),
    );
    let lookup = Lookup::new(input);
    let mut missing = MissingRates::default();
    let mut by_status: Vec<VolumeRow> = MatchStatus::ALL.iter().map(|s| row(s.code())).collect();
    let mut by_mode: Vec<VolumeRow> = FundingMode::ALL.iter().map(|f| row(f.code())).collect();
    let mut total = 0u32;
    let mut unknown_need = 0u32;
    for m in input.matches {
        if lookup.need(&m.need).is_none() {
            unknown_need += 1;
        }
        if !lookup.match_passes(input.filter, m) {
            continue;
        }
        total += 1;
        if let Some(i) = MatchStatus::ALL.iter().position(|s| *s == m.status) {
            add(&mut by_status[i], m, input, &mut missing);
        }
        if is_reserving(m.status)
            && let Some(i) = FundingMode::ALL.iter().position(|f| *f == m.funding_mode)
        {
            add(&mut by_mode[i], m, input, &mut missing);
        }
    }
    let committed_matches = by_mode.iter().map(|r| r.matches).sum();
    let committed_volume_minor = by_mode.iter().map(|r| r.volume_minor).sum();
    for r in &mut by_mode {
        r.share_of_committed_bp = basis_points(r.volume_minor, committed_volume_minor);
    }
    if unknown_need > 0 && input.filter.restricts_needs() {
        meta.notes.push(format!(
            "{unknown_need} match(es) refer to needs not in the data and are left out by the need filters"
        ));
    }
    let missing_rates = missing.codes();
    if !missing_rates.is_empty() {
        meta.notes.push(format!(
            "amounts in {} have no exchange rate to {}: left out of volumes, matches counted",
            missing_rates.join(", "),
            meta.base_currency
        ));
    }
    MatchVolumeReport {
        meta,
        by_status,
        by_funding_mode: by_mode,
        total_matches: total,
        committed_matches,
        committed_volume_minor,
        missing_rates,
    }
}
