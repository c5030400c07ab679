//! The columns of a need file (import) and of `need list --output csv`.

use super::{
    FieldSpec, code_list, contact, date, enum_cell, enum_list, enum_list_out, money_cell,
    money_out, text, text_list, time_out,
};
use crate::{
    cli::enums::{
        AREA, ASSISTANCE_KIND, CHANNEL, CONSENT, FUNDING_MODE, NEED_STATUS, PRIORITY, SUB_AREA,
        VISIBILITY, WEAPON_DOMAIN, label,
    },
    pb::Need,
};

/// Every column, in file order: what the server fills first (ignored on import), then
/// what a row may set.
pub static FIELDS: &[FieldSpec<Need>] = &[
    FieldSpec {
        name: "id",
        doc: "server id (output only)",
        required: false,
        get: |n| n.id.clone(),
        set: None,
    },
    FieldSpec {
        name: "etag",
        doc: "version (output only)",
        required: false,
        get: |n| n.etag.clone(),
        set: None,
    },
    FieldSpec {
        name: "status",
        doc: "lifecycle status (output only)",
        required: false,
        get: |n| label(NEED_STATUS, n.status),
        set: None,
    },
    FieldSpec {
        name: "external_id",
        doc: "your id for the need, unique per requesting party; makes a re-run safe (1-128 chars)",
        required: true,
        get: |n| n.external_id.clone(),
        set: Some(|n, v| {
            n.external_id = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "requester_party_id",
        doc: "requesting party, e.g. state-KEN or org-caricom (brokers; a requester's key defaults to its own party)",
        required: false,
        get: |n| n.requester_party_id.clone(),
        set: Some(|n, v| {
            n.requester_party_id = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "channel",
        doc: "how it arrived: NOTE_VERBALE, NATIONAL_REPORT, REFERRAL or API (default API)",
        required: false,
        get: |n| label(CHANNEL, n.channel),
        set: Some(|n, v| {
            n.channel = enum_cell(CHANNEL, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "note_verbale_reference",
        doc: "reference of the note verbale",
        required: false,
        get: |n| n.note_verbale_reference.clone(),
        set: Some(|n, v| {
            n.note_verbale_reference = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "request_date",
        doc: "date of the request, YYYY-MM-DD (default: today)",
        required: false,
        get: |n| n.request_date.clone(),
        set: Some(|n, v| {
            n.request_date = date(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "title",
        doc: "title, 1-200 characters",
        required: true,
        get: |n| n.title.clone(),
        set: Some(|n, v| {
            n.title = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "description",
        doc: "what is needed, for which institutions, expected outcome (1-8000 chars)",
        required: true,
        get: |n| n.description.clone(),
        set: Some(|n, v| {
            n.description = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "area",
        doc: "thematic area, e.g. EXPORT_TRANSSHIPMENT",
        required: true,
        get: |n| label(AREA, n.area),
        set: Some(|n, v| {
            n.area = enum_cell(AREA, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "sub_areas",
        doc: "sub-areas of that area, e.g. CONTROL_LISTS;EXPORT_LICENSING",
        required: true,
        get: |n| enum_list_out(SUB_AREA, &n.sub_areas),
        set: Some(|n, v| {
            n.sub_areas = enum_list(SUB_AREA, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "weapon_domains",
        doc: "NUCLEAR;CHEMICAL;BIOLOGICAL;MEANS_OF_DELIVERY (empty: all)",
        required: false,
        get: |n| enum_list_out(WEAPON_DOMAIN, &n.weapon_domains),
        set: Some(|n, v| {
            n.weapon_domains = enum_list(WEAPON_DOMAIN, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "assistance_kinds",
        doc: "kinds of help, e.g. TRAINING;EXPERT_MISSION",
        required: true,
        get: |n| enum_list_out(ASSISTANCE_KIND, &n.assistance_kinds),
        set: Some(|n, v| {
            n.assistance_kinds = enum_list(ASSISTANCE_KIND, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "priority",
        doc: "HIGH, MEDIUM or LOW (default MEDIUM)",
        required: false,
        get: |n| label(PRIORITY, n.priority),
        set: Some(|n, v| {
            n.priority = enum_cell(PRIORITY, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "wanted_from",
        doc: "start of the wanted window, YYYY-MM-DD",
        required: false,
        get: |n| n.wanted_from.clone(),
        set: Some(|n, v| {
            n.wanted_from = date(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "needed_by",
        doc: "end of the wanted window, YYYY-MM-DD",
        required: false,
        get: |n| n.needed_by.clone(),
        set: Some(|n, v| {
            n.needed_by = date(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "estimated_budget",
        doc: "currency and amount in major units, e.g. USD 250000",
        required: false,
        get: |n| money_out(n.estimated_budget.as_ref()),
        set: Some(|n, v| {
            n.estimated_budget = money_cell(v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "accepted_funding_modes",
        doc: "SINGLE_DONOR;JOINTLY_FUNDED;POOLED_IO_FUND;IN_KIND (at least one)",
        required: true,
        get: |n| enum_list_out(FUNDING_MODE, &n.accepted_funding_modes),
        set: Some(|n, v| {
            n.accepted_funding_modes = enum_list(FUNDING_MODE, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "preferred_funding_mode",
        doc: "one of the accepted modes (default: the first)",
        required: false,
        get: |n| label(FUNDING_MODE, n.preferred_funding_mode),
        set: Some(|n, v| {
            n.preferred_funding_mode = enum_cell(FUNDING_MODE, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "languages",
        doc: "working languages, ISO 639-1, e.g. en;fr",
        required: false,
        get: |n| n.languages.join(";"),
        set: Some(|n, v| {
            n.languages = text_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "national_action_plan_ref",
        doc: "link to a national action plan item",
        required: false,
        get: |n| n.national_action_plan_ref.clone(),
        set: Some(|n, v| {
            n.national_action_plan_ref = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "iaea_plan_ref",
        doc: "link to an IAEA plan item (e.g. an INSSP)",
        required: false,
        get: |n| n.iaea_plan_ref.clone(),
        set: Some(|n, v| {
            n.iaea_plan_ref = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "assistance_received",
        doc: "assistance already received in the area",
        required: false,
        get: |n| n.assistance_received.clone(),
        set: Some(|n, v| {
            n.assistance_received = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "country_code",
        doc: "requester's country, ISO3 (derived for States; required for organizations)",
        required: false,
        get: |n| n.country_code.clone(),
        set: Some(|n, v| {
            n.country_code = text(v).to_ascii_uppercase();
            Ok(())
        }),
    },
    FieldSpec {
        name: "beneficiary_countries",
        doc: "beneficiaries of a regional request, ISO3, e.g. BRB;JAM",
        required: false,
        get: |n| n.beneficiary_countries.join(";"),
        set: Some(|n, v| {
            n.beneficiary_countries = code_list(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "region",
        doc: "M49 region (output only)",
        required: false,
        get: |n| n.region.clone(),
        set: None,
    },
    FieldSpec {
        name: "subregion",
        doc: "M49 sub-region (output only)",
        required: false,
        get: |n| n.subregion.clone(),
        set: None,
    },
    FieldSpec {
        name: "publication_consent",
        doc: "PENDING, GRANTED or WITHHELD (default PENDING)",
        required: false,
        get: |n| label(CONSENT, n.publication_consent),
        set: Some(|n, v| {
            n.publication_consent = enum_cell(CONSENT, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "visibility",
        doc: "PUBLIC, PROVIDERS or COMMITTEE_ONLY (default PROVIDERS)",
        required: false,
        get: |n| label(VISIBILITY, n.visibility),
        set: Some(|n, v| {
            n.visibility = enum_cell(VISIBILITY, v)?;
            Ok(())
        }),
    },
    FieldSpec {
        name: "public_summary",
        doc: "summary fit for publication",
        required: false,
        get: |n| n.public_summary.clone(),
        set: Some(|n, v| {
            n.public_summary = text(v);
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_name",
        doc: "point of contact: name (private)",
        required: false,
        get: |n| {
            n.contact
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default()
        },
        set: Some(|n, v| {
            if !v.trim().is_empty() {
                contact(&mut n.contact).name = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_email",
        doc: "point of contact: e-mail",
        required: false,
        get: |n| {
            n.contact
                .as_ref()
                .map(|c| c.email.clone())
                .unwrap_or_default()
        },
        set: Some(|n, v| {
            if !v.trim().is_empty() {
                contact(&mut n.contact).email = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_phone",
        doc: "point of contact: phone, international format",
        required: false,
        get: |n| {
            n.contact
                .as_ref()
                .map(|c| c.phone.clone())
                .unwrap_or_default()
        },
        set: Some(|n, v| {
            if !v.trim().is_empty() {
                contact(&mut n.contact).phone = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "contact_organization",
        doc: "point of contact: institution or office",
        required: false,
        get: |n| {
            n.contact
                .as_ref()
                .map(|c| c.organization.clone())
                .unwrap_or_default()
        },
        set: Some(|n, v| {
            if !v.trim().is_empty() {
                contact(&mut n.contact).organization = text(v);
            }
            Ok(())
        }),
    },
    FieldSpec {
        name: "consent_window_ends",
        doc: "last day of the consent window (output only)",
        required: false,
        get: |n| n.consent_window_ends.clone(),
        set: None,
    },
    FieldSpec {
        name: "follow_up_due",
        doc: "follow-up letter due (output only)",
        required: false,
        get: |n| n.follow_up_due.clone(),
        set: None,
    },
    FieldSpec {
        name: "create_time",
        doc: "when it was created (output only)",
        required: false,
        get: |n| time_out(n.create_time.as_ref()),
        set: None,
    },
    FieldSpec {
        name: "update_time",
        doc: "when it last changed (output only)",
        required: false,
        get: |n| time_out(n.update_time.as_ref()),
        set: None,
    },
];
