//! What a report is restricted to: a period of request dates, an M49 region or
//! sub-region, a thematic area, a Global Partnership sub-working group.
//!
//! Needs are filtered by request date, by the region of their country and by area.
//! Offers by area (an offer touches an area through the area itself or one of its
//! sub-areas) and by GP sub-working group. A match passes when its need passes and, with
//! a GP filter, when one of its contributions comes from an offer of that group. Each
//! report's `meta.filters` says which filters applied to it.

use clearinghouse_domain::{Area, Date, GpSubWorkingGroup, Match, Need, Offer, OfferId, geo};

/// An M49 region or sub-region, by its name in the country table (e.g. `Africa`,
/// `Eastern Africa`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoFilter {
    /// An M49 region.
    Region(String),
    /// An M49 sub-region.
    SubRegion(String),
}

/// The restrictions of one report. The default restricts nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// First request date included.
    pub requested_from: Option<Date>,
    /// Last request date included.
    pub requested_until: Option<Date>,
    /// Region or sub-region of the need's country.
    pub geography: Option<GeoFilter>,
    /// Thematic area.
    pub area: Option<Area>,
    /// Global Partnership sub-working group of offers (and of matches through them).
    pub gp_sub_working_group: Option<GpSubWorkingGroup>,
}

/// A filter that cannot select anything sensible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterProblem {
    /// The period ends before it starts.
    #[error("the period ends on {until}, before it starts on {from}")]
    EmptyPeriod {
        /// Start.
        from: Date,
        /// End.
        until: Date,
    },
    /// Not an M49 region of the country table.
    #[error("'{0}' is not an M49 region; use Africa, Americas, Asia, Europe or Oceania")]
    UnknownRegion(String),
    /// Not an M49 sub-region of the country table.
    #[error("'{0}' is not an M49 sub-region (e.g. 'Eastern Africa')")]
    UnknownSubRegion(String),
}

impl ReportFilter {
    /// Every problem of the filter (none when it is usable).
    pub fn problems(&self) -> Vec<FilterProblem> {
        let mut out = Vec::new();
        if let (Some(from), Some(until)) = (self.requested_from, self.requested_until)
            && until < from
        {
            out.push(FilterProblem::EmptyPeriod { from, until });
        }
        match &self.geography {
            Some(GeoFilter::Region(r)) if !geo::is_region(r) => {
                out.push(FilterProblem::UnknownRegion(r.clone()));
            }
            Some(GeoFilter::SubRegion(s)) if !geo::is_subregion(s) => {
                out.push(FilterProblem::UnknownSubRegion(s.clone()));
            }
            _ => {}
        }
        out
    }

    /// Whether any of the need filters (period, geography, area) is set.
    pub fn restricts_needs(&self) -> bool {
        self.requested_from.is_some()
            || self.requested_until.is_some()
            || self.geography.is_some()
            || self.area.is_some()
    }

    /// Whether `need` passes the period, geography and area filters.
    pub fn need_passes(&self, need: &Need) -> bool {
        let date = need.fields.request_date;
        if let Some(from) = self.requested_from
            && date.is_none_or(|d| d < from)
        {
            return false;
        }
        if let Some(until) = self.requested_until
            && date.is_none_or(|d| d > until)
        {
            return false;
        }
        if let Some(area) = self.area
            && need.fields.area != Some(area)
        {
            return false;
        }
        match &self.geography {
            None => true,
            Some(g) => {
                let country = geo::country(&need.fields.country_code);
                match (g, country) {
                    (GeoFilter::Region(r), Some(c)) => c.region == r,
                    (GeoFilter::SubRegion(s), Some(c)) => c.subregion == s,
                    (_, None) => false,
                }
            }
        }
    }

    /// Whether `offer` passes the area and GP sub-working group filters.
    pub fn offer_passes(&self, offer: &Offer) -> bool {
        if let Some(group) = self.gp_sub_working_group
            && offer.fields.gp_sub_working_group != Some(group)
        {
            return false;
        }
        match self.area {
            None => true,
            Some(area) => offer_touches_area(offer, area),
        }
    }

    /// Whether `m` passes: its need (when known) passes the need filters, and with a GP
    /// filter one of its contributions comes from an offer of that group. `offer_group`
    /// looks up an offer's group. A match whose need is unknown passes only when no need
    /// filter is set.
    pub fn match_passes(
        &self,
        m: &Match,
        need: Option<&Need>,
        offer_group: impl Fn(&OfferId) -> Option<GpSubWorkingGroup>,
    ) -> bool {
        let need_ok = match need {
            Some(n) => self.need_passes(n),
            None => !self.restricts_needs(),
        };
        if !need_ok {
            return false;
        }
        match self.gp_sub_working_group {
            None => true,
            Some(group) => m
                .contributions
                .iter()
                .any(|c| offer_group(&c.offer) == Some(group)),
        }
    }
}

/// Whether an offer covers `area` whole or one of its sub-areas.
pub fn offer_touches_area(offer: &Offer, area: Area) -> bool {
    offer.fields.areas.contains(&area) || offer.fields.sub_areas.iter().any(|s| s.area() == area)
}
