//! A small dataset whose every figure the tests compute by hand.
//!
//! Today is 2026-03-01. Base currency USD; EUR converts at 1.10; JPY has no rate.
//!
//! | need | country (region) | area | status | visibility | budget | requested |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | n1 | KEN (Africa) | EXPORT_TRANSSHIPMENT [CONTROL_LISTS, EXPORT_LICENSING] | CIRCULATED | PUBLIC | USD 100,000.00 | 2025-01-10 |
//! | n2 | KEN (Africa) | BORDER_LAW_ENFORCEMENT [DETECTION_EQUIPMENT] | PARTIALLY_MATCHED | PUBLIC | USD 200,000.00 | 2025-06-01 |
//! | n3 | PER (Americas) | EXPORT_TRANSSHIPMENT [CONTROL_LISTS] | MATCHED | PUBLIC | EUR 80,000.00 | 2025-03-15 |
//! | n4 | JAM (Americas) | EXPORT_TRANSSHIPMENT [TRANSIT_TRANSSHIPMENT] | CIRCULATED | COMMITTEE_ONLY | none | 2025-09-20 |
//! | n5 | VNM (Asia) | ACCOUNTING_SECURITY [MATERIAL_ACCOUNTING] | AUTHENTICATED | PROVIDERS | JPY 5,000,000 | 2026-02-25 |
//! | n6 | KEN (Africa) | EXPORT_TRANSSHIPMENT [END_USER_CONTROLS] | SUBMITTED | PUBLIC | none | 2026-02-20 |
//! | n7 | PER (Americas) | BORDER_LAW_ENFORCEMENT [CUSTOMS_BORDER_TRAINING] | WITHDRAWN | PUBLIC | none | 2024-05-01 |
//! | n8 | JAM (Americas) | EXPORT_TRANSSHIPMENT [CONTROL_LISTS] | CIRCULATED | COMMITTEE_ONLY | USD 30,000.00 | 2024-12-01 |
//! | n9 | VNM (Asia) | PHYSICAL_PROTECTION [INSIDER_THREAT] | AUTHENTICATED | PUBLIC | none | 2025-08-01 |
//! | n10 | PER (Americas) | ACCOUNTING_SECURITY [RADIOACTIVE_SOURCE_SECURITY] | FULFILLED | PUBLIC | USD 40,000.00 | 2024-06-01 |
//!
//! Offers: o1 Norway USD 500,000.00 (RESOLUTION_1540, valid until 2026-04-15), o2 Norway
//! EUR 200,000.00 (NUCLEAR_RADIOLOGICAL), o3 IAEA no ceiling (NUCLEAR_RADIOLOGICAL, valid
//! until 2026-03-20), o4 Japan JPY 100,000,000 (no group), o5 Japan draft, o6 Norway
//! expired USD 100,000.00 (RESOLUTION_1540).
//!
//! Matches: m1 n2 AGREED single-donor o1 USD 50,000.00; m2 n3 IN_IMPLEMENTATION jointly
//! funded o2 EUR 50,000.00 + o3 EUR 40,000.00; m3 n10 COMPLETED single-donor o4
//! JPY 6,000,000; m4 n1 PROPOSED o1 USD 80,000.00; m5 n8 ACCEPTED_BY_REQUESTER o1
//! USD 20,000.00; m6 n1 DECLINED in kind o3 (declined contribution).

use std::collections::BTreeMap;

use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, Date, FundingMode, GeoScope, GpSubWorkingGroup, Match,
    MatchStatus, Money, Need, NeedFields, NeedId, NeedStatus, Offer, OfferFields, OfferId,
    OfferStatus, Party, PartyFields, PartyId, PartyKind, PrincipalId, Priority, PublicationConsent,
    StatusChange, SubArea, Timestamp, Visibility,
    matches::{Acceptance, Contribution, ContributionRole, Origin},
    need::Contact,
};
use clearinghouse_matching::{
    ExchangeRates, FitContext, NeedStage, Policy, Rate,
    naive::{Work, offers_for_need},
};

/// The contact e-mail of every need; it must never appear in a report.
pub const CONTACT_EMAIL: &str = "focal.point@ministry.example.org";

pub fn d(s: &str) -> Date {
    Date::parse(s).expect("date")
}

