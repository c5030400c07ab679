//! On-disk records: separate versioned structs, so renaming a domain field cannot silently
//! change the stored format. Every value is one version byte followed by the postcard
//! encoding of that version's struct. Enums are stored as their stable codes.
//!
//! To change a format: add `XRecordV2`, write it with the new version byte, keep decoding
//! V1 (converting it up), and add golden bytes for V2. Needs and offers are written
//! through the borrowed mirrors of [`crate::written`] and read through the owned structs
//! here: a change to their format changes both, and the golden bytes hold them together.

use serde::{Deserialize, Serialize};

use clearinghouse_domain::{
    self as d, AuditEntry, AuditLink, Date, GeoScope, Match, MatchingSettings, Money, Need,
    NeedFeedback, NeedFields, NeedStatus, Offer, OfferFields, OfferStatus, Party, PartyFields,
    PartyKind, Principal, StatusChange, Timestamp, need::Contact,
};

use crate::error::Error;

/// Largest encoded value accepted (sled writes values above ~128 KiB to blob files that it
/// never fsyncs).
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Version byte of the first formats.
pub const V1: u8 = 1;

/// Version byte of the second formats: the chained audit entry ([`AuditRecordV2`]), the
/// need with requirements ([`NeedRecordV2`]) and the settings with gates
/// ([`SettingsRecordV2`]).
pub const V2: u8 = 2;

fn corrupt(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{what}: {detail}"))
}

/// Encodes a record with its version byte, refusing values over [`MAX_VALUE_BYTES`].
pub fn encode<T: Serialize>(version: u8, rec: &T) -> Result<Vec<u8>, Error> {
    let encode_err = |e: postcard::Error| Error::Encode(e.to_string());
    // Sized first, so the value is written into one buffer of its exact length: no
    // growing on the way, and nothing to give back when the bytes are kept.
    let len = postcard::serialize_with_flavor(rec, postcard::ser_flavors::Size::default())
        .map_err(encode_err)?;
    if 1 + len > MAX_VALUE_BYTES {
        return Err(Error::TooLarge {
            bytes: 1 + len,
            max: MAX_VALUE_BYTES,
        });
    }
    let mut out = Vec::with_capacity(1 + len);
    out.push(version);
    postcard::to_extend(rec, out).map_err(encode_err)
}

/// Splits the version byte off and decodes the body as `T`.
pub fn decode<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<(u8, T), Error> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| corrupt(what, "empty value"))?;
    let rec = postcard::from_bytes(body).map_err(|e| corrupt(what, e))?;
    Ok((version, rec))
}

fn code<T>(what: &str, s: &str, f: fn(&str) -> Option<T>) -> Result<T, Error> {
    f(s).ok_or_else(|| corrupt(what, format!("unknown code {s}")))
}

fn codes<T>(what: &str, v: &[String], f: fn(&str) -> Option<T>) -> Result<Vec<T>, Error> {
    v.iter().map(|s| code(what, s, f)).collect()
}

/// Money as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyV1 {
    /// ISO 4217 code.
    pub currency: String,
    /// Minor units.
    pub minor_units: i64,
}

impl MoneyV1 {
    fn from_domain(m: Option<Money>) -> Option<MoneyV1> {
        m.map(|m| MoneyV1 {
            currency: m.currency.as_str().to_owned(),
            minor_units: m.minor_units,
        })
    }

    fn into_domain(m: Option<MoneyV1>) -> Result<Option<Money>, Error> {
        m.map(|m| {
            Ok(Money {
                currency: d::CurrencyCode::parse(&m.currency)
                    .ok_or_else(|| corrupt("money", &m.currency))?,
                minor_units: m.minor_units,
            })
        })
        .transpose()
    }
}

/// A status change as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChangeV1 {
    /// From.
    pub from: Option<String>,
    /// To.
    pub to: String,
    /// When (ms).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Reason.
    pub reason: String,
}

fn history_out(h: &[StatusChange]) -> Vec<StatusChangeV1> {
    h.iter()
        .map(|c| StatusChangeV1 {
            from: c.from.clone(),
            to: c.to.clone(),
            at: c.at.0,
            actor: c.actor.0.clone(),
            reason: c.reason.clone(),
        })
        .collect()
}

