//! Pipeline per Global Partnership sub-working group: the open offers of each group, the
//! matches drawing on them by stage, the needs those matches serve by their furthest
//! stage, and the committed volume.
//!
//! A match belongs to a group when one of its contributions comes from an offer of that
//! group; a jointly funded match with offers from two groups counts in both. Offers
//! without a group form the row `NONE`. A need's stage in a group is the furthest stage
//! of its live matches there (`ENDED` when every one ended).

use std::collections::BTreeMap;

use clearinghouse_domain::{GpSubWorkingGroup, NeedId};
use serde::{Deserialize, Serialize};

use crate::{
    classify::{Stage, is_reserving},
    input::{BaseSum, Lookup, MissingRates, ReportInput},
    meta::{Applies, ReportMeta},
    portfolio::StageCounts,
};

/// Row key of offers without a GP sub-working group.
pub const NO_GROUP: &str = "NONE";

/// One sub-working group's pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRow {
    /// GP sub-working group code, or `NONE`.
    pub group: String,
    /// Open offers of the group.
    pub open_offers: u32,
    /// Matches drawing on the group's offers, by stage.
    pub matches: StageCounts,
    /// Distinct needs of those matches, by their furthest stage.
    pub needs: StageCounts,
    /// Pledged amounts of the group's contributions in committed matches, base minor
    /// units.
    pub committed_volume_minor: i64,
    /// Committed contributions with an amount without an exchange rate.
    pub contributions_without_rate: u32,
}

/// The pipeline report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineReport {
    /// Heading.
    pub meta: ReportMeta,
    /// The four sub-working groups in code-list order, then `NONE` (only the filtered
    /// group with a GP filter).
    pub groups: Vec<PipelineRow>,
    /// Currencies met without an exchange rate.
    pub missing_rates: Vec<String>,
}

fn group_index(g: Option<GpSubWorkingGroup>) -> usize {
    match g {
        Some(g) => GpSubWorkingGroup::ALL
            .iter()
            .position(|x| *x == g)
            .unwrap_or(0),
        None => GpSubWorkingGroup::ALL.len(),
    }
}

/// Computes the pipeline report.
pub fn pipeline(input: &ReportInput<'_>) -> PipelineReport {
    let mut meta = ReportMeta::new(
        "pipeline",
        "Pipeline per Global Partnership sub-working group",
        input,
        Applies::default(),
    );
    let lookup = Lookup::new(input);
    let mut missing = MissingRates::default();
    let keys: Vec<Option<GpSubWorkingGroup>> = GpSubWorkingGroup::ALL
        .iter()
        .map(|g| Some(*g))
        .chain(std::iter::once(None))
        .collect();
    let mut rows: Vec<PipelineRow> = keys
        .iter()
        .map(|g| PipelineRow {
            group: g.map_or(NO_GROUP, |g| g.code()).to_owned(),
            open_offers: 0,
            matches: StageCounts::default(),
            needs: StageCounts::default(),
            committed_volume_minor: 0,
            contributions_without_rate: 0,
        })
        .collect();
    for o in input
        .offers
        .iter()
        .filter(|o| o.status.is_open() && input.filter.offer_passes(o))
    {
        rows[group_index(o.fields.gp_sub_working_group)].open_offers += 1;
    }
    let mut need_stage: Vec<BTreeMap<&NeedId, Option<Stage>>> = vec![BTreeMap::new(); rows.len()];
    for m in input
        .matches
        .iter()
        .filter(|m| lookup.match_passes(input.filter, m))
    {
        let stage = Stage::of(m.status);
        let mut groups: Vec<usize> = Vec::new();
        for c in &m.contributions {
            let Some(o) = lookup.offer(&c.offer) else {
                continue;
            };
            if input.filter.area.is_some() && !input.filter.offer_passes(o) {
                continue;
            }
            let gi = group_index(o.fields.gp_sub_working_group);
            if !groups.contains(&gi) {
                groups.push(gi);
            }
            if is_reserving(m.status)
                && c.acceptance != clearinghouse_domain::matches::Acceptance::Declined
                && let Some(a) = c.amount
            {
                let mut sum = BaseSum::default();
                sum.add(input.rates, a, &mut missing);
                rows[gi].committed_volume_minor =
                    rows[gi].committed_volume_minor.saturating_add(sum.minor);
                if sum.unconverted {
                    rows[gi].contributions_without_rate += 1;
                }
            }
        }
        for gi in groups {
            rows[gi].matches.add(stage);
            let live = (stage != Stage::Ended).then_some(stage);
            let slot = need_stage[gi].entry(&m.need).or_insert(None);
            *slot = (*slot).max(live);
        }
    }
    for (gi, needs) in need_stage.iter().enumerate() {
        for s in needs.values() {
            rows[gi].needs.add(s.unwrap_or(Stage::Ended));
        }
    }
    if let Some(g) = input.filter.gp_sub_working_group {
        rows.retain(|r| r.group == g.code());
    }
    let missing_rates = missing.codes();
    if !missing_rates.is_empty() {
        meta.notes.push(format!(
            "contributions in {} have no exchange rate to {}: left out of volumes",
            missing_rates.join(", "),
            meta.base_currency
        ));
    }
    PipelineReport {
        meta,
        groups: rows,
        missing_rates,
    }
}
