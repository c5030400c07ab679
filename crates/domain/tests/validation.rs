//! Data-driven checks of every validation rule of needs, offers, parties and principals,
//! and of the lifecycle methods that carry extra rules (consent window, feedback, expiry).

use clearinghouse_domain::{
    self as d, Area, AssistanceKind, Date, FundingMode, GeoScope, Money, Need, NeedField,
    NeedFields, NeedStatus, Offer, OfferField, OfferFields, OfferStatus, Party, PartyFields,
    PartyKind, Principal, PrincipalId, PublicationConsent, Role, SubArea, Timestamp,
    TransitionError, Visibility,
    need::{Contact, NeedContext, NeedUpdateError},
    offer::OfferContext,
    principal::NewPrincipal,
    transition::Actor,
};

/// A data-driven case: label, requester, change to valid fields, expected bad fields.
type NeedCase<'a> = (
    &'a str,
    &'a Party,
    Box<dyn Fn(&mut NeedFields)>,
    Vec<&'a str>,
);
/// Label, change to valid offer fields, expected bad fields.
type OfferCase = (
    &'static str,
    Box<dyn Fn(&mut OfferFields)>,
    Vec<&'static str>,
);

const T0: Timestamp = Timestamp(1_795_000_000_000); // 2026-11-18, a Wednesday

fn who() -> PrincipalId {
    PrincipalId("p".into())
}

fn party(kind: PartyKind, iso3: &str) -> Party {
    Party::new(
        d::PartyId("org-x".into()),
        PartyFields {
            kind: Some(kind),
            display_name: "Party".into(),
            short_name: String::new(),
            country_code: iso3.into(),
            external_id: String::new(),
            description: String::new(),
        },
        T0,
        who(),
    )
    .expect("party")
}

fn usd(units: i64) -> Option<Money> {
    d::CurrencyCode::parse("USD").map(|currency| Money {
        currency,
        minor_units: units,
    })
}

fn fields() -> NeedFields {
    NeedFields {
        title: "Control lists".into(),
        description: "Training".into(),
        area: Some(Area::ExportTransshipment),
        sub_areas: vec![SubArea::ControlLists],
        assistance_kinds: vec![AssistanceKind::Training],
        accepted_funding_modes: vec![FundingMode::SingleDonor],
        estimated_budget: usd(100),
        ..NeedFields::default()
    }
}

fn build(requester: &Party, f: NeedFields) -> Result<Need, d::ValidationError> {
    Need::new(
        NeedContext {
            id: d::NeedId("N".into()),
            requester,
            now: T0,
            actor: who(),
        },
        f,
    )
}

/// Applies `change` to valid fields and returns the fields named in the error.
fn bad_need_fields(requester: &Party, change: impl Fn(&mut NeedFields)) -> Vec<String> {
    let mut f = fields();
    change(&mut f);
    match build(requester, f) {
        Ok(_) => Vec::new(),
        Err(e) => e.violations.into_iter().map(|v| v.field).collect(),
    }
}

