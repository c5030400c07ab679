//! Ranking measured against a broker's graded judgements (`tests/eval/`): needs written
//! like real 1540 requests, offers modelled on published programmes with decoys wrong on
//! one point each. Prints NDCG@5, the share of needs whose first candidate is acceptable
//! and the number of needs where a wrong offer ranks at or above the ideal one, for the
//! model in force and for the first (additive) model, and holds floors on the former.

use std::collections::BTreeMap;

use serde::Deserialize;

use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, Date, FundingMode, GeoScope, Money, Need, NeedFields,
    NeedId, NeedStatus, Offer, OfferFields, OfferId, OfferStatus, Party, PartyFields, PartyId,
    PartyKind, PrincipalId, SubArea, Timestamp, WeaponDomain, need::NeedContext,
    offer::OfferContext,
};
use clearinghouse_matching::{
    ExchangeRates, FitContext, NeedStage, Policy, Rate, fit,
    naive::{self, Work},
};

/// 2026-11-18, the day the set is evaluated on.
const TODAY: Timestamp = Timestamp(1_795_000_000_000);

#[derive(Debug, Deserialize)]
struct OfferFile {
    offer: Vec<OfferRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferRow {
    id: String,
    provider: String,
    programme: String,
    source: String,
    #[serde(default)]
    decoy: Option<String>,
    #[serde(default)]
    areas: Vec<String>,
    #[serde(default)]
    sub_areas: Vec<String>,
    domains: Vec<String>,
    kinds: Vec<String>,
    modes: Vec<String>,
    scope: ScopeRow,
    languages: Vec<String>,
    #[serde(default)]
    ceiling: Option<String>,
    #[serde(default)]
    max_contribution: Option<String>,
    valid_until: String,
    lead_time_days: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeRow {
    #[serde(default)]
    global: bool,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    subregions: Vec<String>,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default)]
    excluded: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct NeedFile {
    need: Vec<NeedRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeedRow {
    id: String,
    requester: String,
    #[serde(default)]
    requester_kind: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    beneficiaries: Vec<String>,
    title: String,
    description: String,
    area: String,
    sub_areas: Vec<String>,
    domains: Vec<String>,
    kinds: Vec<String>,
    #[serde(default)]
    required_kinds: Vec<String>,
    languages: Vec<String>,
    #[serde(default)]
    required_languages: Vec<String>,
    modes: Vec<String>,
    #[serde(default)]
    preferred: Option<String>,
    #[serde(default)]
    budget: Option<String>,
    wanted_from: String,
    needed_by: String,
    #[serde(default)]
    why: Option<String>,
    grades: BTreeMap<String, u8>,
}

fn codes<T>(what: &str, v: &[String], f: fn(&str) -> Option<T>) -> Vec<T> {
    v.iter()
        .map(|c| f(c).unwrap_or_else(|| panic!("{what}: unknown code {c}")))
        .collect()
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

/// "EUR 1500000" in major units.
fn money(s: &str) -> Money {
    let (cur, amount) = s.split_once(' ').expect("CUR amount");
    let currency = CurrencyCode::parse(cur).expect("currency");
    let major: i64 = amount.parse().expect("amount");
    Money {
        currency,
        minor_units: major * 100,
    }
}

/// Base USD; rates of the other currencies the set uses.
fn rates() -> ExchangeRates {
    let mut r = ExchangeRates::only(CurrencyCode::USD);
    for (c, num) in [("EUR", 108), ("GBP", 127), ("CAD", 73)] {
        r.to_base.insert(
            CurrencyCode::parse(c).expect("code"),
            Rate { num, den: 100 },
        );
    }
    r
}

fn offer(row: &OfferRow, seq: i64) -> Offer {
    let fields = OfferFields {
        programme_name: row.programme.clone(),
        description: format!("{} Source: {}", row.programme, row.source),
        areas: codes("areas", &row.areas, Area::from_code),
        sub_areas: codes("sub_areas", &row.sub_areas, SubArea::from_code),
        weapon_domains: codes("domains", &row.domains, WeaponDomain::from_code),
        assistance_kinds: codes("kinds", &row.kinds, AssistanceKind::from_code),
        funding_modes: codes("modes", &row.modes, FundingMode::from_code),
        scope: GeoScope {
            global: row.scope.global,
            regions: row.scope.regions.clone(),
            subregions: row.scope.subregions.clone(),
            countries: row.scope.countries.clone(),
            excluded_countries: row.scope.excluded.clone(),
        },
        languages: row.languages.clone(),
        budget_ceiling: row.ceiling.as_deref().map(money),
        max_contribution: row.max_contribution.as_deref().map(money),
        valid_until: Some(date(&row.valid_until)),
        lead_time_days: row.lead_time_days,
        ..OfferFields::default()
    };
    let mut o = Offer::new(
        OfferContext {
            id: OfferId(row.id.clone()),
            provider: PartyId(row.provider.clone()),
            now: Timestamp(TODAY.0 - 86_400_000 + seq),
            actor: PrincipalId::system(),
        },
        fields,
    )
    .unwrap_or_else(|e| panic!("offer {} invalid: {e}", row.id));
    o.status = OfferStatus::Active;
    o
}

fn requester(row: &NeedRow) -> Party {
    let kind = row.requester_kind.as_deref().map_or(PartyKind::State, |k| {
        PartyKind::from_code(k).expect("party kind")
    });
    let country = match kind {
        PartyKind::State => row
            .requester
            .strip_prefix("state-")
            .expect("state-ISO3")
            .to_owned(),
        _ => row
            .country
            .clone()
            .expect("an organization names its country"),
    };
    Party::new(
        PartyId(row.requester.clone()),
        PartyFields {
            kind: Some(kind),
            display_name: row.requester.clone(),
            short_name: row.requester.clone(),
            country_code: country,
            external_id: String::new(),
            description: String::new(),
        },
        TODAY,
        PrincipalId::system(),
    )
    .unwrap_or_else(|e| panic!("requester of {} invalid: {e}", row.id))
}

fn need(row: &NeedRow, seq: i64) -> Need {
    let fields = NeedFields {
        title: row.title.clone(),
        description: row.description.clone(),
        area: Some(Area::from_code(&row.area).expect("area")),
        sub_areas: codes("sub_areas", &row.sub_areas, SubArea::from_code),
        weapon_domains: codes("domains", &row.domains, WeaponDomain::from_code),
        assistance_kinds: codes("kinds", &row.kinds, AssistanceKind::from_code),
        required_assistance_kinds: codes(
            "required_kinds",
            &row.required_kinds,
            AssistanceKind::from_code,
        ),
        languages: row.languages.clone(),
        required_languages: row.required_languages.clone(),
        accepted_funding_modes: codes("modes", &row.modes, FundingMode::from_code),
        preferred_funding_mode: row
            .preferred
            .as_deref()
            .map(|m| FundingMode::from_code(m).expect("mode")),
        estimated_budget: row.budget.as_deref().map(money),
        wanted_from: Some(date(&row.wanted_from)),
        needed_by: Some(date(&row.needed_by)),
        country_code: row.country.clone().unwrap_or_default(),
        beneficiary_countries: row.beneficiaries.clone(),
        ..NeedFields::default()
    };
    let mut n = Need::new(
        NeedContext {
            id: NeedId(row.id.clone()),
            requester: &requester(row),
            now: Timestamp(TODAY.0 - 3_600_000 + seq),
            actor: PrincipalId::system(),
        },
        fields,
    )
    .unwrap_or_else(|e| panic!("need {} invalid: {e}", row.id));
    n.status = NeedStatus::Circulated;
    n
}

/// The evaluation set, as domain records with the judgements.
struct EvalSet {
    offers: Vec<Offer>,
    decoys: BTreeMap<String, String>,
    needs: Vec<(Need, BTreeMap<String, u8>)>,
}

fn load() -> EvalSet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/eval");
    let offers: OfferFile = toml::from_str(
        &std::fs::read_to_string(format!("{dir}/offers.toml")).expect("offers.toml"),
    )
    .expect("offers.toml parses");
    let needs: NeedFile =
        toml::from_str(&std::fs::read_to_string(format!("{dir}/needs.toml")).expect("needs.toml"))
            .expect("needs.toml parses");
    let decoys = offers
        .offer
        .iter()
        .filter_map(|o| o.decoy.clone().map(|d| (o.id.clone(), d)))
        .collect();
    let built: Vec<Offer> = offers
        .offer
        .iter()
        .zip(0..)
        .map(|(o, i)| offer(o, i))
        .collect();
    let needs = needs
        .need
        .iter()
        .zip(0..)
        .map(|(n, i)| {
            assert!(
                n.grades.values().all(|g| *g <= 3),
                "{}: grades are 0 to 3",
                n.id
            );
            let _ = &n.why;
            (need(n, i), n.grades.clone())
        })
        .collect();
    EvalSet {
        offers: built,
        decoys,
        needs,
    }
}

/// Figures of one ranking model over the set.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    ndcg5: f64,
    first_acceptable: f64,
    wrong_at_or_above_ideal: usize,
    needs: usize,
    failures: Vec<String>,
}

fn dcg(grades: impl Iterator<Item = u8>) -> f64 {
    grades
        .take(5)
        .zip(1..)
        .map(|(g, i)| (f64::from(2u32.pow(u32::from(g))) - 1.0) / f64::from(i + 1).log2())
        .sum()
}

fn evaluate(set: &EvalSet, policy: &Policy, strip_requirements: bool) -> Figures {
    let rates = rates();
    let ctx = FitContext {
        policy,
        rates: &rates,
        today: TODAY.date(),
        stage: NeedStage::Circulated,
    };
    let (mut ndcg, mut first_ok, mut wrong) = (0.0, 0usize, 0usize);
    let mut failures = Vec::new();
    for (need, grades) in &set.needs {
        let mut need = need.clone();
        if strip_requirements {
            need.fields.required_assistance_kinds.clear();
            need.fields.required_languages.clear();
        }
        let ranked = naive::offers_for_need(
            &need,
            &set.offers,
            &ctx,
            set.offers.len(),
            &mut Work::default(),
        );
        let grade = |id: &str| grades.get(id).copied().unwrap_or(0);
        let got = dcg(ranked.iter().map(|r| grade(&r.id)));
        let mut ideal: Vec<u8> = grades.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let best = dcg(ideal.iter().copied());
        let n = if best > 0.0 { got / best } else { 1.0 };
        ndcg += n;
        let first = ranked.first().map_or(0, |r| grade(&r.id));
        if first >= 1 {
            first_ok += 1;
        }
        let top_grade = ideal.first().copied().unwrap_or(0);
        let ideal_score = ranked
            .iter()
            .filter(|r| grade(&r.id) == top_grade)
            .map(|r| r.score_milli)
            .max()
            .unwrap_or(0);
        let wrong_above: Vec<&str> = ranked
            .iter()
            .filter(|r| grade(&r.id) == 0 && r.score_milli >= ideal_score)
            .map(|r| r.id.as_str())
            .collect();
        if !wrong_above.is_empty() {
            wrong += 1;
        }
        if n < 0.95 || first == 0 || !wrong_above.is_empty() {
            let top: Vec<String> = ranked
                .iter()
                .take(4)
                .map(|r| {
                    format!(
                        "{}({}) {:.3}",
                        r.id,
                        grade(&r.id),
                        f64::from(r.score_milli) / 1000.0
                    )
                })
                .collect();
            failures.push(format!(
                "{} ndcg@5 {n:.3}: {}{}",
                need.id,
                top.join(", "),
                if wrong_above.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; wrong at or above the ideal: {}{}",
                        wrong_above.join(", "),
                        wrong_above
                            .iter()
                            .filter_map(|id| set.decoys.get(*id))
                            .map(|d| format!(" [{d}]"))
                            .collect::<String>()
                    )
                }
            ));
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let count = set.needs.len() as f64;
    #[allow(clippy::cast_precision_loss)]
    Figures {
        ndcg5: ndcg / count,
        first_acceptable: first_ok as f64 / count,
        wrong_at_or_above_ideal: wrong,
        needs: set.needs.len(),
        failures,
    }
}

fn print(label: &str, f: &Figures) {
    eprintln!(
        "{label}: {} needs; NDCG@5 {:.3}; first candidate acceptable {:.1}%; wrong offer at or above the ideal in {} needs",
        f.needs,
        f.ndcg5,
        f.first_acceptable * 100.0,
        f.wrong_at_or_above_ideal
    );
    for line in &f.failures {
        eprintln!("  {line}");
    }
}

#[test]
fn the_set_is_large_valid_and_judges_every_candidate() {
    let set = load();
    assert!(set.needs.len() >= 60, "at least 60 needs");
    assert!(set.offers.len() >= 40, "at least 40 offers");
    let rates = rates();
    let policy = Policy::default();
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: TODAY.date(),
        stage: NeedStage::Circulated,
    };
    let ids: Vec<&str> = set.offers.iter().map(|o| o.id.0.as_str()).collect();
    let mut unjudged = Vec::new();
    for (need, grades) in &set.needs {
        for id in grades.keys() {
            assert!(
                ids.contains(&id.as_str()),
                "{}: unknown offer {id}",
                need.id
            );
        }
        assert!(
            grades.values().any(|g| *g == 3),
            "{}: every need has an ideal offer",
            need.id
        );
        for o in &set.offers {
            let passes = fit::passes(need, o, &ctx);
            let grade = grades.get(&o.id.0).copied();
            if passes && grade.is_none() {
                unjudged.push(format!("{} {}", need.id, o.id));
            }
            if grade.is_some_and(|g| g >= 1) {
                assert!(
                    passes,
                    "{}: {} is graded acceptable but fails a hard filter: {:?}",
                    need.id,
                    o.id,
                    fit::rejections(need, o, &ctx)
                );
            }
        }
    }
    assert!(
        unjudged.is_empty(),
        "candidates without a judgement:\n{}",
        unjudged.join("\n")
    );
}