fn history_in(h: Vec<StatusChangeV1>) -> Vec<StatusChange> {
    h.into_iter()
        .map(|c| StatusChange {
            from: c.from,
            to: c.to,
            at: Timestamp(c.at),
            actor: d::PrincipalId(c.actor),
            reason: c.reason,
        })
        .collect()
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactV1 {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Organization.
    pub organization: String,
}

impl From<ContactV1> for Contact {
    fn from(c: ContactV1) -> Self {
        Contact {
            name: c.name,
            email: c.email,
            phone: c.phone,
            organization: c.organization,
        }
    }
}

/// A party as stored (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRecordV1 {
    /// Id.
    pub id: String,
    /// Version.
    pub version: u64,
    /// Kind code.
    pub kind: String,
    /// Name.
    pub display_name: String,
    /// Acronym.
    pub short_name: String,
    /// ISO3.
    pub country_code: String,
    /// External id.
    pub external_id: String,
    /// Description.
    pub description: String,
    /// Created (ms).
    pub created_at: i64,
    /// Updated (ms).
    pub updated_at: i64,
    /// Creator.
    pub created_by: String,
}

impl From<&Party> for PartyRecordV1 {
    fn from(p: &Party) -> Self {
        PartyRecordV1 {
            id: p.id.0.clone(),
            version: p.version,
            kind: p.kind.code().to_owned(),
            display_name: p.fields.display_name.clone(),
            short_name: p.fields.short_name.clone(),
            country_code: p.fields.country_code.clone(),
            external_id: p.fields.external_id.clone(),
            description: p.fields.description.clone(),
            created_at: p.created_at.0,
            updated_at: p.updated_at.0,
            created_by: p.created_by.0.clone(),
        }
    }
}

impl TryFrom<PartyRecordV1> for Party {
    type Error = Error;
    fn try_from(r: PartyRecordV1) -> Result<Self, Error> {
        let kind = code("party.kind", &r.kind, PartyKind::from_code)?;
        Ok(Party {
            id: d::PartyId(r.id),
            version: r.version,
            kind,
            fields: PartyFields {
                kind: Some(kind),
                display_name: r.display_name,
                short_name: r.short_name,
                country_code: r.country_code,
                external_id: r.external_id,
                description: r.description,
            },
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            created_by: d::PrincipalId(r.created_by),
        })
    }
}

/// Outcome feedback as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackV1 {
    /// Text.
    pub text: String,
    /// When (ms).
    pub at: i64,
    /// Author.
    pub author: String,
}

/// A need as stored (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct NeedRecordV1 {
    pub id: String,
    pub version: u64,
    pub requester: String,
    pub external_id: String,
    pub channel: String,
    pub note_verbale_reference: String,
    pub request_date: Option<i32>,
    pub title: String,
    pub description: String,
    pub area: Option<String>,
    pub sub_areas: Vec<String>,
    pub weapon_domains: Vec<String>,
    pub assistance_kinds: Vec<String>,
    pub priority: String,
    pub wanted_from: Option<i32>,
    pub needed_by: Option<i32>,
    pub estimated_budget: Option<MoneyV1>,
    pub accepted_funding_modes: Vec<String>,
    pub preferred_funding_mode: Option<String>,
    pub languages: Vec<String>,
    pub national_action_plan_ref: String,
    pub iaea_plan_ref: String,
    pub assistance_received: String,
    pub country_code: String,
    pub beneficiary_countries: Vec<String>,
    pub publication_consent: String,
    pub visibility: String,
    pub public_summary: String,
    pub contact: ContactV1,
    pub status: String,
    pub history: Vec<StatusChangeV1>,
    pub consent_window_ends: Option<i32>,
    pub follow_up_due: i32,
    pub feedback: Vec<FeedbackV1>,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub updated_by: String,
}

