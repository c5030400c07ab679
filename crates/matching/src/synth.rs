//! A seeded generator of synthetic but realistic data for tests, benchmarks and demos:
//! the 193 UN member States as requesters, donors with regional and thematic focus,
//! skewed demand (export controls and border security common, some areas rare), budgets
//! in several currencies, needs that require a kind of help or a language, regional needs
//! with beneficiary countries, and for a share of needs a planted ideal offer.
//!
//! Deterministic: the same seed and sizes give the same data.

use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, Date, FundingMode, GeoScope, Money, Need, NeedFields,
    NeedId, NeedStatus, Offer, OfferFields, OfferId, OfferStatus, Party, PartyFields, PartyId,
    PartyKind, PrincipalId, SubArea, Timestamp, geo, need::NeedContext, offer::OfferContext,
};

use crate::rates::{ExchangeRates, Rate};

/// A small deterministic PRNG (xorshift64*); not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    /// True with probability `pct`/100.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }

    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Between `base` and `base + spread - 1` distinct elements.
    pub fn some_range<T: Copy + PartialEq>(
        &mut self,
        items: &[T],
        base: usize,
        spread: usize,
    ) -> Vec<T> {
        let n = base + self.below(spread);
        self.some(items, n)
    }

    /// `n` distinct elements (fewer if there are fewer).
    pub fn some<T: Copy + PartialEq>(&mut self, items: &[T], n: usize) -> Vec<T> {
        let mut out = Vec::new();
        while out.len() < n.min(items.len()) {
            let x = *self.pick(items);
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }
}

/// Demand weights per area (percent): export controls and border security dominate.
const AREA_WEIGHTS: [(Area, u64); 7] = [
    (Area::ExportTransshipment, 28),
    (Area::BorderLawEnforcement, 22),
    (Area::LegislationEnforcement, 16),
    (Area::AccountingSecurity, 12),
    (Area::NationalFramework, 10),
    (Area::PhysicalProtection, 8),
    (Area::CrossCutting, 4),
];

fn weighted_area(rng: &mut Rng) -> Area {
    let mut x = rng.next_u64() % 100;
    for (a, w) in AREA_WEIGHTS {
        if x < w {
            return a;
        }
        x -= w;
    }
    Area::CrossCutting
}

const CURRENCIES: [&str; 4] = ["USD", "EUR", "GBP", "JPY"];

/// The rate table the data uses (base USD).
pub fn rates() -> ExchangeRates {
    let mut r = ExchangeRates::only(cur("USD"));
    r.to_base.insert(cur("EUR"), Rate { num: 108, den: 100 });
    r.to_base.insert(cur("GBP"), Rate { num: 127, den: 100 });
    // 1 yen (JPY has no minor unit) = 0.67 US cents.
    r.to_base.insert(cur("JPY"), Rate { num: 67, den: 100 });
    r
}

fn cur(c: &str) -> CurrencyCode {
    CurrencyCode::parse(c).unwrap_or_else(|| unreachable_currency(c))
}

fn unreachable_currency(c: &str) -> CurrencyCode {
    // Only codes from CURRENCIES reach here, all valid ISO 4217 codes.
    panic!("synthetic data uses an unknown currency {c}")
}

fn money(rng: &mut Rng, usd_cents: i64) -> Money {
    let code = *rng.pick(&CURRENCIES);
    let units = match code {
        "EUR" => usd_cents * 100 / 108,
        "GBP" => usd_cents * 100 / 127,
        "JPY" => usd_cents * 100 / 67,
        _ => usd_cents,
    };
    Money {
        currency: cur(code),
        minor_units: units,
    }
}

/// Generated data: needs (circulated), offers (active), and the planted best offer of
/// some needs.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Open needs.
    pub needs: Vec<Need>,
    /// Active offers.
    pub offers: Vec<Offer>,
    /// (need id, planted offer id).
    pub planted: Vec<(String, String)>,
    /// Today, as the data assumes it.
    pub today: Date,
}

