//! Small builders of valid domain values for the storage tests (each test binary uses a
//! different subset of them).
#![allow(dead_code)]

use clearinghouse_domain::{
    self as d, Area, AssistanceKind, Date, FundingMode, GeoScope, Money, Need, NeedFields, Offer,
    OfferFields, Party, PartyFields, PartyKind, PrincipalId, SubArea, Timestamp, need::NeedContext,
    offer::OfferContext,
};

pub const T0: Timestamp = Timestamp(1_795_000_000_000);

pub fn actor() -> PrincipalId {
    PrincipalId("p-test".into())
}

pub fn state(iso3: &str) -> Party {
    Party::new(
        d::PartyId("ignored".into()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: format!("State {iso3}"),
            short_name: iso3.into(),
            country_code: iso3.into(),
            external_id: String::new(),
            description: String::new(),
        },
        T0,
        actor(),
    )
    .expect("valid party")
}

pub fn need_fields(title: &str) -> NeedFields {
    NeedFields {
        title: title.into(),
        description: "Training of customs officers on control lists".into(),
        area: Some(Area::ExportTransshipment),
        sub_areas: vec![SubArea::ControlLists, SubArea::ExportLicensing],
        assistance_kinds: vec![AssistanceKind::Training],
        accepted_funding_modes: vec![FundingMode::SingleDonor, FundingMode::JointlyFunded],
        estimated_budget: Some(Money {
            currency: d::CurrencyCode::parse("USD").expect("usd"),
            minor_units: 5_000_000,
        }),
        wanted_from: Date::parse("2027-01-01").ok(),
        needed_by: Date::parse("2027-12-31").ok(),
        languages: vec!["en".into()],
        ..NeedFields::default()
    }
}

pub fn need(id: &str, requester: &Party, title: &str) -> Need {
    Need::new(
        NeedContext {
            id: d::NeedId(id.into()),
            requester,
            now: T0,
            actor: actor(),
        },
        need_fields(title),
    )
    .expect("valid need")
}

pub fn offer(id: &str, provider: &str) -> Offer {
    Offer::new(
        OfferContext {
            id: d::OfferId(id.into()),
            provider: d::PartyId(provider.into()),
            now: T0,
            actor: actor(),
        },
        OfferFields {
            programme_name: "Export control outreach".into(),
            description: "Workshops on licensing".into(),
            areas: vec![Area::ExportTransshipment],
            assistance_kinds: vec![AssistanceKind::Training],
            funding_modes: vec![FundingMode::SingleDonor],
            scope: GeoScope {
                regions: vec!["Africa".into()],
                countries: vec!["PER".into()],
                ..GeoScope::default()
            },
            ..OfferFields::default()
        },
    )
    .expect("valid offer")
}
