//! Provider portfolio: per provider, its published offers, the capacity they pledge
//! (budget ceilings), how much agreed matches reserve, what remains, and its matches by
//! stage.
//!
//! Published offers are those not in `DRAFT` and not `WITHDRAWN` (open, fully committed
//! or expired). Reserved: the amounts of the offer's contributions in matches `AGREED` or
//! later and not ended (completed ones included: that capacity is used). Remaining: for
//! open offers with a ceiling, the ceiling less what is reserved; offers without a
//! ceiling have no limit and are counted apart. Capacity is a property of offers, so the
//! need filters do not change it; they do restrict which matches are counted by stage.
//! A provider viewer gets its own row only; the others are counted.

use std::collections::{BTreeMap, HashMap};

use clearinghouse_domain::{Money, Offer, OfferId, OfferStatus, PartyId};
use serde::{Deserialize, Serialize};

use crate::{
    classify::{Stage, is_reserving},
    input::{Lookup, MissingRates, ReportInput},
    meta::{Applies, ReportMeta},
};

/// Matches by stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCounts {
    /// Awaiting answers.
    pub negotiating: u32,
    /// Agreed, not started.
    pub agreed: u32,
    /// In implementation or suspended.
    pub implementing: u32,
    /// Completed.
    pub completed: u32,
    /// Declined, withdrawn or cancelled.
    pub ended: u32,
}

impl StageCounts {
    /// Counts one match in `stage`.
    pub fn add(&mut self, stage: Stage) {
        match stage {
            Stage::Negotiating => self.negotiating += 1,
            Stage::Agreed => self.agreed += 1,
            Stage::Implementing => self.implementing += 1,
            Stage::Completed => self.completed += 1,
            Stage::Ended => self.ended += 1,
        }
    }

    /// The count of one stage.
    pub fn get(&self, stage: Stage) -> u32 {
        match stage {
            Stage::Negotiating => self.negotiating,
            Stage::Agreed => self.agreed,
            Stage::Implementing => self.implementing,
            Stage::Completed => self.completed,
            Stage::Ended => self.ended,
        }
    }

    /// All matches counted.
    pub fn total(&self) -> u32 {
        Stage::ALL.iter().map(|s| self.get(*s)).sum()
    }

    fn merge(&mut self, other: &StageCounts) {
        for s in Stage::ALL {
            for _ in 0..other.get(s) {
                self.add(s);
            }
        }
    }
}

/// One provider's portfolio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRow {
    /// Party id (`TOTAL` on the totals row).
    pub provider_id: String,
    /// Party name.
    pub provider: String,
    /// Published offers.
    pub offers: u32,
    /// Of which open (active or partially committed).
    pub open_offers: u32,
    /// Published offers without a budget ceiling (no capacity limit).
    pub uncapped_offers: u32,
    /// Offers whose ceiling or reservations have no exchange rate (left out of money).
    pub offers_without_rate: u32,
    /// Sum of the budget ceilings of published offers, base minor units.
    pub ceilings_minor: i64,
    /// Reserved by committed matches, base minor units.
    pub reserved_minor: i64,
    /// Remaining capacity of open offers with a ceiling, base minor units.
    pub remaining_minor: i64,
    /// Matches with a contribution of this provider, by stage.
    pub matches: StageCounts,
}

/// The portfolio report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioReport {
    /// Heading.
    pub meta: ReportMeta,
    /// Providers, by name then id.
    pub providers: Vec<ProviderRow>,
    /// Sums over every provider (shown or not).
    pub total: ProviderRow,
    /// Providers counted in the total but not shown to this viewer.
    pub other_providers: u32,
    /// Currencies met without an exchange rate.
    pub missing_rates: Vec<String>,
}

fn published(o: &Offer) -> bool {
    !matches!(o.status, OfferStatus::Draft | OfferStatus::Withdrawn)
}

fn empty_row(id: &str, name: &str) -> ProviderRow {
    ProviderRow {
        provider_id: id.to_owned(),
        provider: name.to_owned(),
        offers: 0,
        open_offers: 0,
        uncapped_offers: 0,
        offers_without_rate: 0,
        ceilings_minor: 0,
        reserved_minor: 0,
        remaining_minor: 0,
        matches: StageCounts::default(),
    }
}

/// Amounts reserved from each offer by committed matches (every match, unfiltered).
pub(crate) fn reserved_by_offer<'a>(input: &ReportInput<'a>) -> HashMap<&'a OfferId, Vec<Money>> {
    let mut out: HashMap<&OfferId, Vec<Money>> = HashMap::new();
    for m in input.matches.iter().filter(|m| is_reserving(m.status)) {
        for c in m.reserving() {
            if let Some(a) = c.amount {
                out.entry(&c.offer).or_default().push(a);
            }
        }
    }
    out
}