pub fn ts(s: &str) -> Timestamp {
    Timestamp(i64::from(d(s).0) * 86_400_000 + 9 * 3_600_000)
}

pub fn today() -> Date {
    d("2026-03-01")
}

pub fn usd(major: i64) -> Money {
    Money {
        currency: CurrencyCode::USD,
        minor_units: major * 100,
    }
}

pub fn eur(major: i64) -> Money {
    Money {
        currency: CurrencyCode::parse("EUR").expect("EUR"),
        minor_units: major * 100,
    }
}

pub fn jpy(major: i64) -> Money {
    Money {
        currency: CurrencyCode::parse("JPY").expect("JPY"),
        minor_units: major,
    }
}

pub fn rates() -> ExchangeRates {
    let mut to_base = BTreeMap::new();
    to_base.insert(
        CurrencyCode::parse("EUR").expect("EUR"),
        Rate { num: 110, den: 100 },
    );
    ExchangeRates {
        base: CurrencyCode::USD,
        to_base,
    }
}

fn party(id: &str, kind: PartyKind, name: &str, iso3: &str) -> Party {
    Party {
        id: PartyId::from(id),
        version: 1,
        kind,
        fields: PartyFields {
            kind: Some(kind),
            display_name: name.to_owned(),
            short_name: String::new(),
            country_code: iso3.to_owned(),
            external_id: String::new(),
            description: String::new(),
        },
        created_at: ts("2024-01-01"),
        updated_at: ts("2024-01-01"),
        created_by: PrincipalId::system(),
    }
}

pub fn parties() -> Vec<Party> {
    vec![
        party("state-KEN", PartyKind::State, "Kenya", "KEN"),
        party("state-PER", PartyKind::State, "Peru", "PER"),
        party("state-JAM", PartyKind::State, "Jamaica", "JAM"),
        party("state-VNM", PartyKind::State, "Viet Nam", "VNM"),
        party("state-NOR", PartyKind::State, "Norway", "NOR"),
        party("state-JPN", PartyKind::State, "Japan", "JPN"),
        party(
            "org-iaea",
            PartyKind::InternationalOrganization,
            "International Atomic Energy Agency",
            "AUT",
        ),
    ]
}

struct N {
    id: &'static str,
    iso3: &'static str,
    subs: &'static [SubArea],
    status: NeedStatus,
    visibility: Visibility,
    consent: PublicationConsent,
    budget: Option<Money>,
    requested: &'static str,
    priority: Priority,
}

fn need(n: N) -> Need {
    let area: Area = n.subs[0].area();
    let requested = d(n.requested);
    let mut history = vec![StatusChange::new(
        None,
        "DRAFT",
        ts(n.requested),
        &PrincipalId::system(),
        "",
    )];
    history.push(StatusChange::new(
        Some("DRAFT"),
        "SUBMITTED",
        ts(n.requested),
        &PrincipalId::system(),
        "",
    ));
    Need {
        id: NeedId::from(n.id),
        version: 3,
        requester: PartyId::for_state(n.iso3),
        fields: NeedFields {
            request_date: Some(requested),
            title: format!("Title of {}", n.id),
            description: format!("Internal description of {}", n.id),
            area: Some(area),
            sub_areas: n.subs.to_vec(),
            assistance_kinds: vec![AssistanceKind::Training, AssistanceKind::ExpertMission],
            priority: n.priority,
            estimated_budget: n.budget,
            accepted_funding_modes: vec![FundingMode::SingleDonor, FundingMode::JointlyFunded],
            preferred_funding_mode: Some(FundingMode::SingleDonor),
            country_code: n.iso3.to_owned(),
            publication_consent: n.consent,
            visibility: n.visibility,
            public_summary: format!(
                "Public summary of {}. Support for {} in {}.",
                n.id,
                area.code(),
                n.iso3
            ),
            contact: Contact {
                name: "Focal Point".to_owned(),
                email: CONTACT_EMAIL.to_owned(),
                phone: "+1 555 0100".to_owned(),
                organization: "Ministry".to_owned(),
            },
            ..NeedFields::default()
        },
        status: n.status,
        history,
        consent_window_ends: None,
        follow_up_due: requested.add_months(12),
        feedback: Vec::new(),
        created_at: ts(n.requested),
        updated_at: ts(n.requested),
        created_by: PrincipalId::system(),
        updated_by: PrincipalId::system(),
    }
}