#[test]
fn each_need_rule_names_its_field() {
    let ken = party(PartyKind::State, "KEN");
    let caricom = party(PartyKind::RegionalOrganization, "GUY");
    let d = |s: &str| Date::parse(s).ok();
    let cases: Vec<NeedCase<'_>> = vec![
        ("valid", &ken, Box::new(|_| {}), vec![]),
        (
            "title required",
            &ken,
            Box::new(|f| f.title = " ".into()),
            vec!["need.title"],
        ),
        (
            "title too long",
            &ken,
            Box::new(|f| f.title = "é".repeat(201)),
            vec!["need.title"],
        ),
        (
            "description required",
            &ken,
            Box::new(|f| f.description.clear()),
            vec!["need.description"],
        ),
        (
            "control characters",
            &ken,
            Box::new(|f| f.description = "a\u{7}b".into()),
            vec!["need.description"],
        ),
        (
            "area required",
            &ken,
            Box::new(|f| f.area = None),
            vec!["need.area"],
        ),
        (
            "a sub-area is required",
            &ken,
            Box::new(|f| f.sub_areas.clear()),
            vec!["need.sub_areas"],
        ),
        (
            "sub-area of another area",
            &ken,
            Box::new(|f| f.sub_areas.push(SubArea::InsiderThreat)),
            vec!["need.sub_areas[1]"],
        ),
        (
            "duplicate sub-area",
            &ken,
            Box::new(|f| f.sub_areas.push(SubArea::ControlLists)),
            vec!["need.sub_areas[1]"],
        ),
        (
            "kind of help required",
            &ken,
            Box::new(|f| f.assistance_kinds.clear()),
            vec!["need.assistance_kinds"],
        ),
        (
            "funding mode required",
            &ken,
            Box::new(|f| f.accepted_funding_modes.clear()),
            vec!["need.accepted_funding_modes"],
        ),
        (
            "preferred must be accepted",
            &ken,
            Box::new(|f| f.preferred_funding_mode = Some(FundingMode::InKind)),
            vec!["need.preferred_funding_mode"],
        ),
        (
            "window must not be empty",
            &ken,
            Box::new(move |f| {
                f.wanted_from = d("2027-05-01");
                f.needed_by = d("2027-01-01");
            }),
            vec!["need.needed_by"],
        ),
        (
            "language code",
            &ken,
            Box::new(|f| f.languages = vec!["EN".into()]),
            vec!["need.languages[0]"],
        ),
        (
            "too many languages",
            &ken,
            Box::new(|f| f.languages = vec!["en".into(); 9]),
            vec!["need.languages"],
        ),
        (
            "required kinds among the kinds asked",
            &ken,
            Box::new(|f| {
                f.required_assistance_kinds =
                    vec![AssistanceKind::Training, AssistanceKind::Equipment]
            }),
            vec!["need.required_assistance_kinds[1]"],
        ),
        (
            "required kinds listed once",
            &ken,
            Box::new(|f| {
                f.required_assistance_kinds = vec![AssistanceKind::Training; 2];
            }),
            vec!["need.required_assistance_kinds[1]"],
        ),
        (
            "required languages among the languages",
            &ken,
            Box::new(|f| {
                f.languages = vec!["fr".into()];
                f.required_languages = vec!["fr".into(), "en".into()];
            }),
            vec!["need.required_languages[1]"],
        ),
        (
            "required language code",
            &ken,
            Box::new(|f| {
                f.languages = vec!["fr".into()];
                f.required_languages = vec!["FR".into()];
            }),
            vec!["need.required_languages[0]", "need.required_languages[0]"],
        ),
        (
            "State's own country only",
            &ken,
            Box::new(|f| f.country_code = "FRA".into()),
            vec!["need.country_code"],
        ),
        (
            "organization needs a country",
            &caricom,
            Box::new(|_| {}),
            vec!["need.country_code"],
        ),
        (
            "organization with a bad country",
            &caricom,
            Box::new(|f| f.country_code = "XXX".into()),
            vec!["need.country_code"],
        ),
        (
            "beneficiary countries",
            &caricom,
            Box::new(|f| {
                f.country_code = "JAM".into();
                f.beneficiary_countries = vec!["TTO".into(), "QQQ".into()];
            }),
            vec!["need.beneficiary_countries[1]"],
        ),
        (
            "server-only consent",
            &ken,
            Box::new(|f| f.publication_consent = PublicationConsent::DeemedGranted),
            vec!["need.publication_consent"],
        ),
        (
            "contact e-mail",
            &ken,
            Box::new(|f| {
                f.contact = Contact {
                    email: "a@b".into(),
                    ..Contact::default()
                }
            }),
            vec!["need.contact.email"],
        ),
        (
            "external id length",
            &ken,
            Box::new(|f| f.external_id = "x".repeat(129)),
            vec!["need.external_id"],
        ),
        (
            "public summary length",
            &ken,
            Box::new(|f| f.public_summary = "x".repeat(2001)),
            vec!["need.public_summary"],
        ),
    ];
    for (label, requester, change, want) in cases {
        assert_eq!(bad_need_fields(requester, change), want, "{label}");
    }
}

#[test]
fn derived_values_are_filled_on_creation() {
    let ken = party(PartyKind::State, "KEN");
    let n = build(&ken, fields()).expect("valid");
    assert_eq!(n.fields.country_code, "KEN");
    assert_eq!(
        n.fields.preferred_funding_mode,
        Some(FundingMode::SingleDonor)
    );
    assert_eq!(
        n.fields.request_date.map(|d| d.to_string()).as_deref(),
        Some("2026-11-18")
    );
    assert_eq!(n.follow_up_due.to_string(), "2027-11-18");
    assert_eq!(
        (n.status, n.version, n.history.len()),
        (NeedStatus::Draft, 1, 1)
    );
    assert_eq!(n.country().map(|c| c.region), Some("Africa"));
}

