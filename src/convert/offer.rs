//! `pb::Offer` ↔ [`Offer`].

use clearinghouse_domain::{GeoScope, Offer, OfferFields, PartyId, Violations};

use super::{
    contact_in, contact_out, date_in, date_out, enums, etag_out, history_out, limits, money_in,
    money_out, ts_out,
};
use crate::pb;

/// The writable fields of an offer from the wire.
pub fn fields_in(v: &mut Violations, o: &pb::Offer) -> OfferFields {
    let defaults = OfferFields::default();
    let scope = o.scope.clone().unwrap_or_default();
    let list = |v: &mut Violations, field: &str, items: &[String], max: usize| {
        limits::capped(v, field, items, max).to_vec()
    };
    if o.max_engagements < 0 {
        v.add("max_engagements", "cannot be negative; 0 means no limit");
    }
    if o.lead_time_days < 0 {
        v.add("lead_time_days", "cannot be negative");
    }
    OfferFields {
        external_id: o.external_id.clone(),
        implementing_parties: limits::capped(
            v,
            "implementing_party_ids",
            &o.implementing_party_ids,
            limits::OFFER_IMPLEMENTING_PARTIES,
        )
        .iter()
        .map(|p| PartyId(p.clone()))
        .collect(),
        programme_name: o.programme_name.clone(),
        description: o.description.clone(),
        contact: contact_in(o.contact.as_ref()),
        areas: enums::AREA.list_max(v, "areas", &o.areas, limits::OFFER_AREAS),
        sub_areas: enums::SUB_AREA.list_max(v, "sub_areas", &o.sub_areas, limits::OFFER_SUB_AREAS),
        weapon_domains: enums::WEAPON_DOMAIN.list_max(
            v,
            "weapon_domains",
            &o.weapon_domains,
            limits::OFFER_WEAPON_DOMAINS,
        ),
        assistance_kinds: enums::ASSISTANCE_KIND.list_max(
            v,
            "assistance_kinds",
            &o.assistance_kinds,
            limits::OFFER_ASSISTANCE_KINDS,
        ),
        scope: GeoScope {
            global: scope.global,
            regions: list(v, "scope.regions", &scope.regions, limits::SCOPE_REGIONS),
            subregions: list(
                v,
                "scope.subregions",
                &scope.subregions,
                limits::SCOPE_SUBREGIONS,
            ),
            countries: list(
                v,
                "scope.countries",
                &scope.countries,
                limits::SCOPE_COUNTRIES,
            ),
            excluded_countries: list(
                v,
                "scope.excluded_countries",
                &scope.excluded_countries,
                limits::SCOPE_COUNTRIES,
            ),
        },
        funding_modes: enums::FUNDING_MODE.list_max(
            v,
            "funding_modes",
            &o.funding_modes,
            limits::OFFER_FUNDING_MODES,
        ),
        languages: list(v, "languages", &o.languages, limits::LANGUAGES),
        eligibility_notes: o.eligibility_notes.clone(),
        budget_ceiling: money_in(v, "budget_ceiling", o.budget_ceiling.as_ref()),
        max_contribution: money_in(v, "max_contribution", o.max_contribution.as_ref()),
        min_contribution: money_in(v, "min_contribution", o.min_contribution.as_ref()),
        max_engagements: u32::try_from(o.max_engagements).unwrap_or(0),
        budget_status: enums::BUDGET_STATUS
            .optional(v, "budget_status", o.budget_status)
            .unwrap_or(defaults.budget_status),
        valid_from: date_in(v, "valid_from", &o.valid_from),
        valid_until: date_in(v, "valid_until", &o.valid_until),
        lead_time_days: u32::try_from(o.lead_time_days).unwrap_or(0),
        gp_sub_working_group: enums::GP_GROUP.optional(
            v,
            "gp_sub_working_group",
            o.gp_sub_working_group,
        ),
    }
}

/// An offer for the wire. The use cases have already removed the contact where the
/// caller may not see it (`app::visibility::redact_offer`).
pub fn out(o: &Offer) -> pb::Offer {
    let f = &o.fields;
    pb::Offer {
        id: o.id.0.clone(),
        etag: etag_out(o.version),
        external_id: f.external_id.clone(),
        provider_party_id: o.provider.0.clone(),
        implementing_party_ids: f.implementing_parties.iter().map(|p| p.0.clone()).collect(),
        programme_name: f.programme_name.clone(),
        description: f.description.clone(),
        contact: contact_out(&f.contact),
        areas: enums::AREA.out_list(&f.areas),
        sub_areas: enums::SUB_AREA.out_list(&f.sub_areas),
        weapon_domains: enums::WEAPON_DOMAIN.out_list(&f.weapon_domains),
        assistance_kinds: enums::ASSISTANCE_KIND.out_list(&f.assistance_kinds),
        scope: Some(pb::GeoScope {
            global: f.scope.global,
            regions: f.scope.regions.clone(),
            subregions: f.scope.subregions.clone(),
            countries: f.scope.countries.clone(),
            excluded_countries: f.scope.excluded_countries.clone(),
        }),
        funding_modes: enums::FUNDING_MODE.out_list(&f.funding_modes),
        languages: f.languages.clone(),
        eligibility_notes: f.eligibility_notes.clone(),
        budget_ceiling: money_out(f.budget_ceiling),
        max_contribution: money_out(f.max_contribution),
        min_contribution: money_out(f.min_contribution),
        max_engagements: i32::try_from(f.max_engagements).unwrap_or(i32::MAX),
        budget_status: enums::BUDGET_STATUS.out(f.budget_status),
        committed: f.budget_ceiling.map(|c| pb::Money {
            currency_code: c.currency.as_str().to_owned(),
            minor_units: o.committed_minor_units,
        }),
        valid_from: date_out(f.valid_from),
        valid_until: date_out(f.valid_until),
        lead_time_days: i32::try_from(f.lead_time_days).unwrap_or(i32::MAX),
        gp_sub_working_group: f.gp_sub_working_group.map_or(0, |g| enums::GP_GROUP.out(g)),
        status: enums::OFFER_STATUS.out(o.status),
        status_history: history_out(&o.history),
        create_time: Some(ts_out(o.created_at)),
        update_time: Some(ts_out(o.updated_at)),
        create_principal_id: o.created_by.0.clone(),
        update_principal_id: o.updated_by.0.clone(),
    }
}
