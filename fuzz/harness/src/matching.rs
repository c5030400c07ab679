//! Target `matching`: the fuzzer's bytes choose a small world (today, weights, exchange
//! rates, offers and needs built through the domain constructors, with any status,
//! version, commitment and creation time, ties included), then a sequence of offer
//! updates and removals. The indexed engine must agree with the all-pairs reference at
//! every point:
//!
//! - `Engine::offers_for_need` = `naive::offers_for_need` for every need;
//! - `Engine::needs_for_offer` = `naive::needs_for_offer` for every offer;
//! - the kept top-k (`top_for`) after `rematch_all` and after each incremental change =
//!   the naive top-k over the offers then present.
//!
//! Built without `--release` defaults, the engine's own debug assertions (feature filters
//! equal `fit::passes`, the bound is never below the score, a cached score equals a fresh
//! one) run on every pair too.

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, Date, FundingMode, GeoScope, Money, Need, NeedFields,
    NeedId, NeedStatus, Offer, OfferFields, OfferId, OfferStatus, Party, PartyFields, PartyId,
    PartyKind, PrincipalId, SubArea, Timestamp, WeaponDomain, geo, need::NeedContext,
    offer::OfferContext,
};
use clearinghouse_matching::{
    Engine, ExchangeRates, FitContext, Gates, NeedStage, Policy, Rate, Weights,
    naive::{self, Work},
};

/// Creation times start here (2026-11-19); `today` is drawn around it.
const T0: i64 = 1_795_000_000_000;
const CURRENCIES: [&str; 5] = ["USD", "EUR", "GBP", "JPY", "CHF"];
const LANGUAGES: [&str; 4] = ["en", "fr", "es", "ar"];
const REGIONS: [&str; 5] = ["Africa", "Americas", "Asia", "Europe", "Oceania"];

fn subset<T: Copy + PartialEq>(
    u: &mut Unstructured<'_>,
    items: &[T],
    min: usize,
    max: usize,
) -> Result<Vec<T>> {
    let n = u.int_in_range(min..=max.min(items.len()))?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let x = *u.choose(items)?;
        if !out.contains(&x) {
            out.push(x);
        }
    }
    for x in items {
        if out.len() >= min {
            break;
        }
        if !out.contains(x) {
            out.push(*x);
        }
    }
    Ok(out)
}

fn money(u: &mut Unstructured<'_>) -> Result<Money> {
    let code = *u.choose(&CURRENCIES)?;
    Ok(Money {
        currency: CurrencyCode::parse(code).unwrap_or_else(|| unknown(code)),
        minor_units: u.int_in_range(0..=10_000_000_000)?,
    })
}

fn unknown(code: &str) -> CurrencyCode {
    // Only the ISO 4217 codes of CURRENCIES reach here.
    panic!("{code} is not an ISO 4217 code")
}

/// Sometimes no date, otherwise `from` plus `lo..=hi` days.
fn date(u: &mut Unstructured<'_>, from: Date, lo: i32, hi: i32) -> Result<Option<Date>> {
    Ok(if u.ratio(3, 4)? {
        Some(from.add_days(u.int_in_range(lo..=hi)?))
    } else {
        None
    })
}

fn state(iso3: &str) -> Option<Party> {
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
        Timestamp(T0),
        PrincipalId::system(),
    )
    .ok()
}

fn created(u: &mut Unstructured<'_>) -> Result<Timestamp> {
    // Few distinct instants, so ties in creation time (broken by id) are common.
    Ok(Timestamp(T0 + 1000 * i64::from(u.int_in_range(0u8..=15)?)))
}