#[test]
fn consent_window_gates_circulation() {
    let ken = party(PartyKind::State, "KEN");
    let n = build(&ken, fields()).expect("valid");
    let n = n.submit(Actor::Requester, &who(), T0).expect("submit");
    let n = n
        .authenticate(Actor::Broker, &who(), T0)
        .expect("authenticate");
    // Authenticated on Wednesday 2026-11-18: the State may object until Wednesday 11-25.
    assert_eq!(
        n.consent_window_ends.map(|d| d.to_string()).as_deref(),
        Some("2026-11-25")
    );
    let day = 86_400_000;
    match n.circulate(Actor::Broker, &who(), Timestamp(T0.0 + 7 * day)) {
        Err(TransitionError::Rule { reason, .. }) => assert_eq!(reason, "CONSENT_WINDOW_OPEN"),
        other => panic!("expected the window to be open, got {other:?}"),
    }
    let c = n
        .circulate(Actor::Broker, &who(), Timestamp(T0.0 + 8 * day))
        .expect("window passed");
    assert_eq!(
        c.fields.publication_consent,
        PublicationConsent::DeemedGranted
    );

    let mut withheld = n.clone();
    withheld.fields.publication_consent = PublicationConsent::Withheld;
    let c = withheld
        .circulate(Actor::Broker, &who(), T0)
        .expect("committee-only circulation");
    assert_eq!(c.fields.visibility, Visibility::CommitteeOnly);
}

#[test]
fn editability_follows_the_status() {
    let ken = party(PartyKind::State, "KEN");
    let n = build(&ken, fields()).expect("valid");
    let src = NeedFields {
        title: "New".into(),
        ..fields()
    };
    let edited = n
        .updated(&ken, &src, &[NeedField::Title], T0, &who())
        .expect("draft is editable");
    assert_eq!(edited.fields.title, "New");
    let circulated = Need {
        status: NeedStatus::Circulated,
        ..n.clone()
    };
    match circulated.updated(&ken, &src, &[NeedField::Title], T0, &who()) {
        Err(NeedUpdateError::Rule(TransitionError::Rule { reason, message })) => {
            assert_eq!(reason, "FIELD_NOT_EDITABLE");
            assert!(message.contains("title") && message.contains("CIRCULATED"));
        }
        other => panic!("expected a rule error, got {other:?}"),
    }
    let contact = NeedFields {
        contact: Contact {
            name: "New desk".into(),
            ..Contact::default()
        },
        ..fields()
    };
    assert!(
        circulated
            .updated(&ken, &contact, &[NeedField::Contact], T0, &who())
            .is_ok()
    );
    assert_eq!(NeedField::parse("contact.email"), Some(NeedField::Contact));
    assert_eq!(NeedField::parse("colour"), None);
}

#[test]
fn mask_paths_must_name_a_field_at_its_depth() {
    assert_eq!(
        NeedField::parse("estimated_budget.minor_units"),
        Some(NeedField::EstimatedBudget)
    );
    for bad in [
        "title.nonexistent",
        "budget.amount.x",
        "estimated_budget.amount",
        "contact.email.x",
        "sub_areas.0",
        "title.",
    ] {
        assert_eq!(NeedField::parse(bad), None, "need {bad}");
    }
    assert_eq!(
        OfferField::parse("scope.countries"),
        Some(OfferField::Scope)
    );
    for bad in ["budget_ceiling.amount", "scope.planets", "description.x"] {
        assert_eq!(OfferField::parse(bad), None, "offer {bad}");
    }
    for paths in [NeedField::mask_paths(), OfferField::mask_paths()] {
        assert!(paths.iter().all(|p| !p.is_empty()));
    }
    assert!(
        NeedField::mask_paths()
            .iter()
            .all(|p| NeedField::parse(p).is_some())
    );
    assert!(
        OfferField::mask_paths()
            .iter()
            .all(|p| OfferField::parse(p).is_some())
    );
    assert!(
        d::PartyField::mask_paths()
            .iter()
            .all(|p| d::PartyField::parse(p).is_some())
    );
    assert_eq!(d::PartyField::parse("display_name.x"), None);
}