impl TryFrom<NeedRecordV1> for Need {
    type Error = Error;
    fn try_from(r: NeedRecordV1) -> Result<Self, Error> {
        let fields = NeedFields {
            external_id: r.external_id,
            channel: code("need.channel", &r.channel, d::SubmissionChannel::from_code)?,
            note_verbale_reference: r.note_verbale_reference,
            request_date: r.request_date.map(Date),
            title: r.title,
            description: r.description,
            area: r
                .area
                .map(|a| code("need.area", &a, d::Area::from_code))
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
            priority: code("need.priority", &r.priority, d::Priority::from_code)?,
            wanted_from: r.wanted_from.map(Date),
            needed_by: r.needed_by.map(Date),
            estimated_budget: MoneyV1::into_domain(r.estimated_budget)?,
            accepted_funding_modes: codes(
                "need.accepted_funding_modes",
                &r.accepted_funding_modes,
                d::FundingMode::from_code,
            )?,
            preferred_funding_mode: r
                .preferred_funding_mode
                .map(|m| code("need.preferred_funding_mode", &m, d::FundingMode::from_code))
                .transpose()?,
            languages: r.languages,
            national_action_plan_ref: r.national_action_plan_ref,
            iaea_plan_ref: r.iaea_plan_ref,
            assistance_received: r.assistance_received,
            country_code: r.country_code,
            beneficiary_countries: r.beneficiary_countries,
            publication_consent: code(
                "need.publication_consent",
                &r.publication_consent,
                d::PublicationConsent::from_code,
            )?,
            visibility: code("need.visibility", &r.visibility, d::Visibility::from_code)?,
            public_summary: r.public_summary,
            contact: r.contact.into(),
            required_assistance_kinds: Vec::new(),
            required_languages: Vec::new(),
        };
        Ok(Need {
            id: d::NeedId(r.id),
            version: r.version,
            requester: d::PartyId(r.requester),
            fields,
            status: code("need.status", &r.status, NeedStatus::from_code)?,
            history: history_in(r.history),
            consent_window_ends: r.consent_window_ends.map(Date),
            follow_up_due: Date(r.follow_up_due),
            feedback: r
                .feedback
                .into_iter()
                .map(|x| NeedFeedback {
                    text: x.text,
                    at: Timestamp(x.at),
                    author: d::PrincipalId(x.author),
                })
                .collect(),
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            created_by: d::PrincipalId(r.created_by),
            updated_by: d::PrincipalId(r.updated_by),
        })
    }
}

/// A need as stored (version 2): version 1 followed by the required kinds of help and
/// languages. Postcard writes the nested V1 inline, so a V2 body is a V1 body plus the
/// two lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedRecordV2 {
    /// Everything version 1 stored.
    pub base: NeedRecordV1,
    /// Required kinds of help, as codes.
    pub required_assistance_kinds: Vec<String>,
    /// Required languages (ISO 639-1).
    pub required_languages: Vec<String>,
}

impl TryFrom<NeedRecordV2> for Need {
    type Error = Error;
    fn try_from(r: NeedRecordV2) -> Result<Self, Error> {
        let mut n = Need::try_from(r.base)?;
        n.fields.required_assistance_kinds = codes(
            "need.required_assistance_kinds",
            &r.required_assistance_kinds,
            d::AssistanceKind::from_code,
        )?;
        n.fields.required_languages = r.required_languages;
        Ok(n)
    }
}

/// Decodes a stored need of either version (version 1 has no requirements).
pub fn decode_need(bytes: &[u8]) -> Result<Need, Error> {
    match bytes.first() {
        Some(&V2) => {
            let (_, rec): (u8, NeedRecordV2) = decode("need", bytes)?;
            Need::try_from(rec)
        }
        _ => decode_v1::<NeedRecordV1, Need>("need", bytes),
    }
}

/// A geographic scope as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct GeoScopeV1 {
    pub global: bool,
    pub regions: Vec<String>,
    pub subregions: Vec<String>,
    pub countries: Vec<String>,
    pub excluded_countries: Vec<String>,
}

