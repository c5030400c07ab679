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
        assert_eq!(e.factors.len(), 7);
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
    assert_eq!(r, "offer can put 27000 of the need's 100000 USD (27%)");
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
    assert_eq!(r, "not offered: EQUIPMENT");

    // Need window 2027-01-01..2027-12-31 (365 days); offer until 2027-07-01 covers 182.
    let (v, _) = factor(
        &n,
        &offer(|f| f.valid_until = Date::parse("2027-07-01").ok()),
        FactorKind::Timing,
    );
    assert!((v - 182.0 / 365.0).abs() < 1e-9, "{v}");

    let fr = need("KEN", |f| f.languages = vec!["fr".into()]);
    let (v, r) = factor(
        &fr,
        &offer(|f| f.languages = vec!["en".into()]),
        FactorKind::Language,
    );
    assert!(v.abs() < 1e-9, "{r}");
    // Language weighs 0 by default: the score ignores it.
    with_ctx(|ctx| {
        assert_eq!(
            fit::score(&fr, &offer(|f| f.languages = vec!["en".into()]), ctx),
            1000
        )
    });
}
