//! Data-driven checks of each hard filter and each soft factor, with their explanations.

use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, Date, FundingMode, GeoScope, Money, Need, NeedFields,
    NeedId, NeedStatus, Offer, OfferFields, OfferId, OfferStatus, Party, PartyFields, PartyId,
    PartyKind, PrincipalId, SubArea, Timestamp, WeaponDomain, need::NeedContext,
    offer::OfferContext,
};
use clearinghouse_matching::{
    FitContext, NeedStage, Policy,
    features::{self, NeedFeatures, OfferFeatures},
    fit::{self, FactorKind, HardFilter},
    synth,
};

const T0: Timestamp = Timestamp(1_795_000_000_000); // 2026-11-18

fn usd(cents: i64) -> Option<Money> {
    CurrencyCode::parse("USD").map(|currency| Money {
        currency,
        minor_units: cents,
    })
}

fn need(iso3: &str, f: impl FnOnce(&mut NeedFields)) -> Need {
    let p = Party::new(
        PartyId(String::new()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: iso3.into(),
            short_name: String::new(),
            country_code: iso3.into(),
            external_id: String::new(),
            description: String::new(),
        },
        T0,
        PrincipalId::system(),
    )
    .expect("party");
    let mut fields = NeedFields {
        title: "t".into(),
        description: "d".into(),
        area: Some(Area::ExportTransshipment),
        sub_areas: vec![
            SubArea::ControlLists,
            SubArea::ExportLicensing,
            SubArea::EndUserControls,
        ],
        assistance_kinds: vec![AssistanceKind::Training, AssistanceKind::Equipment],
        accepted_funding_modes: vec![FundingMode::SingleDonor, FundingMode::JointlyFunded],
        preferred_funding_mode: Some(FundingMode::SingleDonor),
        estimated_budget: usd(100_000),
        wanted_from: Date::parse("2027-01-01").ok(),
        needed_by: Date::parse("2027-12-31").ok(),
        ..NeedFields::default()
    };
    f(&mut fields);
    let mut n = Need::new(
        NeedContext {
            id: NeedId("N1".into()),
            requester: &p,
            now: T0,
            actor: PrincipalId::system(),
        },
        fields,
    )
    .expect("need");
    n.status = NeedStatus::Circulated;
    n
}

fn offer(f: impl FnOnce(&mut OfferFields)) -> Offer {
    let mut fields = OfferFields {
        programme_name: "p".into(),
        description: "d".into(),
        sub_areas: vec![
            SubArea::ControlLists,
            SubArea::ExportLicensing,
            SubArea::EndUserControls,
        ],
        assistance_kinds: vec![AssistanceKind::Training, AssistanceKind::Equipment],
        funding_modes: vec![FundingMode::SingleDonor],
        scope: GeoScope {
            countries: vec!["KEN".into()],
            ..GeoScope::default()
        },
        ..OfferFields::default()
    };
    f(&mut fields);
    let mut o = Offer::new(
        OfferContext {
            id: OfferId("O1".into()),
            provider: PartyId("state-FRA".into()),
            now: T0,
            actor: PrincipalId::system(),
        },
        fields,
    )
    .expect("offer");
    o.status = OfferStatus::Active;
    o
}