/// An offer as stored (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct OfferRecordV1 {
    pub id: String,
    pub version: u64,
    pub provider: String,
    pub external_id: String,
    pub implementing_parties: Vec<String>,
    pub programme_name: String,
    pub description: String,
    pub contact: ContactV1,
    pub areas: Vec<String>,
    pub sub_areas: Vec<String>,
    pub weapon_domains: Vec<String>,
    pub assistance_kinds: Vec<String>,
    pub scope: GeoScopeV1,
    pub funding_modes: Vec<String>,
    pub languages: Vec<String>,
    pub eligibility_notes: String,
    pub budget_ceiling: Option<MoneyV1>,
    pub max_contribution: Option<MoneyV1>,
    pub min_contribution: Option<MoneyV1>,
    pub max_engagements: u32,
    pub budget_status: String,
    pub valid_from: Option<i32>,
    pub valid_until: Option<i32>,
    pub lead_time_days: u32,
    pub gp_sub_working_group: Option<String>,
    pub committed_minor_units: i64,
    pub status: String,
    pub history: Vec<StatusChangeV1>,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub updated_by: String,
}

impl TryFrom<OfferRecordV1> for Offer {
    type Error = Error;
    fn try_from(r: OfferRecordV1) -> Result<Self, Error> {
        let fields = OfferFields {
            external_id: r.external_id,
            implementing_parties: r.implementing_parties.into_iter().map(d::PartyId).collect(),
            programme_name: r.programme_name,
            description: r.description,
            contact: r.contact.into(),
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
                regions: r.scope.regions,
                subregions: r.scope.subregions,
                countries: r.scope.countries,
                excluded_countries: r.scope.excluded_countries,
            },
            funding_modes: codes(
                "offer.funding_modes",
                &r.funding_modes,
                d::FundingMode::from_code,
            )?,
            languages: r.languages,
            eligibility_notes: r.eligibility_notes,
            budget_ceiling: MoneyV1::into_domain(r.budget_ceiling)?,
            max_contribution: MoneyV1::into_domain(r.max_contribution)?,
            min_contribution: MoneyV1::into_domain(r.min_contribution)?,
            max_engagements: r.max_engagements,
            budget_status: code(
                "offer.budget_status",
                &r.budget_status,
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
                        &g,
                        d::GpSubWorkingGroup::from_code,
                    )
                })
                .transpose()?,
        };
        Ok(Offer {
            id: d::OfferId(r.id),
            version: r.version,
            provider: d::PartyId(r.provider),
            fields,
            committed_minor_units: r.committed_minor_units,
            status: code("offer.status", &r.status, OfferStatus::from_code)?,
            history: history_in(r.history),
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            created_by: d::PrincipalId(r.created_by),
            updated_by: d::PrincipalId(r.updated_by),
        })
    }
}

/// A principal as stored (version 1). Holds only the hash of the key's secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PrincipalRecordV1 {
    pub id: String,
    pub version: u64,
    pub display_name: String,
    pub role: String,
    pub party: Option<String>,
    pub key_hash: [u8; 32],
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    pub created_by: String,
}

impl std::fmt::Debug for PrincipalRecordV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalRecordV1")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl From<&Principal> for PrincipalRecordV1 {
    fn from(p: &Principal) -> Self {
        PrincipalRecordV1 {
            id: p.id.0.clone(),
            version: p.version,
            display_name: p.display_name.clone(),
            role: p.role.code().to_owned(),
            party: p.party.as_ref().map(|x| x.0.clone()),
            key_hash: p.key_hash,
            expires_at: p.expires_at.map(|t| t.0),
            revoked_at: p.revoked_at.map(|t| t.0),
            created_at: p.created_at.0,
            created_by: p.created_by.0.clone(),
        }
    }
}

impl TryFrom<PrincipalRecordV1> for Principal {
    type Error = Error;
    fn try_from(r: PrincipalRecordV1) -> Result<Self, Error> {
        Ok(Principal {
            id: d::PrincipalId(r.id),
            version: r.version,
            display_name: r.display_name,
            role: code("principal.role", &r.role, d::Role::from_code)?,
            party: r.party.map(d::PartyId),
            key_hash: r.key_hash,
            expires_at: r.expires_at.map(Timestamp),
            revoked_at: r.revoked_at.map(Timestamp),
            created_at: Timestamp(r.created_at),
            created_by: d::PrincipalId(r.created_by),
        })
    }
}

/// An audit entry as stored (version 1): written before the trail was chained, so it
/// carries no hashes. Still decoded; never written any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AuditRecordV1 {
    pub sequence: u64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub before_version: u64,
    pub after_version: u64,
}