#[test]
fn ranking_meets_the_brokers_judgements() {
    let set = load();
    let before = evaluate(&set, &Policy::first_additive(), true);
    print("first model (additive, no requirements)", &before);
    let after = evaluate(&set, &Policy::default(), false);
    print("model in force (gated)", &after);
    assert!(after.ndcg5 >= 0.95, "NDCG@5 {:.3} below 0.95", after.ndcg5);
    assert!(
        (after.first_acceptable - 1.0).abs() < 1e-12,
        "first candidate acceptable for only {:.1}% of needs",
        after.first_acceptable * 100.0
    );
    assert_eq!(
        after.wrong_at_or_above_ideal, 0,
        "a wrong offer ranks at or above the ideal one"
    );
}

#[test]
fn weights_learned_from_the_judgements_cross_validate() {
    use clearinghouse_matching::tune::{self, Labelled, LabelledList, TuneOptions};
    let set = load();
    let rates = rates();
    let current = Policy::default();
    let ctx = FitContext {
        policy: &current,
        rates: &rates,
        today: TODAY.date(),
        stage: NeedStage::Circulated,
    };
    let lists: Vec<LabelledList> = set
        .needs
        .iter()
        .map(|(need, grades)| LabelledList {
            group: need.id.0.clone(),
            candidates: set
                .offers
                .iter()
                .filter(|o| fit::passes(need, o, &ctx))
                .map(|o| Labelled {
                    values: fit::values(need, o, &ctx),
                    gain: grades.get(&o.id.0).copied().unwrap_or(0),
                })
                .collect(),
        })
        .collect();
    let report = tune::tune_lists(&lists, &current, &TuneOptions::default()).expect("tuned");
    eprintln!(
        "judgements as decisions ({} lists): held-out NDCG@5 in force {:.3}, learned {:.3}; pairs {:.3} vs {:.3}",
        report.lists_used,
        report.current_held_out.ndcg,
        report.proposed_held_out.ndcg,
        report.current_held_out.pair_accuracy,
        report.proposed_held_out.pair_accuracy
    );
    eprintln!("learned weights {:?}", report.proposed.weights.named());
    eprintln!("learned penalties {:?}", report.proposed.gates.named());
    assert_eq!(report.proposed.validate(), Ok(()));
}

#[test]
fn the_worked_example_in_docs_matching_md_holds() {
    // docs/matching.md: need N01 (CWC implementing law, Senegal, French) and three offers.
    let set = load();
    let rates = rates();
    let need = &set
        .needs
        .iter()
        .find(|(n, _)| n.id.0 == "N01")
        .expect("N01")
        .0;
    let scores = |policy: &Policy| -> Vec<u32> {
        let ctx = FitContext {
            policy,
            rates: &rates,
            today: TODAY.date(),
            stage: NeedStage::Circulated,
        };
        [
            "opcw-art7-legal",
            "expertise-france-legal",
            "commonwealth-drafting-en",
        ]
        .iter()
        .map(|id| {
            let o = set.offers.iter().find(|o| o.id.0 == *id).expect("offer");
            fit::explain(need, o, &ctx).expect("candidate").score_milli
        })
        .collect()
    };
    assert_eq!(scores(&Policy::default()), vec![905, 903, 374]);
    assert_eq!(scores(&Policy::first_additive()), vec![900, 970, 900]);
}
