//! Needs and offers written in their stored formats straight from the domain record's
//! fields, borrowed: no string is copied and no list of codes is built on the way.
//!
//! The bytes are those of [`crate::records`]' `NeedRecordV1`, `NeedRecordV2` and
//! `OfferRecordV1` (postcard writes a `&str` as it writes a `String`, and a slice or an
//! exact-size iterator as it writes a `Vec`). The golden-byte tests and the round trips
//! through those records' decoders hold the two to the same format, field for field.

use serde::{Serialize, Serializer};

use clearinghouse_domain::{
    self as d, Money, Need, NeedFeedback, Offer, StatusChange, need::Contact,
};

use crate::{
    error::Error,
    records::{self, V1, V2},
};

/// A list of enum values, written as the list of their codes.
struct Codes<'a, T: Copy>(&'a [T], fn(T) -> &'static str);

impl<T: Copy> Serialize for Codes<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|x| (self.1)(*x)))
    }
}

/// A list of records, each written through a borrowed mirror.
struct Each<'a, T, M: Serialize>(&'a [T], fn(&'a T) -> M);

impl<'a, T, M: Serialize> Serialize for Each<'a, T, M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

/// `MoneyV1`.
#[derive(Serialize)]
struct MoneyOut<'a> {
    currency: &'a str,
    minor_units: i64,
}

fn money(m: &Option<Money>) -> Option<MoneyOut<'_>> {
    m.as_ref().map(|m| MoneyOut {
        currency: m.currency.as_str(),
        minor_units: m.minor_units,
    })
}

/// `ContactV1`.
#[derive(Serialize)]
struct ContactOut<'a> {
    name: &'a str,
    email: &'a str,
    phone: &'a str,
    organization: &'a str,
}

fn contact(c: &Contact) -> ContactOut<'_> {
    ContactOut {
        name: &c.name,
        email: &c.email,
        phone: &c.phone,
        organization: &c.organization,
    }
}

/// `StatusChangeV1`.
#[derive(Serialize)]
struct StatusChangeOut<'a> {
    from: Option<&'a str>,
    to: &'a str,
    at: i64,
    actor: &'a str,
    reason: &'a str,
}

fn history(h: &[StatusChange]) -> Each<'_, StatusChange, StatusChangeOut<'_>> {
    Each(h, |c| StatusChangeOut {
        from: c.from.as_deref(),
        to: &c.to,
        at: c.at.0,
        actor: &c.actor.0,
        reason: &c.reason,
    })
}

/// `FeedbackV1`.
#[derive(Serialize)]
struct FeedbackOut<'a> {
    text: &'a str,
    at: i64,
    author: &'a str,
}

/// `NeedRecordV1`, field for field.
#[derive(Serialize)]
struct NeedOutV1<'a> {
    id: &'a str,
    version: u64,
    requester: &'a str,
    external_id: &'a str,
    channel: &'static str,
    note_verbale_reference: &'a str,
    request_date: Option<i32>,
    title: &'a str,
    description: &'a str,
    area: Option<&'static str>,
    sub_areas: Codes<'a, d::SubArea>,
    weapon_domains: Codes<'a, d::WeaponDomain>,
    assistance_kinds: Codes<'a, d::AssistanceKind>,
    priority: &'static str,
    wanted_from: Option<i32>,
    needed_by: Option<i32>,
    estimated_budget: Option<MoneyOut<'a>>,
    accepted_funding_modes: Codes<'a, d::FundingMode>,
    preferred_funding_mode: Option<&'static str>,
    languages: &'a [String],
    national_action_plan_ref: &'a str,
    iaea_plan_ref: &'a str,
    assistance_received: &'a str,
    country_code: &'a str,
    beneficiary_countries: &'a [String],
    publication_consent: &'static str,
    visibility: &'static str,
    public_summary: &'a str,
    contact: ContactOut<'a>,
    status: &'static str,
    history: Each<'a, StatusChange, StatusChangeOut<'a>>,
    consent_window_ends: Option<i32>,
    follow_up_due: i32,
    feedback: Each<'a, NeedFeedback, FeedbackOut<'a>>,
    created_at: i64,
    updated_at: i64,
    created_by: &'a str,
    updated_by: &'a str,
}

impl<'a> NeedOutV1<'a> {
    fn of(n: &'a Need) -> Self {
        let f = &n.fields;
        NeedOutV1 {
            id: &n.id.0,
            version: n.version,
            requester: &n.requester.0,
            external_id: &f.external_id,
            channel: f.channel.code(),
            note_verbale_reference: &f.note_verbale_reference,
            request_date: f.request_date.map(|d| d.0),
            title: &f.title,
            description: &f.description,
            area: f.area.map(|a| a.code()),
            sub_areas: Codes(&f.sub_areas, d::SubArea::code),
            weapon_domains: Codes(&f.weapon_domains, d::WeaponDomain::code),
            assistance_kinds: Codes(&f.assistance_kinds, d::AssistanceKind::code),
            priority: f.priority.code(),
            wanted_from: f.wanted_from.map(|d| d.0),
            needed_by: f.needed_by.map(|d| d.0),
            estimated_budget: money(&f.estimated_budget),
            accepted_funding_modes: Codes(&f.accepted_funding_modes, d::FundingMode::code),
            preferred_funding_mode: f.preferred_funding_mode.map(|m| m.code()),
            languages: &f.languages,
            national_action_plan_ref: &f.national_action_plan_ref,
            iaea_plan_ref: &f.iaea_plan_ref,
            assistance_received: &f.assistance_received,
            country_code: &f.country_code,
            beneficiary_countries: &f.beneficiary_countries,
            publication_consent: f.publication_consent.code(),
            visibility: f.visibility.code(),
            public_summary: &f.public_summary,
            contact: contact(&f.contact),
            status: n.status.code(),
            history: history(&n.history),
            consent_window_ends: n.consent_window_ends.map(|d| d.0),
            follow_up_due: n.follow_up_due.0,
            feedback: Each(&n.feedback, |x| FeedbackOut {
                text: &x.text,
                at: x.at.0,
                author: &x.author.0,
            }),
            created_at: n.created_at.0,
            updated_at: n.updated_at.0,
            created_by: &n.created_by.0,
            updated_by: &n.updated_by.0,
        }
    }
}