impl From<&AuditEntry> for AuditRecordV1 {
    fn from(a: &AuditEntry) -> Self {
        AuditRecordV1 {
            sequence: a.sequence,
            at: a.at.0,
            actor: a.actor.0.clone(),
            action: a.action.clone(),
            resource_kind: a.resource_kind.clone(),
            resource_id: a.resource_id.clone(),
            before_version: a.before_version,
            after_version: a.after_version,
        }
    }
}

impl From<AuditRecordV1> for AuditEntry {
    fn from(r: AuditRecordV1) -> Self {
        AuditEntry {
            sequence: r.sequence,
            at: Timestamp(r.at),
            actor: d::PrincipalId(r.actor),
            action: r.action,
            resource_kind: r.resource_kind,
            resource_id: r.resource_id,
            before_version: r.before_version,
            after_version: r.after_version,
            chain: None,
        }
    }
}

/// An audit entry as stored (version 2): the fields of version 1 plus its link in the
/// hash chain ([`crate::audit_chain`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AuditRecordV2 {
    pub sequence: u64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub before_version: u64,
    pub after_version: u64,
    /// Hash of the previous entry.
    pub previous_hash: [u8; 32],
    /// Hash of this entry (over the fields above and `previous_hash`).
    pub hash: [u8; 32],
}

impl AuditRecordV2 {
    /// The stored form of `a` with its chain link.
    pub fn new(a: &AuditEntry, link: AuditLink) -> AuditRecordV2 {
        AuditRecordV2 {
            sequence: a.sequence,
            at: a.at.0,
            actor: a.actor.0.clone(),
            action: a.action.clone(),
            resource_kind: a.resource_kind.clone(),
            resource_id: a.resource_id.clone(),
            before_version: a.before_version,
            after_version: a.after_version,
            previous_hash: link.previous_hash,
            hash: link.hash,
        }
    }
}

impl From<AuditRecordV2> for AuditEntry {
    fn from(r: AuditRecordV2) -> Self {
        AuditEntry {
            sequence: r.sequence,
            at: Timestamp(r.at),
            actor: d::PrincipalId(r.actor),
            action: r.action,
            resource_kind: r.resource_kind,
            resource_id: r.resource_id,
            before_version: r.before_version,
            after_version: r.after_version,
            chain: Some(AuditLink {
                previous_hash: r.previous_hash,
                hash: r.hash,
            }),
        }
    }
}

/// Decodes a stored audit entry of either version.
pub fn decode_audit(bytes: &[u8]) -> Result<AuditEntry, Error> {
    match bytes.first() {
        Some(&V1) => decode::<AuditRecordV1>("audit", bytes).map(|(_, r)| r.into()),
        Some(&V2) => decode::<AuditRecordV2>("audit", bytes).map(|(_, r)| r.into()),
        Some(v) => Err(corrupt("audit", format!("unknown record version {v}"))),
        None => Err(corrupt("audit", "empty value")),
    }
}

/// What a `request_id` was used for (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecordV1 {
    /// SHA-256 of the request payload.
    pub payload_hash: [u8; 32],
    /// Kind of the resource created.
    pub kind: String,
    /// Id of the resource created.
    pub id: String,
}

/// Decodes a value written with [`V1`] as `R`, converting to the domain type.
pub fn decode_v1<R, D>(what: &str, bytes: &[u8]) -> Result<D, Error>
where
    R: for<'de> Deserialize<'de>,
    D: TryFrom<R, Error = Error>,
{
    match bytes.first() {
        Some(&V1) => {}
        Some(v) => return Err(corrupt(what, format!("unknown record version {v}"))),
        None => return Err(corrupt(what, "empty value")),
    }
    let (_, rec): (u8, R) = decode(what, bytes)?;
    D::try_from(rec)
}

/// Matching settings as stored (version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SettingsRecordV1 {
    pub version: u64,
    pub weights: [f64; 7],
    pub top_k: u32,
    pub exact_consortium_max: u32,
    pub base_currency: String,
    pub rates: Vec<(String, u64, u64)>,
    pub updated_at: i64,
}