fn need(
    u: &mut Unstructured<'_>,
    i: usize,
    members: &[&geo::Country],
    today: Date,
) -> Result<Option<Need>> {
    let country = *u.choose(members)?;
    let area = *u.choose(Area::ALL)?;
    let subs: Vec<SubArea> = area.sub_areas().collect();
    let modes = subset(u, FundingMode::ALL, 1, 3)?;
    let preferred = if u.ratio(1, 2)? {
        Some(*u.choose(&modes)?)
    } else {
        None
    };
    let wanted_from = date(u, today, -60, 400)?;
    let needed_by = date(u, wanted_from.unwrap_or(today), 0, 600)?;
    let fields = NeedFields {
        title: format!("Need {i}"),
        description: "Fuzzed need".to_owned(),
        area: Some(area),
        sub_areas: subset(u, &subs, 1, 3)?,
        weapon_domains: subset(u, WeaponDomain::ALL, 0, 2)?,
        assistance_kinds: subset(u, AssistanceKind::ALL, 1, 3)?,
        accepted_funding_modes: modes,
        preferred_funding_mode: preferred,
        estimated_budget: if u.ratio(4, 5)? {
            Some(money(u)?)
        } else {
            None
        },
        wanted_from,
        needed_by,
        languages: subset(u, &LANGUAGES, 0, 2)?
            .into_iter()
            .map(str::to_owned)
            .collect(),
        ..NeedFields::default()
    };
    let Some(party) = state(country.iso3) else {
        return Ok(None);
    };
    let Ok(mut n) = Need::new(
        NeedContext {
            id: NeedId(format!("N{i:02}")),
            requester: &party,
            now: created(u)?,
            actor: PrincipalId::system(),
        },
        fields,
    ) else {
        return Ok(None);
    };
    n.status = if u.ratio(3, 4)? {
        *u.choose(&[
            NeedStatus::Circulated,
            NeedStatus::PartiallyMatched,
            NeedStatus::Authenticated,
        ])?
    } else {
        *u.choose(NeedStatus::ALL)?
    };
    n.version = u.int_in_range(1..=4)?;
    Ok(Some(n))
}

fn scope(u: &mut Unstructured<'_>, members: &[&geo::Country]) -> Result<GeoScope> {
    let pick_countries = |u: &mut Unstructured<'_>, n: usize| -> Result<Vec<String>> {
        let mut v: Vec<String> = (0..n)
            .map(|_| u.choose(members).map(|c| c.iso3.to_owned()))
            .collect::<Result<_>>()?;
        v.sort();
        v.dedup();
        Ok(v)
    };
    let mut s = GeoScope::default();
    match u.int_in_range(0u8..=3)? {
        0 => s.global = true,
        1 => {
            s.regions = subset(u, &REGIONS, 1, 2)?
                .into_iter()
                .map(str::to_owned)
                .collect();
        }
        2 => {
            let c = *u.choose(members)?;
            s.subregions = vec![c.subregion.to_owned()];
        }
        _ => {
            let n = 1 + usize::from(u.int_in_range(0u8..=5)?);
            s.countries = pick_countries(u, n)?;
        }
    }
    if u.ratio(1, 4)? {
        let n = 1 + usize::from(u.int_in_range(0u8..=2)?);
        let excluded = pick_countries(u, n)?;
        s.excluded_countries = excluded
            .into_iter()
            .filter(|c| !s.countries.contains(c))
            .collect();
    }
    Ok(s)
}

/// What an offer covers: areas, sub-areas, geography and funding modes.
struct Cover {
    areas: Vec<Area>,
    sub_areas: Vec<SubArea>,
    scope: GeoScope,
    funding_modes: Vec<FundingMode>,
}

/// A cover aimed at `target` (so that many pairs pass the hard filters and get ranked),
/// each part loosened at random.
fn aimed_at(u: &mut Unstructured<'_>, target: &Need) -> Result<Cover> {
    let f = &target.fields;
    let (areas, subs) = if u.arbitrary()? {
        (f.area.into_iter().collect(), Vec::new())
    } else {
        (Vec::new(), subset(u, &f.sub_areas, 1, f.sub_areas.len())?)
    };
    let country = target.country();
    let scope = match u.int_in_range(0u8..=3)? {
        0 => GeoScope {
            countries: vec![f.country_code.clone()],
            ..GeoScope::default()
        },
        1 => GeoScope {
            subregions: country
                .map(|c| vec![c.subregion.to_owned()])
                .unwrap_or_default(),
            ..GeoScope::default()
        },
        2 => GeoScope {
            regions: country
                .map(|c| vec![c.region.to_owned()])
                .unwrap_or_default(),
            ..GeoScope::default()
        },
        _ => GeoScope {
            global: true,
            ..GeoScope::default()
        },
    };
    let mut modes = subset(u, &f.accepted_funding_modes, 1, 1)?;
    if u.ratio(1, 3)? {
        let extra = *u.choose(FundingMode::ALL)?;
        if !modes.contains(&extra) {
            modes.push(extra);
        }
    }
    Ok(Cover {
        areas,
        sub_areas: subs,
        scope,
        funding_modes: modes,
    })
}

