//! Needs and offers decoded without their free text, contacts, status history, feedback,
//! creator and last changer: what an index rebuilt from every record at start needs,
//! at a fraction of the cost of decoding whole records.
//!
//! The stored bytes are the formats of [`crate::records`] (the same version byte and
//! postcard body); these mirrors read them with borrowed strings, so a skipped field is
//! never copied and a code is parsed without an allocation. Every field is read in
//! order, so a mirror that drifted from its record would fail the tests that decode the
//! golden bytes both ways.

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{SeqAccess, Visitor},
};

use clearinghouse_domain::{
    self as d, Date, GeoScope, Money, Need, NeedFields, NeedStatus, Offer, OfferFields,
    OfferStatus, Timestamp,
};

use crate::{
    error::Error,
    records::{V1, V2},
};

/// A sequence read element by element and dropped: nothing is kept or allocated for it.
struct Skipped<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Skipped<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Each<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Each<T> {
            type Value = Skipped<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Skipped(PhantomData))
            }
        }
        de.deserialize_seq(Each(PhantomData))
    }
}

/// `records::MoneyV1`, borrowed.
#[derive(Deserialize)]
struct MoneyRef<'a> {
    currency: &'a str,
    minor_units: i64,
}

fn money(m: Option<MoneyRef<'_>>) -> Result<Option<Money>, Error> {
    m.map(|m| {
        Ok(Money {
            currency: d::CurrencyCode::parse(m.currency)
                .ok_or_else(|| corrupt("money", m.currency))?,
            minor_units: m.minor_units,
        })
    })
    .transpose()
}

/// `records::StatusChangeV1`, read and dropped.
#[derive(Deserialize)]
#[allow(dead_code)]
struct StatusChangeRef<'a> {
    from: Option<&'a str>,
    to: &'a str,
    at: i64,
    actor: &'a str,
    reason: &'a str,
}

/// `records::ContactV1`, read and dropped.
#[derive(Deserialize)]
#[allow(dead_code)]
struct ContactRef<'a> {
    name: &'a str,
    email: &'a str,
    phone: &'a str,
    organization: &'a str,
}

/// `records::FeedbackV1`, read and dropped.
#[derive(Deserialize)]
#[allow(dead_code)]
struct FeedbackRef<'a> {
    text: &'a str,
    at: i64,
    author: &'a str,
}

/// `records::NeedRecordV1`, field for field, borrowed.
#[derive(Deserialize)]
#[allow(dead_code)]
struct NeedRefV1<'a> {
    id: &'a str,
    version: u64,
    requester: &'a str,
    external_id: &'a str,
    channel: &'a str,
    note_verbale_reference: &'a str,
    request_date: Option<i32>,
    title: &'a str,
    description: &'a str,
    area: Option<&'a str>,
    #[serde(borrow)]
    sub_areas: Vec<&'a str>,
    #[serde(borrow)]
    weapon_domains: Vec<&'a str>,
    #[serde(borrow)]
    assistance_kinds: Vec<&'a str>,
    priority: &'a str,
    wanted_from: Option<i32>,
    needed_by: Option<i32>,
    #[serde(borrow)]
    estimated_budget: Option<MoneyRef<'a>>,
    #[serde(borrow)]
    accepted_funding_modes: Vec<&'a str>,
    preferred_funding_mode: Option<&'a str>,
    #[serde(borrow)]
    languages: Vec<&'a str>,
    national_action_plan_ref: &'a str,
    iaea_plan_ref: &'a str,
    assistance_received: &'a str,
    country_code: &'a str,
    #[serde(borrow)]
    beneficiary_countries: Vec<&'a str>,
    publication_consent: &'a str,
    visibility: &'a str,
    public_summary: &'a str,
    #[serde(borrow)]
    contact: ContactRef<'a>,
    status: &'a str,
    history: Skipped<StatusChangeRef<'a>>,
    consent_window_ends: Option<i32>,
    follow_up_due: i32,
    feedback: Skipped<FeedbackRef<'a>>,
    created_at: i64,
    updated_at: i64,
    created_by: &'a str,
    updated_by: &'a str,
}

/// `records::NeedRecordV2`, borrowed.
#[derive(Deserialize)]
struct NeedRefV2<'a> {
    #[serde(borrow)]
    base: NeedRefV1<'a>,
    #[serde(borrow)]
    required_assistance_kinds: Vec<&'a str>,
    #[serde(borrow)]
    required_languages: Vec<&'a str>,
}

fn corrupt(what: &str, detail: impl fmt::Display) -> Error {
    Error::Corrupt(format!("{what}: {detail}"))
}

