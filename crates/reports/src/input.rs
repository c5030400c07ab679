//! What every report is computed from, and the lookups the reports share.

use std::collections::HashMap;

use clearinghouse_domain::{
    CurrencyCode, Date, GpSubWorkingGroup, Match, Money, Need, NeedId, Offer, OfferId, Party,
    PartyId,
};
use clearinghouse_matching::ExchangeRates;

use crate::{filter::ReportFilter, viewer::Viewer};

/// The records and settings one report is computed from. Records are borrowed; the
/// caller passes what it holds (typically every need, offer, match and party).
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// Needs.
    pub needs: &'a [Need],
    /// Offers.
    pub offers: &'a [Offer],
    /// Matches.
    pub matches: &'a [Match],
    /// Parties (for names).
    pub parties: &'a [Party],
    /// Today, for ages, follow-ups, windows and expiries.
    pub today: Date,
    /// Exchange rates; their base currency is the currency of every money figure.
    pub rates: &'a ExchangeRates,
    /// Who reads the report.
    pub viewer: &'a Viewer,
    /// What the report is restricted to.
    pub filter: &'a ReportFilter,
}

/// Lookups by id over one input, built once per report.
#[derive(Debug)]
pub(crate) struct Lookup<'a> {
    needs: HashMap<&'a NeedId, &'a Need>,
    offers: HashMap<&'a OfferId, &'a Offer>,
    parties: HashMap<&'a PartyId, &'a Party>,
}

impl<'a> Lookup<'a> {
    pub(crate) fn new(input: &ReportInput<'a>) -> Lookup<'a> {
        Lookup {
            needs: input.needs.iter().map(|n| (&n.id, n)).collect(),
            offers: input.offers.iter().map(|o| (&o.id, o)).collect(),
            parties: input.parties.iter().map(|p| (&p.id, p)).collect(),
        }
    }

    pub(crate) fn need(&self, id: &NeedId) -> Option<&'a Need> {
        self.needs.get(id).copied()
    }

    pub(crate) fn offer(&self, id: &OfferId) -> Option<&'a Offer> {
        self.offers.get(id).copied()
    }

    pub(crate) fn party(&self, id: &PartyId) -> Option<&'a Party> {
        self.parties.get(id).copied()
    }

    /// The party's display name, or its id when the party is unknown.
    pub(crate) fn party_name(&self, id: &PartyId) -> String {
        self.party(id)
            .map_or_else(|| id.to_string(), |p| p.fields.display_name.clone())
    }

    pub(crate) fn offer_group(&self, id: &OfferId) -> Option<GpSubWorkingGroup> {
        self.offer(id).and_then(|o| o.fields.gp_sub_working_group)
    }

    /// Whether `m` passes the input's filter.
    pub(crate) fn match_passes(&self, filter: &ReportFilter, m: &Match) -> bool {
        filter.match_passes(m, self.need(&m.need), |o| self.offer_group(o))
    }
}

/// Sums amounts into the base currency, remembering whether one had no rate and which
/// currencies were missing.
#[derive(Debug, Clone, Default)]
pub(crate) struct BaseSum {
    pub(crate) minor: i64,
    pub(crate) unconverted: bool,
}

impl BaseSum {
    pub(crate) fn add(&mut self, rates: &ExchangeRates, m: Money, missing: &mut MissingRates) {
        match rates.to_base(m) {
            Some(v) => self.minor = self.minor.saturating_add(v),
            None => {
                self.unconverted = true;
                missing.note(m.currency);
            }
        }
    }
}

/// Currencies met without an exchange rate, in code order.
#[derive(Debug, Clone, Default)]
pub(crate) struct MissingRates(Vec<CurrencyCode>);

impl MissingRates {
    pub(crate) fn note(&mut self, c: CurrencyCode) {
        if let Err(i) = self.0.binary_search(&c) {
            self.0.insert(i, c);
        }
    }

    pub(crate) fn codes(&self) -> Vec<String> {
        self.0.iter().map(|c| c.as_str().to_owned()).collect()
    }
}