/// `NeedRecordV2`: version 1 followed by the two lists of requirements.
#[derive(Serialize)]
struct NeedOutV2<'a> {
    base: NeedOutV1<'a>,
    required_assistance_kinds: Codes<'a, d::AssistanceKind>,
    required_languages: &'a [String],
}

/// `OfferRecordV1`'s geographic scope.
#[derive(Serialize)]
struct GeoScopeOut<'a> {
    global: bool,
    regions: &'a [String],
    subregions: &'a [String],
    countries: &'a [String],
    excluded_countries: &'a [String],
}

/// `OfferRecordV1`, field for field.
#[derive(Serialize)]
struct OfferOutV1<'a> {
    id: &'a str,
    version: u64,
    provider: &'a str,
    external_id: &'a str,
    implementing_parties: Each<'a, d::PartyId, &'a str>,
    programme_name: &'a str,
    description: &'a str,
    contact: ContactOut<'a>,
    areas: Codes<'a, d::Area>,
    sub_areas: Codes<'a, d::SubArea>,
    weapon_domains: Codes<'a, d::WeaponDomain>,
    assistance_kinds: Codes<'a, d::AssistanceKind>,
    scope: GeoScopeOut<'a>,
    funding_modes: Codes<'a, d::FundingMode>,
    languages: &'a [String],
    eligibility_notes: &'a str,
    budget_ceiling: Option<MoneyOut<'a>>,
    max_contribution: Option<MoneyOut<'a>>,
    min_contribution: Option<MoneyOut<'a>>,
    max_engagements: u32,
    budget_status: &'static str,
    valid_from: Option<i32>,
    valid_until: Option<i32>,
    lead_time_days: u32,
    gp_sub_working_group: Option<&'static str>,
    committed_minor_units: i64,
    status: &'static str,
    history: Each<'a, StatusChange, StatusChangeOut<'a>>,
    created_at: i64,
    updated_at: i64,
    created_by: &'a str,
    updated_by: &'a str,
}

/// A need in its current stored format (version 2).
pub fn need(n: &Need) -> Result<Vec<u8>, Error> {
    records::encode(
        V2,
        &NeedOutV2 {
            base: NeedOutV1::of(n),
            required_assistance_kinds: Codes(
                &n.fields.required_assistance_kinds,
                d::AssistanceKind::code,
            ),
            required_languages: &n.fields.required_languages,
        },
    )
}

/// A need in the first stored format, without its requirements: what a store written
/// before version 2 holds. For tests of reading such stores.
pub fn need_v1(n: &Need) -> Result<Vec<u8>, Error> {
    records::encode(V1, &NeedOutV1::of(n))
}

/// An offer in its stored format (version 1).
pub fn offer(o: &Offer) -> Result<Vec<u8>, Error> {
    let f = &o.fields;
    records::encode(
        V1,
        &OfferOutV1 {
            id: &o.id.0,
            version: o.version,
            provider: &o.provider.0,
            external_id: &f.external_id,
            implementing_parties: Each(&f.implementing_parties, |p| p.0.as_str()),
            programme_name: &f.programme_name,
            description: &f.description,
            contact: contact(&f.contact),
            areas: Codes(&f.areas, d::Area::code),
            sub_areas: Codes(&f.sub_areas, d::SubArea::code),
            weapon_domains: Codes(&f.weapon_domains, d::WeaponDomain::code),
            assistance_kinds: Codes(&f.assistance_kinds, d::AssistanceKind::code),
            scope: GeoScopeOut {
                global: f.scope.global,
                regions: &f.scope.regions,
                subregions: &f.scope.subregions,
                countries: &f.scope.countries,
                excluded_countries: &f.scope.excluded_countries,
            },
            funding_modes: Codes(&f.funding_modes, d::FundingMode::code),
            languages: &f.languages,
            eligibility_notes: &f.eligibility_notes,
            budget_ceiling: money(&f.budget_ceiling),
            max_contribution: money(&f.max_contribution),
            min_contribution: money(&f.min_contribution),
            max_engagements: f.max_engagements,
            budget_status: f.budget_status.code(),
            valid_from: f.valid_from.map(|d| d.0),
            valid_until: f.valid_until.map(|d| d.0),
            lead_time_days: f.lead_time_days,
            gp_sub_working_group: f.gp_sub_working_group.map(|g| g.code()),
            committed_minor_units: o.committed_minor_units,
            status: o.status.code(),
            history: history(&o.history),
            created_at: o.created_at.0,
            updated_at: o.updated_at.0,
            created_by: &o.created_by.0,
            updated_by: &o.updated_by.0,
        },
    )
}