fn code<T>(what: &str, s: &str, f: fn(&str) -> Option<T>) -> Result<T, Error> {
    f(s).ok_or_else(|| corrupt(what, format!("unknown code {s}")))
}

fn codes<T>(what: &str, v: &[&str], f: fn(&str) -> Option<T>) -> Result<Vec<T>, Error> {
    v.iter().map(|s| code(what, s, f)).collect()
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn body<'a, T: Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> Result<T, Error> {
    let body = bytes.get(1..).ok_or_else(|| corrupt(what, "empty value"))?;
    postcard::from_bytes(body).map_err(|e| corrupt(what, e))
}

fn need_from(r: NeedRefV1<'_>) -> Result<Need, Error> {
    let fields = NeedFields {
        channel: code("need.channel", r.channel, d::SubmissionChannel::from_code)?,
        request_date: r.request_date.map(Date),
        area: r
            .area
            .map(|a| code("need.area", a, d::Area::from_code))
            .transpose()?,
        sub_areas: codes("need.sub_areas", &r.sub_areas, d::SubArea::from_code)?,
        weapon_domains: codes(
            "need.weapon_domains",
            &r.weapon_domains,
            d::WeaponDomain::from_code,
        )?,
        assistance_kinds: codes(
            "need.assistance_kinds",
            &r.assistance_kinds,
            d::AssistanceKind::from_code,
        )?,
        priority: code("need.priority", r.priority, d::Priority::from_code)?,
        wanted_from: r.wanted_from.map(Date),
        needed_by: r.needed_by.map(Date),
        estimated_budget: money(r.estimated_budget)?,
        accepted_funding_modes: codes(
            "need.accepted_funding_modes",
            &r.accepted_funding_modes,
            d::FundingMode::from_code,
        )?,
        preferred_funding_mode: r
            .preferred_funding_mode
            .map(|m| code("need.preferred_funding_mode", m, d::FundingMode::from_code))
            .transpose()?,
        languages: owned(&r.languages),
        country_code: r.country_code.to_owned(),
        beneficiary_countries: owned(&r.beneficiary_countries),
        publication_consent: code(
            "need.publication_consent",
            r.publication_consent,
            d::PublicationConsent::from_code,
        )?,
        visibility: code("need.visibility", r.visibility, d::Visibility::from_code)?,
        ..NeedFields::default()
    };
    Ok(Need {
        id: d::NeedId(r.id.to_owned()),
        version: r.version,
        requester: d::PartyId(r.requester.to_owned()),
        fields,
        status: code("need.status", r.status, NeedStatus::from_code)?,
        history: Vec::new(),
        consent_window_ends: r.consent_window_ends.map(Date),
        follow_up_due: Date(r.follow_up_due),
        feedback: Vec::new(),
        created_at: Timestamp(r.created_at),
        updated_at: Timestamp(r.updated_at),
        created_by: d::PrincipalId(String::new()),
        updated_by: d::PrincipalId(String::new()),
    })
}

/// A stored need (either version) without its free text (external id, note verbale
/// reference, title, description, plan references, assistance received, public
/// summary), contact, history, feedback, creator and last changer: those are left empty,
/// every other field is as [`crate::records::decode_need`] gives it.
pub fn decode_need(bytes: &[u8]) -> Result<Need, Error> {
    match bytes.first() {
        Some(&V2) => {
            let r: NeedRefV2<'_> = body("need", bytes)?;
            let mut n = need_from(r.base)?;
            n.fields.required_assistance_kinds = codes(
                "need.required_assistance_kinds",
                &r.required_assistance_kinds,
                d::AssistanceKind::from_code,
            )?;
            n.fields.required_languages = owned(&r.required_languages);
            Ok(n)
        }
        Some(&V1) => need_from(body::<NeedRefV1<'_>>("need", bytes)?),
        Some(v) => Err(corrupt("need", format!("unknown record version {v}"))),
        None => Err(corrupt("need", "empty value")),
    }
}

/// `records::GeoScopeV1`, borrowed.
#[derive(Deserialize)]
struct GeoScopeRef<'a> {
    global: bool,
    #[serde(borrow)]
    regions: Vec<&'a str>,
    #[serde(borrow)]
    subregions: Vec<&'a str>,
    #[serde(borrow)]
    countries: Vec<&'a str>,
    #[serde(borrow)]
    excluded_countries: Vec<&'a str>,
}