pub fn needs() -> Vec<Need> {
    use NeedStatus as S;
    use PublicationConsent as C;
    use SubArea as A;
    use Visibility as V;
    let mut out = vec![
        need(N {
            id: "n1",
            iso3: "KEN",
            subs: &[A::ControlLists, A::ExportLicensing],
            status: S::Circulated,
            visibility: V::Public,
            consent: C::Granted,
            budget: Some(usd(100_000)),
            requested: "2025-01-10",
            priority: Priority::High,
        }),
        need(N {
            id: "n2",
            iso3: "KEN",
            subs: &[A::DetectionEquipment],
            status: S::PartiallyMatched,
            visibility: V::Public,
            consent: C::Granted,
            budget: Some(usd(200_000)),
            requested: "2025-06-01",
            priority: Priority::Medium,
        }),
        need(N {
            id: "n3",
            iso3: "PER",
            subs: &[A::ControlLists],
            status: S::Matched,
            visibility: V::Public,
            consent: C::Granted,
            budget: Some(eur(80_000)),
            requested: "2025-03-15",
            priority: Priority::Medium,
        }),
        need(N {
            id: "n4",
            iso3: "JAM",
            subs: &[A::TransitTransshipment],
            status: S::Circulated,
            visibility: V::CommitteeOnly,
            consent: C::Withheld,
            budget: None,
            requested: "2025-09-20",
            priority: Priority::Medium,
        }),
        need(N {
            id: "n5",
            iso3: "VNM",
            subs: &[A::MaterialAccounting],
            status: S::Authenticated,
            visibility: V::Providers,
            consent: C::Pending,
            budget: Some(jpy(5_000_000)),
            requested: "2026-02-25",
            priority: Priority::Low,
        }),
        need(N {
            id: "n6",
            iso3: "KEN",
            subs: &[A::EndUserControls],
            status: S::Submitted,
            visibility: V::Public,
            consent: C::Pending,
            budget: None,
            requested: "2026-02-20",
            priority: Priority::Medium,
        }),
        need(N {
            id: "n7",
            iso3: "PER",
            subs: &[A::CustomsBorderTraining],
            status: S::Withdrawn,
            visibility: V::Public,
            consent: C::Granted,
            budget: None,
            requested: "2024-05-01",
            priority: Priority::Low,
        }),
        need(N {
            id: "n8",
            iso3: "JAM",
            subs: &[A::ControlLists],
            status: S::Circulated,
            visibility: V::CommitteeOnly,
            consent: C::Withheld,
            budget: Some(usd(30_000)),
            requested: "2024-12-01",
            priority: Priority::High,
        }),
        need(N {
            id: "n9",
            iso3: "VNM",
            subs: &[A::InsiderThreat],
            status: S::Authenticated,
            visibility: V::Public,
            consent: C::Granted,
            budget: None,
            requested: "2025-08-01",
            priority: Priority::Medium,
        }),
        need(N {
            id: "n10",
            iso3: "PER",
            subs: &[A::RadioactiveSourceSecurity],
            status: S::Fulfilled,
            visibility: V::Public,
            consent: C::DeemedGranted,
            budget: Some(usd(40_000)),
            requested: "2024-06-01",
            priority: Priority::Low,
        }),
    ];
    // n6 was submitted on 2026-02-22; n5 and n9 were authenticated with their windows.
    out[5].history[1].at = ts("2026-02-22");
    out[4].consent_window_ends = Some(d("2026-03-04"));
    out[8].consent_window_ends = Some(d("2026-02-20"));
    out
}