fn offer(
    u: &mut Unstructured<'_>,
    i: usize,
    members: &[&geo::Country],
    today: Date,
    needs: &[Need],
) -> Result<Option<Offer>> {
    let ceiling = if u.ratio(4, 5)? {
        Some(money(u)?)
    } else {
        None
    };
    let max_contribution = match ceiling {
        Some(c) if u.ratio(1, 3)? => Some(Money {
            minor_units: u.int_in_range(0..=c.minor_units)?,
            ..c
        }),
        _ => None,
    };
    let min_contribution = match (ceiling, max_contribution) {
        (Some(c), m) if u.ratio(1, 4)? => Some(Money {
            minor_units: u.int_in_range(0..=m.map_or(c.minor_units, |m| m.minor_units))?,
            ..c
        }),
        _ => None,
    };
    let valid_from = date(u, today, -400, 200)?;
    let valid_until = date(u, valid_from.unwrap_or(today), -100, 1000)?
        .filter(|until| valid_from.is_none_or(|from| from <= *until));
    let cover = if !needs.is_empty() && u.ratio(2, 3)? {
        let target = u.choose(needs)?;
        aimed_at(u, target)?
    } else {
        Cover {
            areas: subset(u, Area::ALL, 0, 2)?,
            sub_areas: subset(u, SubArea::ALL, 0, 4)?,
            scope: scope(u, members)?,
            funding_modes: subset(u, FundingMode::ALL, 1, 2)?,
        }
    };
    let weapon_domains = if u.ratio(1, 2)? {
        Vec::new()
    } else {
        subset(u, WeaponDomain::ALL, 0, 2)?
    };
    let fields = OfferFields {
        programme_name: format!("Programme {i}"),
        description: "Fuzzed offer".to_owned(),
        areas: cover.areas,
        sub_areas: cover.sub_areas,
        weapon_domains,
        assistance_kinds: subset(u, AssistanceKind::ALL, 1, 3)?,
        scope: cover.scope,
        funding_modes: cover.funding_modes,
        languages: subset(u, &LANGUAGES, 0, 2)?
            .into_iter()
            .map(str::to_owned)
            .collect(),
        budget_ceiling: ceiling,
        max_contribution,
        min_contribution,
        valid_from,
        valid_until,
        lead_time_days: u.int_in_range(0..=120)?,
        ..OfferFields::default()
    };
    let provider = u.choose(members)?.iso3;
    let Ok(mut o) = Offer::new(
        OfferContext {
            id: OfferId(format!("O{i:02}")),
            provider: PartyId::for_state(provider),
            now: created(u)?,
            actor: PrincipalId::system(),
        },
        fields,
    ) else {
        return Ok(None);
    };
    o.status = if u.ratio(3, 4)? {
        *u.choose(&[OfferStatus::Active, OfferStatus::PartiallyCommitted])?
    } else {
        *u.choose(OfferStatus::ALL)?
    };
    o.version = u.int_in_range(1..=4)?;
    o.committed_minor_units = match ceiling {
        Some(c) if u.ratio(1, 3)? => u.int_in_range(0..=c.minor_units)?,
        _ => 0,
    };
    Ok(Some(o))
}

fn policy(u: &mut Unstructured<'_>) -> Result<Policy> {
    if u.ratio(1, 2)? {
        return Ok(Policy::default());
    }
    let raw: Vec<f64> = (0..9)
        .map(|_| u.int_in_range(0u8..=20).map(f64::from))
        .collect::<Result<_>>()?;
    let sum: f64 = raw.iter().sum();
    let mut weights = [1.0 / 9.0; 9];
    if sum > 0.0 {
        for (w, r) in weights.iter_mut().zip(&raw) {
            *w = r / sum;
        }
    }
    let mut gates = [0.0; 3];
    for g in &mut gates {
        *g = f64::from(u.int_in_range(0u8..=10)?) / 10.0;
    }
    Ok(Policy {
        weights: Weights::from_array(weights),
        gates: Gates::from_array(gates),
        ..Policy::default()
    })
}

fn rates(u: &mut Unstructured<'_>) -> Result<ExchangeRates> {
    let usd = CurrencyCode::parse("USD").unwrap_or_else(|| unknown("USD"));
    let mut r = ExchangeRates::only(usd);
    for code in ["EUR", "GBP", "JPY"] {
        if u.ratio(3, 4)? {
            let c = CurrencyCode::parse(code).unwrap_or_else(|| unknown(code));
            let num = u.int_in_range(1..=1000)?;
            let den = u.int_in_range(1..=1000)?;
            r.to_base.insert(c, Rate { num, den });
        }
    }
    Ok(r)
}

/// One change to the engine's offers.
enum Change {
    Upsert(Box<Offer>),
    Remove(String),
}