/// `records::OfferRecordV1`, field for field, borrowed.
#[derive(Deserialize)]
#[allow(dead_code)]
struct OfferRefV1<'a> {
    id: &'a str,
    version: u64,
    provider: &'a str,
    external_id: &'a str,
    implementing_parties: Skipped<&'a str>,
    programme_name: &'a str,
    description: &'a str,
    #[serde(borrow)]
    contact: ContactRef<'a>,
    #[serde(borrow)]
    areas: Vec<&'a str>,
    #[serde(borrow)]
    sub_areas: Vec<&'a str>,
    #[serde(borrow)]
    weapon_domains: Vec<&'a str>,
    #[serde(borrow)]
    assistance_kinds: Vec<&'a str>,
    #[serde(borrow)]
    scope: GeoScopeRef<'a>,
    #[serde(borrow)]
    funding_modes: Vec<&'a str>,
    #[serde(borrow)]
    languages: Vec<&'a str>,
    eligibility_notes: &'a str,
    #[serde(borrow)]
    budget_ceiling: Option<MoneyRef<'a>>,
    #[serde(borrow)]
    max_contribution: Option<MoneyRef<'a>>,
    #[serde(borrow)]
    min_contribution: Option<MoneyRef<'a>>,
    max_engagements: u32,
    budget_status: &'a str,
    valid_from: Option<i32>,
    valid_until: Option<i32>,
    lead_time_days: u32,
    gp_sub_working_group: Option<&'a str>,
    committed_minor_units: i64,
    status: &'a str,
    history: Skipped<StatusChangeRef<'a>>,
    created_at: i64,
    updated_at: i64,
    created_by: &'a str,
    updated_by: &'a str,
}

/// A stored offer without its free text (external id, programme name, description,
/// eligibility notes), implementing parties, contact, history, creator and last changer:
/// those are left empty, every other field is as [`Offer`]'s decoding gives it.
pub fn decode_offer(bytes: &[u8]) -> Result<Offer, Error> {
    match bytes.first() {
        Some(&V1) => {}
        Some(v) => return Err(corrupt("offer", format!("unknown record version {v}"))),
        None => return Err(corrupt("offer", "empty value")),
    }
    let r: OfferRefV1<'_> = body("offer", bytes)?;
    let fields = OfferFields {
        areas: codes("offer.areas", &r.areas, d::Area::from_code)?,
        sub_areas: codes("offer.sub_areas", &r.sub_areas, d::SubArea::from_code)?,
        weapon_domains: codes(
            "offer.weapon_domains",
            &r.weapon_domains,
            d::WeaponDomain::from_code,
        )?,
        assistance_kinds: codes(
            "offer.assistance_kinds",
            &r.assistance_kinds,
            d::AssistanceKind::from_code,
        )?,
        scope: GeoScope {
            global: r.scope.global,
            regions: owned(&r.scope.regions),
            subregions: owned(&r.scope.subregions),
            countries: owned(&r.scope.countries),
            excluded_countries: owned(&r.scope.excluded_countries),
        },
        funding_modes: codes(
            "offer.funding_modes",
            &r.funding_modes,
            d::FundingMode::from_code,
        )?,
        languages: owned(&r.languages),
        budget_ceiling: money(r.budget_ceiling)?,
        max_contribution: money(r.max_contribution)?,
        min_contribution: money(r.min_contribution)?,
        max_engagements: r.max_engagements,
        budget_status: code(
            "offer.budget_status",
            r.budget_status,
            d::BudgetStatus::from_code,
        )?,
        valid_from: r.valid_from.map(Date),
        valid_until: r.valid_until.map(Date),
        lead_time_days: r.lead_time_days,
        gp_sub_working_group: r
            .gp_sub_working_group
            .map(|g| {
                code(
                    "offer.gp_sub_working_group",
                    g,
                    d::GpSubWorkingGroup::from_code,
                )
            })
            .transpose()?,
        ..OfferFields::default()
    };
    Ok(Offer {
        id: d::OfferId(r.id.to_owned()),
        version: r.version,
        provider: d::PartyId(r.provider.to_owned()),
        fields,
        committed_minor_units: r.committed_minor_units,
        status: code("offer.status", r.status, OfferStatus::from_code)?,
        history: Vec::new(),
        created_at: Timestamp(r.created_at),
        updated_at: Timestamp(r.updated_at),
        created_by: d::PrincipalId(String::new()),
        updated_by: d::PrincipalId(String::new()),
    })
}

/// A kind whose stored records can be decoded without their text (see the module).
pub trait Summarized: crate::Resource {
    /// Decodes a stored value as the record with its text, contacts, history, feedback,
    /// creator and last changer left empty.
    fn decode_summary(bytes: &[u8]) -> Result<Self, Error>;
}

impl Summarized for Need {
    fn decode_summary(bytes: &[u8]) -> Result<Self, Error> {
        decode_need(bytes)
    }
}

impl Summarized for Offer {
    fn decode_summary(bytes: &[u8]) -> Result<Self, Error> {
        decode_offer(bytes)
    }
}