fn offer(
    id: &str,
    provider: &str,
    status: OfferStatus,
    ceiling: Option<Money>,
    group: Option<GpSubWorkingGroup>,
    valid_until: &str,
    areas: &[Area],
) -> Offer {
    Offer {
        id: OfferId::from(id),
        version: 2,
        provider: PartyId::from(provider),
        fields: OfferFields {
            programme_name: format!("Programme {id}"),
            description: format!("Description of {id}"),
            areas: areas.to_vec(),
            assistance_kinds: vec![AssistanceKind::Training],
            funding_modes: vec![FundingMode::SingleDonor, FundingMode::JointlyFunded],
            budget_ceiling: ceiling,
            gp_sub_working_group: group,
            scope: GeoScope {
                global: true,
                ..GeoScope::default()
            },
            valid_from: Some(d("2025-01-01")),
            valid_until: Some(d(valid_until)),
            contact: Contact {
                name: "Programme Officer".to_owned(),
                email: "programme.officer@donor.example.org".to_owned(),
                phone: String::new(),
                organization: String::new(),
            },
            ..OfferFields::default()
        },
        committed_minor_units: 0,
        status,
        history: Vec::new(),
        created_at: ts("2025-01-01"),
        updated_at: ts("2025-01-01"),
        created_by: PrincipalId::system(),
        updated_by: PrincipalId::system(),
    }
}

pub fn offers() -> Vec<Offer> {
    use GpSubWorkingGroup as G;
    use OfferStatus as O;
    let mut out = vec![
        offer(
            "o1",
            "state-NOR",
            O::PartiallyCommitted,
            Some(usd(500_000)),
            Some(G::Resolution1540),
            "2026-04-15",
            &[Area::ExportTransshipment, Area::BorderLawEnforcement],
        ),
        offer(
            "o2",
            "state-NOR",
            O::PartiallyCommitted,
            Some(eur(200_000)),
            Some(G::NuclearRadiological),
            "2027-01-01",
            &[Area::ExportTransshipment],
        ),
        offer(
            "o3",
            "org-iaea",
            O::Active,
            None,
            Some(G::NuclearRadiological),
            "2026-03-20",
            &[Area::AccountingSecurity, Area::ExportTransshipment],
        ),
        offer(
            "o4",
            "state-JPN",
            O::PartiallyCommitted,
            Some(jpy(100_000_000)),
            None,
            "2026-12-31",
            &[Area::AccountingSecurity],
        ),
        offer(
            "o5",
            "state-JPN",
            O::Draft,
            Some(usd(10_000)),
            None,
            "2026-03-10",
            &[Area::CrossCutting],
        ),
        offer(
            "o6",
            "state-NOR",
            O::Expired,
            Some(usd(100_000)),
            Some(G::Resolution1540),
            "2026-01-31",
            &[Area::LegislationEnforcement],
        ),
    ];
    out[0].committed_minor_units = usd(50_000).minor_units;
    out[1].committed_minor_units = eur(50_000).minor_units;
    out[3].committed_minor_units = 6_000_000;
    out
}

fn contribution(
    offer: &str,
    provider: &str,
    amount: Option<Money>,
    acceptance: Acceptance,
) -> Contribution {
    Contribution {
        offer: OfferId::from(offer),
        provider: PartyId::from(provider),
        role: ContributionRole::Both,
        amount,
        in_kind: if amount.is_none() {
            "Two expert missions".to_owned()
        } else {
            String::new()
        },
        acceptance,
        decline_reason: None,
    }
}

struct M {
    id: &'static str,
    need: &'static str,
    requester: &'static str,
    mode: FundingMode,
    status: MatchStatus,
    contributions: Vec<Contribution>,
    requester_acceptance: Acceptance,
    steps: &'static [(&'static str, &'static str)],
}

fn a_match(m: M) -> Match {
    let history: Vec<StatusChange> = m
        .steps
        .iter()
        .map(|(to, at)| StatusChange::new(None, to, ts(at), &PrincipalId::system(), ""))
        .collect();
    let created = history.first().map_or(ts("2025-01-01"), |h| h.at);
    let updated = history.last().map_or(created, |h| h.at);
    Match {
        id: m.id.to_owned(),
        version: 1,
        need: NeedId::from(m.need),
        requester: PartyId::from(m.requester),
        funding_mode: m.mode,
        contributions: m.contributions,
        requester_acceptance: m.requester_acceptance,
        status: m.status,
        history,
        score_milli: 800,
        explanation: Vec::new(),
        origin: Origin::Broker,
        end_reason: None,
        created_at: created,
        updated_at: updated,
        created_by: PrincipalId::system(),
    }
}