fn world(u: &mut Unstructured<'_>) -> Result<()> {
    let members: Vec<&geo::Country> = geo::un_members().collect();
    let today = Timestamp(T0).date().add_days(u.int_in_range(-60..=400)?);
    let policy = policy(u)?;
    let rates = rates(u)?;
    let stage = if u.arbitrary()? {
        NeedStage::Circulated
    } else {
        NeedStage::AuthenticatedToo
    };
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today,
        stage,
    };
    let k = usize::from(u.int_in_range(1u8..=12)?);
    let mut needs = Vec::new();
    for i in 0..usize::from(u.int_in_range(1u8..=8)?) {
        if let Some(n) = need(u, i, &members, today)? {
            needs.push(n);
        }
    }
    let mut offers: BTreeMap<String, Offer> = BTreeMap::new();
    for i in 0..usize::from(u.int_in_range(0u8..=40)?) {
        if let Some(o) = offer(u, i, &members, today, &needs)? {
            offers.insert(o.id.0.clone(), o);
        }
    }

    let mut engine = Engine::new(k);
    let mut w = Work::default();
    for o in offers.values() {
        engine.upsert_offer(o.clone(), &ctx, &mut w);
    }
    for n in &needs {
        let fast = engine.offers_for_need(n, &ctx, k, &mut w);
        let slow = naive::offers_for_need(n, offers.values(), &ctx, k, &mut Work::default());
        assert_eq!(
            fast, slow,
            "offers for need {} differ from the reference",
            n.id
        );
    }
    for n in &needs {
        engine.upsert_need(n.clone(), &ctx, &mut w);
    }
    for o in offers.values() {
        let fast = engine.needs_for_offer(o, &ctx, k, &mut w);
        let slow = naive::needs_for_offer(o, &needs, &ctx, k, &mut Work::default());
        assert_eq!(
            fast, slow,
            "needs for offer {} differ from the reference",
            o.id
        );
    }
    engine.rematch_all(&ctx, &mut w);
    check_tops(&engine, &needs, &offers, &ctx, k, "after rematch_all");

    // Incremental changes: new versions of offers (any status), new offers, removals.
    let mut versions: std::collections::HashMap<String, u64> = offers
        .values()
        .map(|o| (o.id.0.clone(), o.version))
        .collect();
    let mut next = offers.len();
    while !u.is_empty() && next < 80 {
        let change = match u.int_in_range(0u8..=2)? {
            0 if !offers.is_empty() => {
                let ids: Vec<&String> = offers.keys().collect();
                let id = (*u.choose(&ids)?).clone();
                Change::Remove(id)
            }
            1 if !offers.is_empty() => {
                let ids: Vec<&String> = offers.keys().collect();
                let id = (*u.choose(&ids)?).clone();
                let Some(mut o) = offers.get(&id).cloned() else {
                    continue;
                };
                o.version += 1;
                o.status = *u.choose(OfferStatus::ALL)?;
                Change::Upsert(Box::new(o))
            }
            _ => {
                next += 1;
                match offer(u, next, &members, today, &needs)? {
                    Some(o) => Change::Upsert(Box::new(o)),
                    None => continue,
                }
            }
        };
        let what = match change {
            Change::Upsert(mut o) => {
                // Every change is newer than anything the id had (the engine ignores an
                // older version, as the server's index does).
                let v = versions.entry(o.id.0.clone()).or_insert(0);
                *v = (*v).max(o.version - 1) + 1;
                o.version = *v;
                let what = format!("after upserting offer {} v{}", o.id, o.version);
                offers.insert(o.id.0.clone(), (*o).clone());
                engine.upsert_offer(*o, &ctx, &mut w);
                what
            }
            Change::Remove(id) => {
                // Removed as of a version newer than the one held (the engine keeps
                // removals version-monotonic).
                offers.remove(&id);
                let v = versions.entry(id.clone()).or_insert(0);
                *v += 1;
                let version = *v;
                engine.remove_offer(&id, version, &ctx, &mut w);
                format!("after removing offer {id}")
            }
        };
        check_tops(&engine, &needs, &offers, &ctx, k, &what);
    }
    Ok(())
}

fn check_tops(
    engine: &Engine,
    needs: &[Need],
    offers: &BTreeMap<String, Offer>,
    ctx: &FitContext<'_>,
    k: usize,
    when: &str,
) {
    for n in needs {
        let slow = naive::offers_for_need(n, offers.values(), ctx, k, &mut Work::default());
        assert_eq!(
            engine.top_for(&n.id.0),
            slow.as_slice(),
            "kept top-{k} of need {} differs from the reference {when}",
            n.id
        );
    }
}

/// Runs the target on one input (inputs too short to build a world are skipped).
pub fn run(data: &[u8]) {
    let _ = world(&mut Unstructured::new(data));
}