fn with_ctx<T>(f: impl FnOnce(&FitContext<'_>) -> T) -> T {
    let policy = Policy::default();
    let rates = synth::rates();
    f(&FitContext {
        policy: &policy,
        rates: &rates,
        today: T0.date(),
        stage: NeedStage::Circulated,
    })
}

fn factor(n: &Need, o: &Offer, kind: FactorKind) -> (f64, String) {
    with_ctx(|ctx| {
        let e = fit::explain(n, o, ctx).expect("candidate");
        let f = e
            .factors
            .into_iter()
            .find(|f| f.kind == kind)
            .expect("factor");
        (f.value, f.reason)
    })
}

fn rejected(n: &Need, o: &Offer) -> Vec<HardFilter> {
    with_ctx(|ctx| {
        assert!(!fit::passes(n, o, ctx), "pair should fail a filter");
        let fast = features::passes(
            &NeedFeatures::of(n),
            &OfferFeatures::of(o),
            ctx.today,
            ctx.stage,
        );
        assert!(!fast, "the compact features must fail the same pair");
        fit::explain(n, o, ctx)
            .expect_err("not a candidate")
            .into_iter()
            .map(|r| r.filter)
            .collect()
    })
}

#[test]
fn a_perfect_pair_scores_one_and_explains_every_factor() {
    let (n, o) = (need("KEN", |_| {}), offer(|_| {}));
    with_ctx(|ctx| {
        let e = fit::explain(&n, &o, ctx).expect("candidate");
        assert_eq!(e.score_milli, 1000);
        assert_eq!(e.factors.len(), 12, "9 factors and 3 gates");
        let sum: f64 = e.factors.iter().map(|f| f.contribution).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert_eq!(fit::score(&n, &o, ctx), 1000);
    });
}

#[test]
fn each_hard_filter_rejects_with_its_reason() {
    let base = need("KEN", |_| {});
    let cases: Vec<(&str, Need, Offer, HardFilter)> = vec![
        (
            "draft need",
            Need {
                status: NeedStatus::Draft,
                ..base.clone()
            },
            offer(|_| {}),
            HardFilter::NeedNotOpen,
        ),
        (
            "draft offer",
            base.clone(),
            Offer {
                status: OfferStatus::Draft,
                ..offer(|_| {})
            },
            HardFilter::OfferNotOpen,
        ),
        (
            "expired offer",
            base.clone(),
            offer(|f| f.valid_until = Date::parse("2026-01-01").ok()),
            HardFilter::OfferExpired,
        ),
        (
            "no sub-area",
            base.clone(),
            offer(|f| f.sub_areas = vec![SubArea::InsiderThreat]),
            HardFilter::Thematic,
        ),
        (
            "weapon domains",
            need("KEN", |f| f.weapon_domains = vec![WeaponDomain::Chemical]),
            offer(|f| f.weapon_domains = vec![WeaponDomain::Nuclear]),
            HardFilter::WeaponDomain,
        ),
        (
            "outside scope",
            need("PER", |_| {}),
            offer(|_| {}),
            HardFilter::Geography,
        ),
        (
            "excluded",
            base.clone(),
            offer(|f| {
                f.scope = GeoScope {
                    global: true,
                    excluded_countries: vec!["KEN".into()],
                    ..GeoScope::default()
                }
            }),
            HardFilter::Geography,
        ),
        (
            "funding",
            base.clone(),
            offer(|f| f.funding_modes = vec![FundingMode::InKind]),
            HardFilter::Funding,
        ),
        (
            "timing",
            base.clone(),
            offer(|f| {
                f.valid_from = Date::parse("2028-02-01").ok();
            }),
            HardFilter::Timing,
        ),
        (
            "lead time",
            need("KEN", |f| {
                f.wanted_from = Date::parse("2026-11-20").ok();
                f.needed_by = Date::parse("2026-12-01").ok();
            }),
            offer(|f| f.lead_time_days = 60),
            HardFilter::Timing,
        ),
    ];
    for (label, n, o, want) in cases {
        let got = rejected(&n, &o);
        if want == HardFilter::OfferExpired {
            // Expired in January 2026, it also misses the need's 2027 window.
            assert_eq!(got, vec![want, HardFilter::Timing], "{label}");
        } else {
            assert_eq!(got, vec![want], "{label}");
        }
    }
    let r = with_ctx(|ctx| {
        fit::explain(
            &need("KEN", |_| {}),
            &offer(|f| {
                f.scope = GeoScope {
                    global: true,
                    excluded_countries: vec!["KEN".into()],
                    ..GeoScope::default()
                }
            }),
            ctx,
        )
    });
    assert_eq!(
        r.expect_err("rejected")[0].reason,
        "country KEN is excluded by the offer's scope"
    );
    // Authenticated needs are open only for brokers looking ahead.
    let auth = Need {
        status: NeedStatus::Authenticated,
        ..base
    };
    let policy = Policy::default();
    let rates = synth::rates();
    let broker = FitContext {
        policy: &policy,
        rates: &rates,
        today: T0.date(),
        stage: NeedStage::AuthenticatedToo,
    };
    assert!(fit::passes(&auth, &offer(|_| {}), &broker));
    assert!(features::passes(
        &NeedFeatures::of(&auth),
        &OfferFeatures::of(&offer(|_| {})),
        broker.today,
        broker.stage
    ));
    // And every passing pair of the factor tests passes on features too.
    with_ctx(|ctx| {
        let n = need("KEN", |_| {});
        for o in [
            offer(|_| {}),
            offer(|f| {
                f.scope = GeoScope {
                    subregions: vec!["Eastern Africa".into()],
                    ..GeoScope::default()
                }
            }),
            offer(|f| f.weapon_domains = vec![WeaponDomain::Nuclear]),
        ] {
            assert!(fit::passes(&n, &o, ctx));
            assert!(features::passes(
                &NeedFeatures::of(&n),
                &OfferFeatures::of(&o),
                ctx.today,
                ctx.stage
            ));
        }
    });
}

#[test]
fn thematic_credit_counts_parent_areas_at_seven_tenths() {
    let n = need("KEN", |_| {});
    let (v, r) = factor(
        &n,
        &offer(|f| f.sub_areas = vec![SubArea::ControlLists, SubArea::ExportLicensing]),
        FactorKind::Thematic,
    );
    assert!((v - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        r,
        "covers 2 of 3 sub-areas: control lists, export licensing; missing: end user controls"
    );
    let (v, r) = factor(
        &n,
        &offer(|f| {
            f.sub_areas = vec![SubArea::ControlLists];
            f.areas = vec![Area::ExportTransshipment];
        }),
        FactorKind::Thematic,
    );
    assert!((v - (1.0 + 0.7 + 0.7) / 3.0).abs() < 1e-9);
    assert!(
        r.contains("through the whole area: export licensing, end user controls"),
        "{r}"
    );
}

#[test]
fn geography_credit_follows_the_scope_precision() {
    let n = need("KEN", |_| {});
    let cases = [
        (
            GeoScope {
                countries: vec!["KEN".into()],
                ..GeoScope::default()
            },
            1.0,
            "offer names country KEN",
        ),
        (
            GeoScope {
                subregions: vec!["Eastern Africa".into()],
                ..GeoScope::default()
            },
            0.85,
            "offer covers KEN's sub-region",
        ),
        (
            GeoScope {
                regions: vec!["Africa".into()],
                ..GeoScope::default()
            },
            0.7,
            "offer covers KEN's region",
        ),
        (
            GeoScope {
                global: true,
                ..GeoScope::default()
            },
            0.5,
            "offer is global",
        ),
    ];
    for (scope, want, reason) in cases {
        let (v, r) = factor(
            &n,
            &offer(|f| f.scope = scope.clone()),
            FactorKind::Geography,
        );
        assert!((v - want).abs() < 1e-9, "{reason}");
        assert_eq!(r, reason);
    }
}

#[test]
fn the_budget_reason_shows_amounts_in_major_units_with_the_currency() {
    let n = need("KEN", |f| f.estimated_budget = usd(1_080_000));
    let (v, r) = factor(
        &n,
        &offer(|f| f.budget_ceiling = usd(540_000)),
        FactorKind::Budget,
    );
    assert!((v - 0.5).abs() < 1e-9, "{r}");
    assert_eq!(
        r,
        "offer can put USD 5,400.00 of the need's USD 10,800.00 (50%)"
    );
    // A ceiling above the budget is shown as the whole budget.
    let n = need("KEN", |f| f.estimated_budget = usd(123_456_789));
    let (_, r) = factor(
        &n,
        &offer(|f| f.budget_ceiling = usd(900_000_000)),
        FactorKind::Budget,
    );
    assert_eq!(
        r,
        "offer can put USD 1,234,567.89 of the need's USD 1,234,567.89 (100%)"
    );
}

#[test]
fn funding_budget_assistance_timing_and_language_factors() {
    let n = need("KEN", |_| {});
    let (v, r) = factor(
        &n,
        &offer(|f| f.funding_modes = vec![FundingMode::JointlyFunded]),
        FactorKind::Funding,
    );
    assert!((v - 0.6).abs() < 1e-9, "{r}");

    // Budget: 100,000 cents needed; the offer can put 25,000 EUR cents = 27,000 USD cents.
    let eur = CurrencyCode::parse("EUR").map(|currency| Money {
        currency,
        minor_units: 25_000,
    });
    let (v, r) = factor(&n, &offer(|f| f.budget_ceiling = eur), FactorKind::Budget);
    assert!((v - 0.27).abs() < 1e-9, "{r}");
    assert_eq!(
        r,
        "offer can put USD 270.00 of the need's USD 1,000.00 (27%)"
    );
    let chf = CurrencyCode::parse("CHF").map(|currency| Money {
        currency,
        minor_units: 1,
    });
    let (v, r) = factor(&n, &offer(|f| f.budget_ceiling = chf), FactorKind::Budget);
    assert!(v.abs() < 1e-9);
    assert!(r.starts_with("no exchange rate"), "{r}");
    let (v, _) = factor(&n, &offer(|_| {}), FactorKind::Budget);
    assert!((v - 1.0).abs() < 1e-9, "no capacity limit is full credit");

    let (v, r) = factor(
        &n,
        &offer(|f| f.assistance_kinds = vec![AssistanceKind::Training]),
        FactorKind::Assistance,
    );
    assert!((v - 0.5).abs() < 1e-9);
    assert_eq!(r, "not offered: equipment");

    // Need window 2027-01-01..2027-12-31 (365 days); offer until 2027-07-01 covers 182.
    let (v, _) = factor(
        &n,
        &offer(|f| f.valid_until = Date::parse("2027-07-01").ok()),
        FactorKind::Timing,
    );
    assert!((v - 182.0 / 365.0).abs() < 1e-9, "{v}");
}

// ------------------------------------------------------------------ the gated model

fn explanation(n: &Need, o: &Offer) -> fit::Explanation {
    with_ctx(|ctx| fit::explain(n, o, ctx).expect("candidate"))
}

fn score(n: &Need, o: &Offer) -> u32 {
    with_ctx(|ctx| fit::score(n, o, ctx))
}

fn line(e: &fit::Explanation, kind: FactorKind) -> fit::Factor {
    e.factors
        .iter()
        .find(|f| f.kind == kind)
        .cloned()
        .expect("line")
}

/// Checks the invariants every explanation keeps: contributions (factors and gates)
/// sum to the score, and the compact features agree with the filters, give the same
/// score and bound it.
fn consistent(n: &Need, o: &Offer) {
    with_ctx(|ctx| {
        let e = fit::explain(n, o, ctx).expect("candidate");
        let sum: f64 = e.factors.iter().map(|f| f.contribution).sum();
        assert!(
            (sum * 1000.0 - f64::from(e.score_milli)).abs() <= 0.5 + 1e-9,
            "contributions sum to {sum}, score {}",
            e.score_milli
        );
        let (nf, of) = (NeedFeatures::of(n), OfferFeatures::of(o));
        assert!(features::passes(&nf, &of, ctx.today, ctx.stage));
        let bound = features::upper_bound(&nf, &of, ctx);
        assert!(bound >= e.score_milli, "bound {bound} < {}", e.score_milli);
        assert_eq!(feature_score(&nf, &of, ctx), Some(e.score_milli));
    });
}

fn feature_score(nf: &NeedFeatures, of: &OfferFeatures, ctx: &FitContext<'_>) -> Option<u32> {
    features::score(
        nf,
        of,
        features::budget_in(nf, ctx.rates),
        features::capacity_in(of, ctx.rates),
        ctx,
    )
}

#[test]
fn the_features_score_every_synthetic_pair_exactly_as_the_records_do() {
    let data = synth::generate(
        1540,
        synth::Shape {
            needs: 300,
            offers: 600,
            planted_pct: 20,
        },
    );
    let policy = Policy::default();
    let rates = synth::rates();
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let offers: Vec<OfferFeatures> = data.offers.iter().map(OfferFeatures::of).collect();
    let (mut candidates, mut regional) = (0, 0);
    for n in &data.needs {
        let nf = NeedFeatures::of(n);
        for (o, of) in data.offers.iter().zip(&offers) {
            if fit::passes(n, o, &ctx) {
                candidates += 1;
                regional += usize::from(!n.fields.beneficiary_countries.is_empty());
                assert_eq!(
                    feature_score(&nf, of, &ctx),
                    Some(fit::score(n, o, &ctx)),
                    "need {} offer {}",
                    n.id,
                    o.id
                );
            }
        }
    }
    assert!(
        candidates > 1000 && regional > 50,
        "{candidates} candidate pairs, {regional} of regional needs"
    );
}

#[test]
fn features_decline_to_score_what_they_cannot_hold_and_the_records_score_it() {
    // A regional need serving more countries than the features keep in order.
    let many: Vec<String> = clearinghouse_domain::geo::un_members()
        .filter(|c| c.region == "Africa" && c.iso3 != "KEN")
        .take(20)
        .map(|c| c.iso3.to_owned())
        .collect();
    let wide = need("KEN", |f| f.beneficiary_countries = many);
    let near = need("KEN", |f| {
        f.beneficiary_countries = vec!["UGA".into(), "TZA".into()]
    });
    let africa = offer(|f| {
        f.scope = GeoScope {
            regions: vec!["Africa".into()],
            countries: vec!["KEN".into()],
            ..GeoScope::default()
        }
    });
    with_ctx(|ctx| {
        let of = OfferFeatures::of(&africa);
        assert_eq!(feature_score(&NeedFeatures::of(&wide), &of, ctx), None);
        assert_eq!(
            feature_score(&NeedFeatures::of(&near), &of, ctx),
            Some(fit::score(&near, &africa, ctx))
        );
        // An offer whose list repeats an entry (validation refuses it; a record built
        // another way may still hold one) is scored from its record too.
        let mut repeated = africa.clone();
        repeated.fields.weapon_domains = vec![WeaponDomain::Nuclear, WeaponDomain::Nuclear];
        let rf = OfferFeatures::of(&repeated);
        assert_eq!(feature_score(&NeedFeatures::of(&near), &rf, ctx), None);
        assert!(
            features::upper_bound(&NeedFeatures::of(&wide), &of, ctx)
                >= fit::score(&wide, &africa, ctx)
        );
    });
}

#[test]
fn an_offer_giving_none_of_the_kinds_asked_loses_most_of_its_score() {
    let n = need("KEN", |f| {
        f.assistance_kinds = vec![AssistanceKind::Training]
    });
    let training = offer(|f| f.assistance_kinds = vec![AssistanceKind::Training]);
    let equipment = offer(|f| f.assistance_kinds = vec![AssistanceKind::Equipment]);
    let e = explanation(&n, &equipment);
    let gate = line(&e, FactorKind::KindsGate);
    assert!((gate.value - 0.4).abs() < 1e-9, "1 - penalty 0.6");
    assert_eq!(
        gate.reason,
        "offers none of the kinds asked: needs training, offers equipment"
    );
    assert!(gate.contribution < 0.0);
    // Without the kinds, the rest of its fit (0.92 here) cannot lift it near a real match.
    assert!(score(&n, &equipment) < 400, "{}", score(&n, &equipment));
    assert_eq!(score(&n, &training), 1000);
    for o in [&training, &equipment] {
        consistent(&n, o);
    }
}

#[test]
fn required_kinds_and_languages_are_hard_filters_with_their_reasons() {
    let n = need("KEN", |f| {
        f.required_assistance_kinds = vec![AssistanceKind::Equipment];
        f.languages = vec!["fr".into(), "en".into()];
        f.required_languages = vec!["fr".into()];
    });
    let english_training = offer(|f| {
        f.assistance_kinds = vec![AssistanceKind::Training];
        f.languages = vec!["en".into()];
    });
    assert_eq!(
        rejected(&n, &english_training),
        vec![HardFilter::RequiredKind, HardFilter::RequiredLanguage]
    );
    let reasons: Vec<String> = with_ctx(|ctx| {
        fit::explain(&n, &english_training, ctx)
            .expect_err("filtered")
            .into_iter()
            .map(|r| r.reason)
            .collect()
    });
    assert_eq!(
        reasons,
        vec![
            "need requires EQUIPMENT and the offer does not give it",
            "need requires work in fr and the offer works in en"
        ]
    );
    // An offer that states no language is not held to the requirement.
    let unstated = offer(|f| f.languages.clear());
    consistent(&n, &unstated);
    assert_eq!(
        line(&explanation(&n, &unstated), FactorKind::Language).reason,
        "offer states no working language"
    );
    let french = offer(|f| f.languages = vec!["fr".into()]);
    consistent(&n, &french);
}

#[test]
fn language_credit_prefers_the_main_language_and_gates_none_shared() {
    let n = need("KEN", |f| f.languages = vec!["fr".into(), "en".into()]);
    let cases = [
        (
            vec!["fr"],
            1.0,
            1.0,
            "offer works in the need's main language fr",
        ),
        (
            vec!["en", "es"],
            0.7,
            1.0,
            "offer shares en but not the main language fr",
        ),
        (vec![], 0.5, 1.0, "offer states no working language"),
        (vec!["es"], 0.0, 0.5, "no working language in common"),
    ];
    for (langs, credit, multiplier, reason) in cases {
        let o = offer(|f| f.languages = langs.iter().map(|l| (*l).to_owned()).collect());
        let e = explanation(&n, &o);
        let (l, g) = (
            line(&e, FactorKind::Language),
            line(&e, FactorKind::LanguageGate),
        );
        assert!((l.value - credit).abs() < 1e-9, "{reason}");
        assert_eq!(l.reason, reason);
        assert!((g.value - multiplier).abs() < 1e-9, "{reason}");
        consistent(&n, &o);
    }
    let es = offer(|f| f.languages = vec!["es".into()]);
    assert_eq!(
        line(&explanation(&n, &es), FactorKind::LanguageGate).reason,
        "no working language in common: need works in fr, en, offer in es"
    );
}

#[test]
fn a_single_donor_far_below_the_budget_is_gated_by_its_shortfall() {
    // 100,000 cents needed, single-donor only; the offer can put 12,000.
    let n = need("KEN", |f| {
        f.accepted_funding_modes = vec![FundingMode::SingleDonor];
        f.preferred_funding_mode = Some(FundingMode::SingleDonor);
    });
    let small = offer(|f| f.max_contribution = usd(12_000));
    let e = explanation(&n, &small);
    let gate = line(&e, FactorKind::BudgetGate);
    assert!(
        (gate.value - (1.0 - 0.6 * 0.88)).abs() < 1e-9,
        "{}",
        gate.value
    );
    assert!(
        gate.reason.starts_with(
            "single donor: the offer would fund the need alone and can put only 12% of its budget"
        ),
        "{}",
        gate.reason
    );
    assert!(score(&n, &small) < 500, "{}", score(&n, &small));
    consistent(&n, &small);
    // When others can fund the rest (joint in common), a small offer is not gated.
    let joint_need = need("KEN", |f| {
        f.accepted_funding_modes = vec![FundingMode::JointlyFunded];
        f.preferred_funding_mode = Some(FundingMode::JointlyFunded);
    });
    let joint_small = offer(|f| {
        f.funding_modes = vec![FundingMode::JointlyFunded];
        f.max_contribution = usd(12_000);
    });
    let e = explanation(&joint_need, &joint_small);
    assert!((line(&e, FactorKind::BudgetGate).value - 1.0).abs() < 1e-9);
    assert!((line(&e, FactorKind::Budget).value - 0.12).abs() < 1e-9);
    consistent(&joint_need, &joint_small);
}

#[test]
fn a_regional_request_is_scored_on_the_share_of_its_beneficiaries_in_scope() {
    // Lead KEN (Eastern Africa) and nine beneficiaries across the continent.
    let regional = |f: &mut NeedFields| {
        f.beneficiary_countries = [
            "ETH", "NGA", "SEN", "CMR", "ZAF", "EGY", "MOZ", "MLI", "AGO",
        ]
        .map(str::to_owned)
        .to_vec();
    };
    let n = need("KEN", regional);
    let continent = offer(|f| {
        f.scope = GeoScope {
            regions: vec!["Africa".into()],
            ..GeoScope::default()
        }
    });
    let two_subregions = offer(|f| {
        f.scope = GeoScope {
            subregions: vec!["Eastern Africa".into(), "Western Africa".into()],
            ..GeoScope::default()
        }
    });
    let (c, t) = (
        line(&explanation(&n, &continent), FactorKind::Geography),
        line(&explanation(&n, &two_subregions), FactorKind::Geography),
    );
    assert!((c.value - 0.7).abs() < 1e-9);
    assert_eq!(c.reason, "covers 10 of 10 beneficiary countries");
    // KEN, ETH, MOZ (Eastern) and NGA, SEN, MLI (Western) at 0.85; four outside.
    assert!((t.value - 6.0 * 0.85 / 10.0).abs() < 1e-9, "{}", t.value);
    assert_eq!(
        t.reason,
        "covers 6 of 10 beneficiary countries; outside: CMR, ZAF, EGY, AGO"
    );
    assert!(score(&n, &continent) > score(&n, &two_subregions));
    consistent(&n, &continent);
    consistent(&n, &two_subregions);
}

#[test]
fn domain_coverage_names_what_is_missing() {
    let n = need("KEN", |f| {
        f.weapon_domains = vec![WeaponDomain::Nuclear, WeaponDomain::Chemical];
    });
    let nuclear = offer(|f| f.weapon_domains = vec![WeaponDomain::Nuclear]);
    let both = offer(|f| {
        f.weapon_domains = vec![WeaponDomain::Nuclear, WeaponDomain::Chemical];
    });
    let d = line(&explanation(&n, &nuclear), FactorKind::Domain);
    assert!((d.value - 0.5).abs() < 1e-9);
    assert_eq!(d.reason, "covers NUCLEAR, missing CHEMICAL");
    assert_eq!(
        line(&explanation(&n, &both), FactorKind::Domain).reason,
        "covers every weapon domain asked: NUCLEAR, CHEMICAL"
    );
    assert!(score(&n, &both) > score(&n, &nuclear));
    consistent(&n, &nuclear);
    consistent(&n, &both);
}

#[test]
fn a_specialist_beats_a_generalist_of_equal_coverage() {
    // Chemical weapons legislation: the treaty body's offer names the sub-areas and the
    // domain; a general drafting facility covers two whole areas and every domain.
    let n = need("KEN", |f| {
        f.area = Some(Area::LegislationEnforcement);
        f.sub_areas = vec![
            SubArea::LegislativeDrafting,
            SubArea::CriminalizationPenalties,
        ];
        f.weapon_domains = vec![WeaponDomain::Chemical];
    });
    let specialist = offer(|f| {
        f.sub_areas = vec![
            SubArea::LegislativeDrafting,
            SubArea::CriminalizationPenalties,
            SubArea::RegulatoryAuthority,
        ];
        f.weapon_domains = vec![WeaponDomain::Chemical];
    });
    let generalist = offer(|f| {
        f.sub_areas = vec![
            SubArea::LegislativeDrafting,
            SubArea::CriminalizationPenalties,
        ];
        f.areas = vec![Area::LegislationEnforcement, Area::NationalFramework];
    });
    let s = line(&explanation(&n, &specialist), FactorKind::Specificity);
    let g = line(&explanation(&n, &generalist), FactorKind::Specificity);
    assert_eq!(
        s.reason,
        "specialised: 2 of its 3 sub-areas are the need's; works in 2 areas; 1 of its 1 weapon domains (CHEMICAL) are the need's"
    );
    assert_eq!(
        g.reason,
        "broad: 2 of its 10 sub-areas are the need's; works in 2 areas; works on every weapon domain"
    );
    assert!(s.value > g.value);
    assert!(score(&n, &specialist) > score(&n, &generalist));
    consistent(&n, &specialist);
    consistent(&n, &generalist);
}