impl TryFrom<SettingsRecordV1> for MatchingSettings {
    type Error = Error;
    fn try_from(r: SettingsRecordV1) -> Result<Self, Error> {
        let cur =
            |c: &str| d::CurrencyCode::parse(c).ok_or_else(|| corrupt("settings currency", c));
        // Version 1 knew seven additive weights and no gates: it decodes to that model
        // (domain and specificity weigh 0, every gate off).
        let w = r.weights;
        Ok(MatchingSettings {
            version: r.version,
            weights: [w[0], w[1], w[2], w[3], w[4], w[5], w[6], 0.0, 0.0],
            gates: [0.0; 3],
            top_k: r.top_k,
            exact_consortium_max: r.exact_consortium_max,
            base_currency: cur(&r.base_currency)?,
            rates: r
                .rates
                .iter()
                .map(|(c, n, dd)| Ok((cur(c)?, *n, *dd)))
                .collect::<Result<_, Error>>()?,
            updated_at: Timestamp(r.updated_at),
        })
    }
}

/// Matching settings as stored (version 2): nine weights and three gate penalties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SettingsRecordV2 {
    pub version: u64,
    pub weights: [f64; 9],
    pub gates: [f64; 3],
    pub top_k: u32,
    pub exact_consortium_max: u32,
    pub base_currency: String,
    pub rates: Vec<(String, u64, u64)>,
    pub updated_at: i64,
}

impl From<&MatchingSettings> for SettingsRecordV2 {
    fn from(m: &MatchingSettings) -> Self {
        SettingsRecordV2 {
            version: m.version,
            weights: m.weights,
            gates: m.gates,
            top_k: m.top_k,
            exact_consortium_max: m.exact_consortium_max,
            base_currency: m.base_currency.as_str().to_owned(),
            rates: m
                .rates
                .iter()
                .map(|(c, n, d)| (c.as_str().to_owned(), *n, *d))
                .collect(),
            updated_at: m.updated_at.0,
        }
    }
}

impl TryFrom<SettingsRecordV2> for MatchingSettings {
    type Error = Error;
    fn try_from(r: SettingsRecordV2) -> Result<Self, Error> {
        let cur =
            |c: &str| d::CurrencyCode::parse(c).ok_or_else(|| corrupt("settings currency", c));
        Ok(MatchingSettings {
            version: r.version,
            weights: r.weights,
            gates: r.gates,
            top_k: r.top_k,
            exact_consortium_max: r.exact_consortium_max,
            base_currency: cur(&r.base_currency)?,
            rates: r
                .rates
                .iter()
                .map(|(c, n, dd)| Ok((cur(c)?, *n, *dd)))
                .collect::<Result<_, Error>>()?,
            updated_at: Timestamp(r.updated_at),
        })
    }
}

/// Decodes stored settings of either version.
pub fn decode_settings(bytes: &[u8]) -> Result<MatchingSettings, Error> {
    match bytes.first() {
        Some(&V2) => {
            let (_, rec): (u8, SettingsRecordV2) = decode("settings", bytes)?;
            MatchingSettings::try_from(rec)
        }
        _ => decode_v1::<SettingsRecordV1, MatchingSettings>("settings", bytes),
    }
}

/// A contribution as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ContributionV1 {
    pub offer: String,
    pub provider: String,
    pub role: String,
    pub amount: Option<MoneyV1>,
    pub in_kind: String,
    pub acceptance: String,
    pub decline_reason: Option<(String, String)>,
}

/// A match as stored (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct MatchRecordV1 {
    pub id: String,
    pub version: u64,
    pub need: String,
    pub requester: String,
    pub funding_mode: String,
    pub contributions: Vec<ContributionV1>,
    pub requester_acceptance: String,
    pub status: String,
    pub history: Vec<StatusChangeV1>,
    pub score_milli: u32,
    pub explanation: Vec<String>,
    pub origin: String,
    pub end_reason: Option<(String, String)>,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
}

fn reason_out(r: &Option<(d::matches::ReasonCode, String)>) -> Option<(String, String)> {
    r.as_ref().map(|(c, t)| (c.code().to_owned(), t.clone()))
}