/// Ceiling, reserved and remaining of one offer in base minor units, or `None` when an
/// amount has no rate.
pub(crate) fn offer_capacity(
    input: &ReportInput<'_>,
    o: &Offer,
    reserved: &[Money],
    missing: &mut MissingRates,
) -> Option<(Option<i64>, i64, Option<i64>)> {
    let mut ok = true;
    let mut res = 0i64;
    for a in reserved {
        match input.rates.to_base(*a) {
            Some(v) => res = res.saturating_add(v),
            None => {
                missing.note(a.currency);
                ok = false;
            }
        }
    }
    let ceiling = match o.fields.budget_ceiling {
        None => None,
        Some(c) => match input.rates.to_base(c) {
            Some(v) => Some(v),
            None => {
                missing.note(c.currency);
                ok = false;
                None
            }
        },
    };
    let remaining = ceiling.map(|c| (c - res).max(0));
    ok.then_some((ceiling, res, remaining))
}

/// Computes the portfolio report.
pub fn portfolio(input: &ReportInput<'_>) -> PortfolioReport {
    let mut meta = ReportMeta::new(
        "portfolio",
        "Provider portfolio: offers, capacity and matches",
        input,
        Applies::default(),
    );
    let lookup = Lookup::new(input);
    let reserved = reserved_by_offer(input);
    let mut missing = MissingRates::default();
    let mut rows: BTreeMap<&PartyId, ProviderRow> = BTreeMap::new();
    for o in input
        .offers
        .iter()
        .filter(|o| published(o) && input.filter.offer_passes(o))
    {
        let r = rows
            .entry(&o.provider)
            .or_insert_with(|| empty_row(o.provider.as_str(), &lookup.party_name(&o.provider)));
        r.offers += 1;
        let open = o.status.is_open();
        if open {
            r.open_offers += 1;
        }
        if o.fields.budget_ceiling.is_none() {
            r.uncapped_offers += 1;
        }
        let res = reserved.get(&o.id).map_or(&[][..], Vec::as_slice);
        match offer_capacity(input, o, res, &mut missing) {
            None => r.offers_without_rate += 1,
            Some((ceiling, res, remaining)) => {
                r.ceilings_minor = r.ceilings_minor.saturating_add(ceiling.unwrap_or(0));
                r.reserved_minor = r.reserved_minor.saturating_add(res);
                if open {
                    r.remaining_minor = r.remaining_minor.saturating_add(remaining.unwrap_or(0));
                }
            }
        }
    }
    let filters_offers = input.filter.gp_sub_working_group.is_some() || input.filter.area.is_some();
    for m in input
        .matches
        .iter()
        .filter(|m| lookup.match_passes(input.filter, m))
    {
        let mut providers: Vec<&PartyId> = m
            .contributions
            .iter()
            .filter(|c| {
                !filters_offers
                    || lookup
                        .offer(&c.offer)
                        .is_some_and(|o| input.filter.offer_passes(o))
            })
            .map(|c| &c.provider)
            .collect();
        providers.sort();
        providers.dedup();
        for p in providers {
            rows.entry(p)
                .or_insert_with(|| empty_row(p.as_str(), &lookup.party_name(p)))
                .matches
                .add(Stage::of(m.status));
        }
    }
    let mut total = empty_row("TOTAL", "All providers");
    for r in rows.values() {
        total.offers += r.offers;
        total.open_offers += r.open_offers;
        total.uncapped_offers += r.uncapped_offers;
        total.offers_without_rate += r.offers_without_rate;
        total.ceilings_minor = total.ceilings_minor.saturating_add(r.ceilings_minor);
        total.reserved_minor = total.reserved_minor.saturating_add(r.reserved_minor);
        total.remaining_minor = total.remaining_minor.saturating_add(r.remaining_minor);
        total.matches.merge(&r.matches);
    }
    let all = rows.len();
    let mut providers: Vec<ProviderRow> = rows
        .into_iter()
        .filter(|(id, _)| input.viewer.sees_all_portfolios() || input.viewer.party() == Some(*id))
        .map(|(_, r)| r)
        .collect();
    providers.sort_by(|a, b| (&a.provider, &a.provider_id).cmp(&(&b.provider, &b.provider_id)));
    let other_providers = u32::try_from(all - providers.len()).unwrap_or(u32::MAX);
    let missing_rates = missing.codes();
    if !missing_rates.is_empty() {
        meta.notes.push(format!(
            "{} offer(s) have amounts in {} without an exchange rate to {}: counted, left out of money figures",
            total.offers_without_rate,
            missing_rates.join(", "),
            meta.base_currency
        ));
    }
    PortfolioReport {
        meta,
        providers,
        total,
        other_providers,
        missing_rates,
    }
}