#[test]
fn required_kinds_and_languages_update_through_the_mask_and_stay_subsets() {
    let ken = party(PartyKind::State, "KEN");
    let n = build(&ken, fields()).expect("valid");
    assert_eq!(
        NeedField::parse("required_assistance_kinds"),
        Some(NeedField::RequiredAssistanceKinds)
    );
    assert_eq!(
        NeedField::parse("required_languages"),
        Some(NeedField::RequiredLanguages)
    );
    let src = NeedFields {
        languages: vec!["fr".into(), "en".into()],
        required_languages: vec!["fr".into()],
        required_assistance_kinds: vec![AssistanceKind::Training],
        ..fields()
    };
    let mask = [
        NeedField::Languages,
        NeedField::RequiredLanguages,
        NeedField::RequiredAssistanceKinds,
    ];
    let edited = n.updated(&ken, &src, &mask, T0, &who()).expect("subsets");
    assert_eq!(edited.fields.required_languages, vec!["fr".to_owned()]);
    assert_eq!(
        edited.fields.required_assistance_kinds,
        vec![AssistanceKind::Training]
    );
    // Requiring a language without listing it among the languages is refused whole.
    let bad = n.updated(&ken, &src, &[NeedField::RequiredLanguages], T0, &who());
    match bad {
        Err(NeedUpdateError::Invalid(e)) => assert_eq!(
            e.violations
                .iter()
                .map(|v| v.field.as_str())
                .collect::<Vec<_>>(),
            vec!["need.required_languages[0]"]
        ),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn closing_needs_feedback_first() {
    let ken = party(PartyKind::State, "KEN");
    let n = Need {
        status: NeedStatus::Fulfilled,
        ..build(&ken, fields()).expect("valid")
    };
    assert!(matches!(
        n.close(Actor::Broker, &who(), T0),
        Err(TransitionError::Rule {
            reason: "FEEDBACK_MISSING",
            ..
        })
    ));
    let (mut n, entry) = n
        .record_feedback(&who(), T0, "Course delivered")
        .expect("feedback");
    assert!(
        n.feedback.is_empty(),
        "feedback is stored beside the need, not in it"
    );
    assert_eq!(entry.text, "Course delivered");
    n.feedback.push(entry);
    assert_eq!(
        n.close(Actor::Broker, &who(), T0).map(|n| n.status),
        Ok(NeedStatus::Closed)
    );
}

fn offer_fields() -> OfferFields {
    OfferFields {
        programme_name: "Outreach".into(),
        description: "Workshops".into(),
        sub_areas: vec![SubArea::ControlLists],
        assistance_kinds: vec![AssistanceKind::Training],
        funding_modes: vec![FundingMode::JointlyFunded],
        scope: GeoScope {
            global: true,
            ..GeoScope::default()
        },
        budget_ceiling: usd(1000),
        ..OfferFields::default()
    }
}

fn bad_offer_fields(change: impl Fn(&mut OfferFields)) -> Vec<String> {
    let mut f = offer_fields();
    change(&mut f);
    let ctx = OfferContext {
        id: d::OfferId("O".into()),
        provider: d::PartyId("state-FRA".into()),
        now: T0,
        actor: who(),
    };
    match Offer::new(ctx, f) {
        Ok(_) => Vec::new(),
        Err(e) => e.violations.into_iter().map(|v| v.field).collect(),
    }
}

#[test]
fn each_offer_rule_names_its_field() {
    let eur = d::CurrencyCode::parse("EUR").map(|currency| Money {
        currency,
        minor_units: 1,
    });
    let d = |s: &str| Date::parse(s).ok();
    let cases: Vec<OfferCase> = vec![
        ("valid", Box::new(|_| {}), vec![]),
        (
            "programme name",
            Box::new(|f| f.programme_name.clear()),
            vec!["offer.programme_name"],
        ),
        (
            "nothing covered",
            Box::new(|f| f.sub_areas.clear()),
            vec!["offer.sub_areas"],
        ),
        (
            "duplicate area",
            Box::new(|f| f.areas = vec![Area::CrossCutting, Area::CrossCutting]),
            vec!["offer.areas[1]"],
        ),
        (
            "kind of help",
            Box::new(|f| f.assistance_kinds.clear()),
            vec!["offer.assistance_kinds"],
        ),
        (
            "funding mode",
            Box::new(|f| f.funding_modes.clear()),
            vec!["offer.funding_modes"],
        ),
        (
            "empty scope",
            Box::new(|f| f.scope = GeoScope::default()),
            vec!["offer.scope"],
        ),
        (
            "bad sub-region",
            Box::new(|f| f.scope.subregions = vec!["Middle Earth".into()]),
            vec!["offer.scope.subregions[0]"],
        ),
        (
            "bad exclusion",
            Box::new(|f| f.scope.excluded_countries = vec!["XX".into()]),
            vec!["offer.scope.excluded_countries[0]"],
        ),
        (
            "mixed currencies",
            Box::new(move |f| f.max_contribution = eur),
            vec!["offer.max_contribution.currency_code"],
        ),
        (
            "min above max",
            Box::new(|f| {
                f.min_contribution = usd(50);
                f.max_contribution = usd(10);
            }),
            vec!["offer.min_contribution"],
        ),
        (
            "max above ceiling",
            Box::new(|f| f.max_contribution = usd(5000)),
            vec!["offer.max_contribution"],
        ),
        (
            "validity reversed",
            Box::new(move |f| {
                f.valid_from = d("2028-01-01");
                f.valid_until = d("2027-01-01");
            }),
            vec!["offer.valid_until"],
        ),
        (
            "lead time",
            Box::new(|f| f.lead_time_days = 731),
            vec!["offer.lead_time_days"],
        ),
    ];
    for (label, change, want) in cases {
        assert_eq!(bad_offer_fields(change), want, "{label}");
    }
}

#[test]
fn offers_lock_scope_once_active_and_refuse_activation_when_expired() {
    let ctx = OfferContext {
        id: d::OfferId("O".into()),
        provider: d::PartyId("state-FRA".into()),
        now: T0,
        actor: who(),
    };
    let o = Offer::new(ctx, offer_fields()).expect("valid");
    assert!(o.fields.covers(SubArea::ControlLists));
    assert!(!o.fields.covers(SubArea::EndUserControls));
    let active = o.activate(Actor::Provider, &who(), T0).expect("activate");
    assert_eq!(active.status, OfferStatus::Active);
    assert!(
        active
            .updated(&offer_fields(), &[OfferField::Scope], T0, &who())
            .is_err()
    );
    assert!(
        active
            .updated(&offer_fields(), &[OfferField::Description], T0, &who())
            .is_ok()
    );
    let mut expired = o.clone();
    expired.fields.valid_until = Date::parse("2026-01-01").ok();
    assert!(matches!(
        expired.activate(Actor::Provider, &who(), T0),
        Err(TransitionError::Rule {
            reason: "OFFER_EXPIRED",
            ..
        })
    ));
}

#[test]
fn party_and_principal_rules() {
    let state = PartyFields {
        kind: Some(PartyKind::State),
        display_name: "Kenya".into(),
        short_name: String::new(),
        country_code: String::new(),
        external_id: String::new(),
        description: String::new(),
    };
    let err =
        Party::new(d::PartyId("x".into()), state.clone(), T0, who()).expect_err("country required");
    assert_eq!(err.violations[0].field, "party.country_code");
    let ken = Party::new(
        d::PartyId("x".into()),
        PartyFields {
            country_code: "KEN".into(),
            ..state
        },
        T0,
        who(),
    )
    .expect("valid");
    assert_eq!(ken.id.0, "state-KEN");
    let src = PartyFields {
        country_code: "FRA".into(),
        ..ken.fields.clone()
    };
    assert!(
        ken.updated(&src, &[d::PartyField::CountryCode], T0)
            .is_err(),
        "a State's country is fixed"
    );

    let np = |role, party: Option<&str>, expires| NewPrincipal {
        display_name: "k".into(),
        role,
        party: party.map(d::PartyId::from),
        expires_at: expires,
    };
    assert_eq!(
        np(Some(Role::Provider), Some("state-FRA"), None).validate(T0),
        Ok(Role::Provider)
    );
    assert!(np(Some(Role::Provider), None, None).validate(T0).is_err());
    assert!(
        np(Some(Role::Broker), Some("state-FRA"), None)
            .validate(T0)
            .is_err()
    );
    assert!(np(None, None, None).validate(T0).is_err());
    assert!(
        np(Some(Role::Broker), None, Some(Timestamp(T0.0 - 1)))
            .validate(T0)
            .is_err()
    );

    let p = Principal {
        id: PrincipalId("k".into()),
        version: 1,
        display_name: "k".into(),
        role: Role::Analyst,
        party: None,
        key_hash: [0; 32],
        expires_at: Some(Timestamp(T0.0 + 10)),
        revoked_at: None,
        created_at: T0,
        created_by: who(),
    };
    assert!(p.is_active(T0));
    assert!(
        !p.is_active(Timestamp(T0.0 + 10)),
        "expired at its expiry instant"
    );
    assert!(
        !Principal {
            revoked_at: Some(T0),
            ..p.clone()
        }
        .is_active(T0)
    );
    assert!(
        !format!("{p:?}").contains("key_hash"),
        "Debug never prints key material"
    );
}
