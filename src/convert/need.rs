//! `pb::Need` ↔ [`Need`].

use clearinghouse_domain::{Need, NeedFields, Violations};

use super::{
    contact_in, contact_out, date_in, date_out, enums, etag_out, history_out, limits, money_in,
    money_out, ts_out,
};
use crate::pb;

/// The writable fields of a need from the wire; defaults apply to unset enums.
pub fn fields_in(v: &mut Violations, n: &pb::Need) -> NeedFields {
    let defaults = NeedFields::default();
    NeedFields {
        external_id: n.external_id.clone(),
        channel: enums::CHANNEL
            .optional(v, "channel", n.channel)
            .unwrap_or(defaults.channel),
        note_verbale_reference: n.note_verbale_reference.clone(),
        request_date: date_in(v, "request_date", &n.request_date),
        title: n.title.clone(),
        description: n.description.clone(),
        area: enums::AREA.optional(v, "area", n.area),
        sub_areas: enums::SUB_AREA.list_max(v, "sub_areas", &n.sub_areas, limits::NEED_SUB_AREAS),
        weapon_domains: enums::WEAPON_DOMAIN.list_max(
            v,
            "weapon_domains",
            &n.weapon_domains,
            limits::NEED_WEAPON_DOMAINS,
        ),
        assistance_kinds: enums::ASSISTANCE_KIND.list_max(
            v,
            "assistance_kinds",
            &n.assistance_kinds,
            limits::NEED_ASSISTANCE_KINDS,
        ),
        priority: enums::PRIORITY
            .optional(v, "priority", n.priority)
            .unwrap_or(defaults.priority),
        wanted_from: date_in(v, "wanted_from", &n.wanted_from),
        needed_by: date_in(v, "needed_by", &n.needed_by),
        estimated_budget: money_in(v, "estimated_budget", n.estimated_budget.as_ref()),
        accepted_funding_modes: enums::FUNDING_MODE.list_max(
            v,
            "accepted_funding_modes",
            &n.accepted_funding_modes,
            limits::NEED_FUNDING_MODES,
        ),
        preferred_funding_mode: enums::FUNDING_MODE.optional(
            v,
            "preferred_funding_mode",
            n.preferred_funding_mode,
        ),
        languages: limits::capped(v, "languages", &n.languages, limits::LANGUAGES).to_vec(),
        national_action_plan_ref: n.national_action_plan_ref.clone(),
        iaea_plan_ref: n.iaea_plan_ref.clone(),
        assistance_received: n.assistance_received.clone(),
        country_code: n.country_code.clone(),
        beneficiary_countries: limits::capped(
            v,
            "beneficiary_countries",
            &n.beneficiary_countries,
            limits::NEED_BENEFICIARY_COUNTRIES,
        )
        .to_vec(),
        publication_consent: enums::CONSENT
            .optional(v, "publication_consent", n.publication_consent)
            .unwrap_or(defaults.publication_consent),
        visibility: enums::VISIBILITY
            .optional(v, "visibility", n.visibility)
            .unwrap_or(defaults.visibility),
        public_summary: n.public_summary.clone(),
        contact: contact_in(n.contact.as_ref()),
        required_assistance_kinds: enums::ASSISTANCE_KIND.list(
            v,
            "required_assistance_kinds",
            &n.required_assistance_kinds,
        ),
        required_languages: n.required_languages.clone(),
    }
}

/// A need for the wire. The use cases have already removed the contact where the
/// caller may not see it (`app::visibility::redact_need`).
pub fn out(n: &Need) -> pb::Need {
    let f = &n.fields;
    let c = n.country();
    pb::Need {
        id: n.id.0.clone(),
        etag: etag_out(n.version),
        external_id: f.external_id.clone(),
        requester_party_id: n.requester.0.clone(),
        channel: enums::CHANNEL.out(f.channel),
        note_verbale_reference: f.note_verbale_reference.clone(),
        request_date: date_out(f.request_date),
        title: f.title.clone(),
        description: f.description.clone(),
        area: f.area.map_or(0, |a| enums::AREA.out(a)),
        sub_areas: enums::SUB_AREA.out_list(&f.sub_areas),
        weapon_domains: enums::WEAPON_DOMAIN.out_list(&f.weapon_domains),
        assistance_kinds: enums::ASSISTANCE_KIND.out_list(&f.assistance_kinds),
        priority: enums::PRIORITY.out(f.priority),
        wanted_from: date_out(f.wanted_from),
        needed_by: date_out(f.needed_by),
        estimated_budget: money_out(f.estimated_budget),
        accepted_funding_modes: enums::FUNDING_MODE.out_list(&f.accepted_funding_modes),
        preferred_funding_mode: f
            .preferred_funding_mode
            .map_or(0, |m| enums::FUNDING_MODE.out(m)),
        languages: f.languages.clone(),
        national_action_plan_ref: f.national_action_plan_ref.clone(),
        iaea_plan_ref: f.iaea_plan_ref.clone(),
        assistance_received: f.assistance_received.clone(),
        country_code: f.country_code.clone(),
        beneficiary_countries: f.beneficiary_countries.clone(),
        region: c.map(|c| c.region.to_owned()).unwrap_or_default(),
        subregion: c.map(|c| c.subregion.to_owned()).unwrap_or_default(),
        publication_consent: enums::CONSENT.out(f.publication_consent),
        visibility: enums::VISIBILITY.out(f.visibility),
        public_summary: f.public_summary.clone(),
        contact: contact_out(&f.contact),
        status: enums::NEED_STATUS.out(n.status),
        status_history: history_out(&n.history),
        consent_window_ends: date_out(n.consent_window_ends),
        follow_up_due: n.follow_up_due.to_string(),
        feedback: n
            .feedback
            .iter()
            .map(|x| pb::NeedFeedback {
                text: x.text.clone(),
                create_time: Some(ts_out(x.at)),
                author_principal_id: x.author.0.clone(),
            })
            .collect(),
        create_time: Some(ts_out(n.created_at)),
        update_time: Some(ts_out(n.updated_at)),
        create_principal_id: n.created_by.0.clone(),
        update_principal_id: n.updated_by.0.clone(),
        required_assistance_kinds: enums::ASSISTANCE_KIND.out_list(&f.required_assistance_kinds),
        required_languages: f.required_languages.clone(),
    }
}