/// Sizes and shape of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Needs.
    pub needs: usize,
    /// Offers besides the planted ones.
    pub offers: usize,
    /// Percent of needs with a planted ideal offer.
    pub planted_pct: u64,
}

const T0: Timestamp = Timestamp(1_795_000_000_000);

fn state(iso3: &str) -> Party {
    Party::new(
        PartyId(String::new()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: iso3.to_owned(),
            short_name: iso3.to_owned(),
            country_code: iso3.to_owned(),
            external_id: String::new(),
            description: String::new(),
        },
        T0,
        PrincipalId::system(),
    )
    .unwrap_or_else(|e| panic!("synthetic party {iso3} invalid: {e}"))
}

/// Generates a dataset.
pub fn generate(seed: u64, shape: Shape) -> Dataset {
    let mut rng = Rng::new(seed);
    let members: Vec<&'static geo::Country> = geo::un_members().collect();
    let regions: Vec<&'static str> = ["Africa", "Americas", "Asia", "Europe", "Oceania"].to_vec();
    let today = T0.date();
    let mut needs = Vec::with_capacity(shape.needs);
    let mut offers = Vec::with_capacity(shape.offers);
    let mut planted = Vec::new();
    let mut clock = T0.0;
    let mut tick = || {
        clock += 1000;
        Timestamp(clock)
    };

    // Offers from donors with a regional and thematic focus.
    let donors: Vec<&'static geo::Country> = members
        .iter()
        .filter(|c| c.dac_code.is_none())
        .copied()
        .take(40)
        .collect();
    for i in 0..shape.offers {
        let donor = rng.pick(&donors).iso3;
        let focus_areas = rng.some_range(Area::ALL, 1, 2);
        let mut f = OfferFields {
            programme_name: format!("Programme {i}"),
            description: "Synthetic offer".to_owned(),
            assistance_kinds: rng.some_range(AssistanceKind::ALL, 2, 3),
            funding_modes: rng.some_range(
                &[
                    FundingMode::SingleDonor,
                    FundingMode::JointlyFunded,
                    FundingMode::PooledIoFund,
                    FundingMode::InKind,
                ],
                1,
                2,
            ),
            languages: if rng.chance(10) {
                Vec::new()
            } else {
                rng.some_range(&["en", "fr", "es", "ru", "ar"], 1, 2)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            },
            valid_until: Some(today.add_days(200 + i32::try_from(rng.below(900)).unwrap_or(0))),
            lead_time_days: u32::try_from(rng.below(60)).unwrap_or(0),
            ..OfferFields::default()
        };
        if rng.chance(40) {
            f.areas = focus_areas;
        } else {
            let subs: Vec<SubArea> = focus_areas.iter().flat_map(|a| a.sub_areas()).collect();
            f.sub_areas = rng.some_range(&subs, 1, 3);
        }
        f.scope = match rng.below(10) {
            0 => GeoScope {
                global: true,
                ..GeoScope::default()
            },
            1..=4 => GeoScope {
                regions: rng
                    .some_range(&regions, 1, 2)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                ..GeoScope::default()
            },
            5..=7 => {
                let c = rng.pick(&members);
                GeoScope {
                    subregions: vec![c.subregion.to_owned()],
                    ..GeoScope::default()
                }
            }
            _ => GeoScope {
                countries: (0..1 + rng.below(6))
                    .map(|_| rng.pick(&members).iso3.to_owned())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                ..GeoScope::default()
            },
        };
        if rng.chance(80) {
            let cents = 5_000_000 + i64::try_from(rng.below(200_000_000)).unwrap_or(0);
            let ceiling = money(&mut rng, cents);
            f.budget_ceiling = Some(ceiling);
            if rng.chance(50) {
                f.max_contribution = Some(Money {
                    minor_units: ceiling.minor_units / 2,
                    ..ceiling
                });
            }
        }
        let mut o = Offer::new(
            OfferContext {
                id: OfferId(format!("O{i:07}")),
                provider: PartyId::for_state(donor),
                now: tick(),
                actor: PrincipalId::system(),
            },
            f,
        )
        .unwrap_or_else(|e| panic!("synthetic offer invalid: {e}"));
        o.status = OfferStatus::Active;
        offers.push(o);
    }

    // Needs, skewed towards common areas; some with a planted ideal offer.
    for i in 0..shape.needs {
        let c = rng.pick(&members);
        let area = weighted_area(&mut rng);
        let subs: Vec<SubArea> = area.sub_areas().collect();
        let accepted = rng.some_range(
            &[
                FundingMode::SingleDonor,
                FundingMode::JointlyFunded,
                FundingMode::PooledIoFund,
                FundingMode::InKind,
            ],
            1,
            3,
        );
        let from = today.add_days(30 + i32::try_from(rng.below(200)).unwrap_or(0));
        let budget_cents = 1_000_000 + i64::try_from(rng.below(200_000_000)).unwrap_or(0);
        let budget = rng.chance(90).then(|| money(&mut rng, budget_cents));
        let f = NeedFields {
            title: format!("Need {i}"),
            description: "Synthetic need".to_owned(),
            area: Some(area),
            sub_areas: rng.some_range(&subs, 1, 3),
            assistance_kinds: rng.some_range(AssistanceKind::ALL, 1, 3),
            accepted_funding_modes: accepted.clone(),
            preferred_funding_mode: accepted.first().copied(),
            estimated_budget: budget,
            wanted_from: Some(from),
            needed_by: Some(from.add_days(90 + i32::try_from(rng.below(400)).unwrap_or(0))),
            languages: vec![(*rng.pick(&["en", "fr", "es", "ar"])).to_owned()],
            ..NeedFields::default()
        };
        let mut f = f;
        // Some needs insist on a kind of help or their language; some are regional,
        // serving neighbours in the same region.
        if rng.chance(15) {
            f.required_assistance_kinds = f.assistance_kinds.iter().copied().take(1).collect();
        }
        if rng.chance(15) {
            f.required_languages.clone_from(&f.languages);
        }
        if rng.chance(10) {
            let neighbours: Vec<&str> = members
                .iter()
                .filter(|m| m.region == c.region && m.iso3 != c.iso3)
                .map(|m| m.iso3)
                .collect();
            f.beneficiary_countries = rng
                .some_range(&neighbours, 2, 5)
                .into_iter()
                .map(str::to_owned)
                .collect();
        }
        let requester = state(c.iso3);
        let mut n = Need::new(
            NeedContext {
                id: NeedId(format!("N{i:07}")),
                requester: &requester,
                now: tick(),
                actor: PrincipalId::system(),
            },
            f,
        )
        .unwrap_or_else(|e| panic!("synthetic need invalid: {e}"));
        n.status = NeedStatus::Circulated;
        if rng.chance(shape.planted_pct) {
            let nf = &n.fields;
            let mut o = Offer::new(
                OfferContext {
                    id: OfferId(format!("P{i:07}")),
                    provider: PartyId::for_state(rng.pick(&donors).iso3),
                    now: tick(),
                    actor: PrincipalId::system(),
                },
                OfferFields {
                    programme_name: format!("Planted for {i}"),
                    description: "Ideal offer".to_owned(),
                    sub_areas: nf.sub_areas.clone(),
                    assistance_kinds: nf.assistance_kinds.clone(),
                    funding_modes: nf.preferred_funding_mode.into_iter().collect(),
                    scope: GeoScope {
                        countries: vec![c.iso3.to_owned()],
                        ..GeoScope::default()
                    },
                    languages: nf.languages.clone(),
                    valid_until: nf.needed_by.map(|d| d.add_days(30)),
                    ..OfferFields::default()
                },
            )
            .unwrap_or_else(|e| panic!("planted offer invalid: {e}"));
            o.status = OfferStatus::Active;
            planted.push((n.id.0.clone(), o.id.0.clone()));
            offers.push(o);
        }
        needs.push(n);
    }
    Dataset {
        needs,
        offers,
        planted,
        today,
    }
}
