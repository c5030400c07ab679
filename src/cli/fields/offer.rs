//! The columns of an offer file (import) and of `offer list --output csv`.

use super::{
    FieldSpec, bool_cell, code_list, contact, count_cell, date, enum_cell, enum_list,
    enum_list_out, money_cell, money_out, text, text_list, time_out,
};
use crate::{
    cli::enums::{
        AREA, ASSISTANCE_KIND, BUDGET_STATUS, FUNDING_MODE, GP_GROUP, OFFER_STATUS, SUB_AREA,
        WEAPON_DOMAIN, label,
    },
    pb::{GeoScope, Offer},
};

fn scope(o: &mut Offer) -> &mut GeoScope {
    o.scope.get_or_insert_with(GeoScope::default)
}

fn scope_list(o: &Offer, f: fn(&GeoScope) -> &Vec<String>) -> String {
    o.scope.as_ref().map(|s| f(s).join(";")).unwrap_or_default()
}

/// Every column, in file order: what the server fills first (ignored on import), then
/// what a row may set.
pub static FIELDS: &[FieldSpec<Offer>] = &[
    FieldSpec {
        name: "id",
        doc: "server id (output only)",
        required: false,
        get: |o| o.id.clone(),
        set: None,
    },
    FieldSpec {
        name: "etag",
        doc: "version (output only)",
        required: false,
        get: |o| o.etag.clone(),
        set: None,
    },
    FieldSpec {
        name: "status",
        doc: "lifecycle status (output only)",
        required: false,
        get: |o| label(OFFER_STATUS, o.status),
        set: None,
    },
    FieldSpec {
        name: "external_id",
        doc: "your id for the offer, unique per provider; makes a re-run safe (1-128 chars)",
        required: true,
        get: |o| o.external_id.clone(),
        set: Some(|o, v| {
            o.external_id = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "provider_party_id",
        doc: "providing party, e.g. state-FRA or org-iaea (brokers; a provider's key defaults to its own party)",
        required: false,
        get: |o| o.provider_party_id.clone(),
        set: Some(|o, v| {
            o.provider_party_id = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "implementing_party_ids",
        doc: "implementing organizations when they differ, e.g. org-unodc;org-wco",
        required: false,
        get: |o| o.implementing_party_ids.join(";"),
        set: Some(|o, v| {
            o.implementing_party_ids = text_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "programme_name",
        doc: "programme name, 1-200 characters",
        required: true,
        get: |o| o.programme_name.clone(),
        set: Some(|o, v| {
            o.programme_name = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "description",
        doc: "what is offered (1-8000 chars)",
        required: true,
        get: |o| o.description.clone(),
        set: Some(|o, v| {
            o.description = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "areas",
        doc: "thematic areas covered whole, e.g. EXPORT_TRANSSHIPMENT",
        required: false,
        get: |o| enum_list_out(AREA, &o.areas),
        set: Some(|o, v| {
            o.areas = enum_list(AREA, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "sub_areas",
        doc: "individual sub-areas covered (areas and sub_areas: at least one in all)",
        required: false,
        get: |o| enum_list_out(SUB_AREA, &o.sub_areas),
        set: Some(|o, v| {
            o.sub_areas = enum_list(SUB_AREA, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "weapon_domains",
        doc: "NUCLEAR;CHEMICAL;BIOLOGICAL;MEANS_OF_DELIVERY (empty: all)",
        required: false,
        get: |o| enum_list_out(WEAPON_DOMAIN, &o.weapon_domains),
        set: Some(|o, v| {
            o.weapon_domains = enum_list(WEAPON_DOMAIN, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "assistance_kinds",
        doc: "kinds of help offered, e.g. TRAINING;EQUIPMENT",
        required: true,
        get: |o| enum_list_out(ASSISTANCE_KIND, &o.assistance_kinds),
        set: Some(|o, v| {
            o.assistance_kinds = enum_list(ASSISTANCE_KIND, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "scope_global",
        doc: "true for a worldwide offer",
        required: false,
        get: |o| o.scope.as_ref().is_some_and(|s| s.global).to_string(),
        set: Some(|o, v| {
            scope(o).global = bool_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "scope_regions",
        doc: "M49 regions, e.g. Africa;Americas",
        required: false,
        get: |o| scope_list(o, |s| &s.regions),
        set: Some(|o, v| {
            scope(o).regions = text_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "scope_subregions",
        doc: "M49 sub-regions, e.g. Eastern Africa;Caribbean",
        required: false,
        get: |o| scope_list(o, |s| &s.subregions),
        set: Some(|o, v| {
            scope(o).subregions = text_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "scope_countries",
        doc: "countries, ISO3, e.g. KEN;UGA",
        required: false,
        get: |o| scope_list(o, |s| &s.countries),
        set: Some(|o, v| {
            scope(o).countries = code_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "scope_excluded_countries",
        doc: "countries excluded from the scope, ISO3",
        required: false,
        get: |o| scope_list(o, |s| &s.excluded_countries),
        set: Some(|o, v| {
            scope(o).excluded_countries = code_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "funding_modes",
        doc: "SINGLE_DONOR;JOINTLY_FUNDED;POOLED_IO_FUND;IN_KIND (at least one)",
        required: true,
        get: |o| enum_list_out(FUNDING_MODE, &o.funding_modes),
        set: Some(|o, v| {
            o.funding_modes = enum_list(FUNDING_MODE, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "languages",
        doc: "working languages, ISO 639-1, e.g. en;fr",
        required: false,
        get: |o| o.languages.join(";"),
        set: Some(|o, v| {
            o.languages = text_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "eligibility_notes",
        doc: "eligibility notes",
        required: false,
        get: |o| o.eligibility_notes.clone(),
        set: Some(|o, v| {
            o.eligibility_notes = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "budget_ceiling",
        doc: "total capacity, e.g. EUR 2000000 (empty: no limit)",
        required: false,
        get: |o| money_out(o.budget_ceiling.as_ref()),
        set: Some(|o, v| {
            o.budget_ceiling = money_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "max_contribution",
        doc: "largest contribution to one project, same currency",
        required: false,
        get: |o| money_out(o.max_contribution.as_ref()),
        set: Some(|o, v| {
            o.max_contribution = money_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "min_contribution",
        doc: "smallest contribution to one project, same currency",
        required: false,
        get: |o| money_out(o.min_contribution.as_ref()),
        set: Some(|o, v| {
            o.min_contribution = money_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "max_engagements",
        doc: "most projects the offer takes on (0 or empty: no limit)",
        required: false,
        get: |o| o.max_engagements.to_string(),
        set: Some(|o, v| {
            o.max_engagements = count_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "budget_status",
        doc: "INDICATIVE or COMMITTED (default INDICATIVE)",
        required: false,
        get: |o| label(BUDGET_STATUS, o.budget_status),
        set: Some(|o, v| {
            o.budget_status = enum_cell(BUDGET_STATUS, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "committed",
        doc: "amount reserved by agreed matches (output only)",
        required: false,
        get: |o| money_out(o.committed.as_ref()),
        set: None,
    },
    FieldSpec {
        name: "valid_from",
        doc: "start of validity, YYYY-MM-DD",
        required: false,
        get: |o| o.valid_from.clone(),
        set: Some(|o, v| {
            o.valid_from = date(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "valid_until",
        doc: "end of validity, YYYY-MM-DD (the offer expires after it)",
        required: false,
        get: |o| o.valid_until.clone(),
        set: Some(|o, v| {
            o.valid_until = date(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "lead_time_days",
        doc: "days needed between agreement and start, 0-730",
        required: false,
        get: |o| o.lead_time_days.to_string(),
        set: Some(|o, v| {
            o.lead_time_days = count_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "gp_sub_working_group",
        doc: "NUCLEAR_RADIOLOGICAL, BIOLOGICAL, CHEMICAL or RESOLUTION_1540",
        required: false,
        get: |o| label(GP_GROUP, o.gp_sub_working_group),
        set: Some(|o, v| {
            o.gp_sub_working_group = enum_cell(GP_GROUP, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_name",
        doc: "point of contact: name (private)",
        required: false,
        get: |o| {
            o.contact
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default()
        },
        set: Some(|o, v| {
            if !v.trim().is_empty() {
                contact(&mut o.contact).name = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_email",
        doc: "point of contact: e-mail",
        required: false,
        get: |o| {
            o.contact
                .as_ref()
                .map(|c| c.email.clone())
                .unwrap_or_default()
        },
        set: Some(|o, v| {
            if !v.trim().is_empty() {
                contact(&mut o.contact).email = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_phone",
        doc: "point of contact: phone, international format",
        required: false,
        get: |o| {
            o.contact
                .as_ref()
                .map(|c| c.phone.clone())
                .unwrap_or_default()
        },
        set: Some(|o, v| {
            if !v.trim().is_empty() {
                contact(&mut o.contact).phone = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_organization",
        doc: "point of contact: institution or office",
        required: false,
        get: |o| {
            o.contact
                .as_ref()
                .map(|c| c.organization.clone())
                .unwrap_or_default()
        },
        set: Some(|o, v| {
            if !v.trim().is_empty() {
                contact(&mut o.contact).organization = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "create_time",
        doc: "when it was created (output only)",
        required: false,
        get: |o| time_out(o.create_time.as_ref()),
        set: None,
    },
    FieldSpec {
        name: "update_time",
        doc: "when it last changed (output only)",
        required: false,
        get: |o| time_out(o.update_time.as_ref()),
        set: None,
    },
];