pub fn matches() -> Vec<Match> {
    use Acceptance::{Accepted, Declined, Pending};
    use MatchStatus as S;
    vec![
        a_match(M {
            id: "m1",
            need: "n2",
            requester: "state-KEN",
            mode: FundingMode::SingleDonor,
            status: S::Agreed,
            contributions: vec![contribution("o1", "state-NOR", Some(usd(50_000)), Accepted)],
            requester_acceptance: Accepted,
            steps: &[("PROPOSED", "2025-09-01"), ("AGREED", "2025-10-01")],
        }),
        a_match(M {
            id: "m2",
            need: "n3",
            requester: "state-PER",
            mode: FundingMode::JointlyFunded,
            status: S::InImplementation,
            contributions: vec![
                contribution("o2", "state-NOR", Some(eur(50_000)), Accepted),
                contribution("o3", "org-iaea", Some(eur(40_000)), Accepted),
            ],
            requester_acceptance: Accepted,
            steps: &[
                ("PROPOSED", "2025-05-01"),
                ("AGREED", "2025-06-15"),
                ("IN_IMPLEMENTATION", "2025-07-01"),
            ],
        }),
        a_match(M {
            id: "m3",
            need: "n10",
            requester: "state-PER",
            mode: FundingMode::SingleDonor,
            status: S::Completed,
            contributions: vec![contribution(
                "o4",
                "state-JPN",
                Some(jpy(6_000_000)),
                Accepted,
            )],
            requester_acceptance: Accepted,
            steps: &[
                ("PROPOSED", "2024-08-01"),
                ("AGREED", "2024-09-01"),
                ("IN_IMPLEMENTATION", "2024-10-01"),
                ("COMPLETED", "2025-06-30"),
            ],
        }),
        a_match(M {
            id: "m4",
            need: "n1",
            requester: "state-KEN",
            mode: FundingMode::SingleDonor,
            status: S::Proposed,
            contributions: vec![contribution("o1", "state-NOR", Some(usd(80_000)), Pending)],
            requester_acceptance: Pending,
            steps: &[("PROPOSED", "2026-02-10")],
        }),
        a_match(M {
            id: "m5",
            need: "n8",
            requester: "state-JAM",
            mode: FundingMode::SingleDonor,
            status: S::AcceptedByRequester,
            contributions: vec![contribution("o1", "state-NOR", Some(usd(20_000)), Pending)],
            requester_acceptance: Accepted,
            steps: &[
                ("PROPOSED", "2026-01-20"),
                ("ACCEPTED_BY_REQUESTER", "2026-02-01"),
            ],
        }),
        a_match(M {
            id: "m6",
            need: "n1",
            requester: "state-KEN",
            mode: FundingMode::InKind,
            status: S::Declined,
            contributions: vec![contribution("o3", "org-iaea", None, Declined)],
            requester_acceptance: Pending,
            steps: &[("PROPOSED", "2025-04-01"), ("DECLINED", "2025-04-20")],
        }),
    ]
}

/// Everything the reports read, owned, so tests can borrow it into a `ReportInput`.
pub struct Data {
    pub needs: Vec<Need>,
    pub offers: Vec<Offer>,
    pub matches: Vec<Match>,
    pub parties: Vec<Party>,
    pub rates: ExchangeRates,
}

pub fn data() -> Data {
    Data {
        needs: needs(),
        offers: offers(),
        matches: matches(),
        parties: parties(),
        rates: rates(),
    }
}

impl Data {
    pub fn input<'a>(
        &'a self,
        viewer: &'a clearinghouse_reports::Viewer,
        filter: &'a clearinghouse_reports::ReportFilter,
    ) -> clearinghouse_reports::ReportInput<'a> {
        clearinghouse_reports::ReportInput {
            needs: &self.needs,
            offers: &self.offers,
            matches: &self.matches,
            parties: &self.parties,
            today: today(),
            rates: &self.rates,
            viewer,
            filter,
        }
    }
}

/// The matching engine's best candidate for a need among the fixture's offers (the
/// reference all-pairs ranking with the default policy), as the worklist asks for it.
pub fn best_candidate(data: &Data, n: &Need) -> Option<(OfferId, u32)> {
    let policy = Policy::default();
    let ctx = FitContext {
        policy: &policy,
        rates: &data.rates,
        today: today(),
        stage: NeedStage::AuthenticatedToo,
    };
    let mut work = Work::default();
    offers_for_need(n, &data.offers, &ctx, 1, &mut work)
        .into_iter()
        .next()
        .map(|r| (OfferId(r.id), r.score_milli))
}