fn reason_in(
    r: Option<(String, String)>,
) -> Result<Option<(d::matches::ReasonCode, String)>, Error> {
    r.map(|(c, t)| {
        Ok((
            code("match.reason", &c, d::matches::ReasonCode::from_code)?,
            t,
        ))
    })
    .transpose()
}

impl From<&Match> for MatchRecordV1 {
    fn from(m: &Match) -> Self {
        MatchRecordV1 {
            id: m.id.clone(),
            version: m.version,
            need: m.need.0.clone(),
            requester: m.requester.0.clone(),
            funding_mode: m.funding_mode.code().to_owned(),
            contributions: m
                .contributions
                .iter()
                .map(|c| ContributionV1 {
                    offer: c.offer.0.clone(),
                    provider: c.provider.0.clone(),
                    role: c.role.code().to_owned(),
                    amount: MoneyV1::from_domain(c.amount),
                    in_kind: c.in_kind.clone(),
                    acceptance: c.acceptance.code().to_owned(),
                    decline_reason: reason_out(&c.decline_reason),
                })
                .collect(),
            requester_acceptance: m.requester_acceptance.code().to_owned(),
            status: m.status.code().to_owned(),
            history: history_out(&m.history),
            score_milli: m.score_milli,
            explanation: m.explanation.clone(),
            origin: m.origin.code().to_owned(),
            end_reason: reason_out(&m.end_reason),
            created_at: m.created_at.0,
            updated_at: m.updated_at.0,
            created_by: m.created_by.0.clone(),
        }
    }
}

impl TryFrom<MatchRecordV1> for Match {
    type Error = Error;
    fn try_from(r: MatchRecordV1) -> Result<Self, Error> {
        use d::matches::{Acceptance, Contribution, ContributionRole, MatchStatus, Origin};
        let contributions = r
            .contributions
            .into_iter()
            .map(|c| {
                Ok(Contribution {
                    offer: d::OfferId(c.offer),
                    provider: d::PartyId(c.provider),
                    role: code("match.role", &c.role, ContributionRole::from_code)?,
                    amount: MoneyV1::into_domain(c.amount)?,
                    in_kind: c.in_kind,
                    acceptance: code("match.acceptance", &c.acceptance, Acceptance::from_code)?,
                    decline_reason: reason_in(c.decline_reason)?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Match {
            id: r.id,
            version: r.version,
            need: d::NeedId(r.need),
            requester: d::PartyId(r.requester),
            funding_mode: code(
                "match.funding_mode",
                &r.funding_mode,
                d::FundingMode::from_code,
            )?,
            contributions,
            requester_acceptance: code(
                "match.requester_acceptance",
                &r.requester_acceptance,
                Acceptance::from_code,
            )?,
            status: code("match.status", &r.status, MatchStatus::from_code)?,
            history: history_in(r.history),
            score_milli: r.score_milli,
            explanation: r.explanation,
            origin: code("match.origin", &r.origin, Origin::from_code)?,
            end_reason: reason_in(r.end_reason)?,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            created_by: d::PrincipalId(r.created_by),
        })
    }
}

/// A feedback entry as stored (version 1): its own record beside the need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecordV1 {
    /// Id.
    pub id: String,
    /// Need it is about.
    pub need: String,
    /// Text.
    pub text: String,
    /// When (ms).
    pub at: i64,
    /// Author.
    pub author: String,
}

impl From<&d::FeedbackEntry> for FeedbackRecordV1 {
    fn from(f: &d::FeedbackEntry) -> Self {
        FeedbackRecordV1 {
            id: f.id.clone(),
            need: f.need.0.clone(),
            text: f.feedback.text.clone(),
            at: f.feedback.at.0,
            author: f.feedback.author.0.clone(),
        }
    }
}

impl TryFrom<FeedbackRecordV1> for d::FeedbackEntry {
    type Error = Error;
    fn try_from(r: FeedbackRecordV1) -> Result<Self, Error> {
        Ok(d::FeedbackEntry {
            id: r.id,
            version: 1,
            need: d::NeedId(r.need),
            feedback: NeedFeedback {
                text: r.text,
                at: Timestamp(r.at),
                author: d::PrincipalId(r.author),
            },
        })
    }
}
