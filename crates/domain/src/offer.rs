//! Offers: what a provider can give, where, how, how much and when.
//!
//! Entry points: [`Offer::new`], [`Offer::updated`], [`Offer::activate`],
//! [`Offer::withdraw`].

use crate::{
    codes::{AssistanceKind, BudgetStatus, FundingMode, GpSubWorkingGroup, WeaponDomain},
    geo::GeoScope,
    ids::{OfferId, PartyId, PrincipalId},
    money::Money,
    need::Contact,
    offer_status::OfferStatus,
    taxonomy::{Area, SubArea},
    time::{Date, Timestamp},
    transition::{Actor, StatusChange, TransitionError},
    validation::{ValidationError, Violations, check_languages, check_unique},
};

/// The substance of an offer as its provider writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFields {
    /// Submitter-chosen id, unique per provider (empty for none).
    pub external_id: String,
    /// Implementing organizations.
    pub implementing_parties: Vec<PartyId>,
    /// Programme name.
    pub programme_name: String,
    /// Description.
    pub description: String,
    /// Point of contact.
    pub contact: Contact,
    /// Areas covered whole.
    pub areas: Vec<Area>,
    /// Individual sub-areas covered.
    pub sub_areas: Vec<SubArea>,
    /// Weapon domains (empty: all).
    pub weapon_domains: Vec<WeaponDomain>,
    /// Kinds of help.
    pub assistance_kinds: Vec<AssistanceKind>,
    /// Geographic scope.
    pub scope: GeoScope,
    /// Funding modes.
    pub funding_modes: Vec<FundingMode>,
    /// Languages.
    pub languages: Vec<String>,
    /// Eligibility notes.
    pub eligibility_notes: String,
    /// Budget ceiling (none: no capacity limit).
    pub budget_ceiling: Option<Money>,
    /// Largest contribution to one project.
    pub max_contribution: Option<Money>,
    /// Smallest contribution to one project.
    pub min_contribution: Option<Money>,
    /// Most engagements (0: no limit).
    pub max_engagements: u32,
    /// Budget status.
    pub budget_status: BudgetStatus,
    /// Valid from.
    pub valid_from: Option<Date>,
    /// Valid until.
    pub valid_until: Option<Date>,
    /// Lead time in days.
    pub lead_time_days: u32,
    /// GP sub-working group.
    pub gp_sub_working_group: Option<GpSubWorkingGroup>,
}

impl Default for OfferFields {
    fn default() -> Self {
        OfferFields {
            external_id: String::new(),
            implementing_parties: Vec::new(),
            programme_name: String::new(),
            description: String::new(),
            contact: Contact::default(),
            areas: Vec::new(),
            sub_areas: Vec::new(),
            weapon_domains: Vec::new(),
            assistance_kinds: Vec::new(),
            scope: GeoScope::default(),
            funding_modes: Vec::new(),
            languages: Vec::new(),
            eligibility_notes: String::new(),
            budget_ceiling: None,
            max_contribution: None,
            min_contribution: None,
            max_engagements: 0,
            budget_status: BudgetStatus::Indicative,
            valid_from: None,
            valid_until: None,
            lead_time_days: 0,
            gp_sub_working_group: None,
        }
    }
}

/// A recorded offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Id.
    pub id: OfferId,
    /// Version from 1; the etag.
    pub version: u64,
    /// Providing party.
    pub provider: PartyId,
    /// Substance.
    pub fields: OfferFields,
    /// Amount reserved by agreed matches, in the ceiling's currency.
    pub committed_minor_units: i64,
    /// Lifecycle status.
    pub status: OfferStatus,
    /// Status history.
    pub history: Vec<StatusChange>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Creator.
    pub created_by: PrincipalId,
    /// Last changer.
    pub updated_by: PrincipalId,
}

/// Fields an update mask may name, by their proto names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum OfferField {
    ExternalId,
    ImplementingPartyIds,
    ProgrammeName,
    Description,
    Contact,
    Areas,
    SubAreas,
    WeaponDomains,
    AssistanceKinds,
    Scope,
    FundingModes,
    Languages,
    EligibilityNotes,
    BudgetCeiling,
    MaxContribution,
    MinContribution,
    MaxEngagements,
    BudgetStatus,
    ValidFrom,
    ValidUntil,
    LeadTimeDays,
    GpSubWorkingGroup,
}

const OFFER_FIELD_NAMES: &[(&str, OfferField)] = &[
    ("external_id", OfferField::ExternalId),
    ("implementing_party_ids", OfferField::ImplementingPartyIds),
    ("programme_name", OfferField::ProgrammeName),
    ("description", OfferField::Description),
    ("contact", OfferField::Contact),
    ("areas", OfferField::Areas),
    ("sub_areas", OfferField::SubAreas),
    ("weapon_domains", OfferField::WeaponDomains),
    ("assistance_kinds", OfferField::AssistanceKinds),
    ("scope", OfferField::Scope),
    ("funding_modes", OfferField::FundingModes),
    ("languages", OfferField::Languages),
    ("eligibility_notes", OfferField::EligibilityNotes),
    ("budget_ceiling", OfferField::BudgetCeiling),
    ("max_contribution", OfferField::MaxContribution),
    ("min_contribution", OfferField::MinContribution),
    ("max_engagements", OfferField::MaxEngagements),
    ("budget_status", OfferField::BudgetStatus),
    ("valid_from", OfferField::ValidFrom),
    ("valid_until", OfferField::ValidUntil),
    ("lead_time_days", OfferField::LeadTimeDays),
    ("gp_sub_working_group", OfferField::GpSubWorkingGroup),
];

impl OfferField {
    /// Parses a field-mask path (`scope.countries` counts as `scope`).
    pub fn parse(path: &str) -> Option<OfferField> {
        crate::field_mask::resolve(path, OFFER_FIELD_NAMES, OfferField::parts)
    }

    /// Every field-mask path [`OfferField::parse`] accepts.
    pub fn mask_paths() -> Vec<String> {
        crate::field_mask::paths(OFFER_FIELD_NAMES, OfferField::parts)
    }

    /// Sub-fields a mask path may name under this field (message fields only).
    fn parts(self) -> &'static [&'static str] {
        use crate::field_mask::{CONTACT_PARTS, MONEY_PARTS, SCOPE_PARTS};
        match self {
            OfferField::Contact => CONTACT_PARTS,
            OfferField::Scope => SCOPE_PARTS,
            OfferField::BudgetCeiling
            | OfferField::MaxContribution
            | OfferField::MinContribution => MONEY_PARTS,
            _ => &[],
        }
    }

    /// The proto name.
    pub fn name(self) -> &'static str {
        OFFER_FIELD_NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// Whether the field may change in `status`: everything in DRAFT; once open, only
    /// descriptive fields, the contact and the validity end (scope and capacity back
    /// matches and stay fixed).
    pub fn editable_in(self, status: OfferStatus) -> bool {
        use OfferField as F;
        match status {
            OfferStatus::Draft => true,
            OfferStatus::Withdrawn => false,
            _ => matches!(
                self,
                F::ProgrammeName
                    | F::Description
                    | F::Contact
                    | F::EligibilityNotes
                    | F::ValidUntil
                    | F::ExternalId
            ),
        }
    }

    /// Copies this field from `src` into `dst`.
    pub fn apply(self, dst: &mut OfferFields, src: &OfferFields) {
        use OfferField as F;
        match self {
            F::ExternalId => dst.external_id.clone_from(&src.external_id),
            F::ImplementingPartyIds => dst
                .implementing_parties
                .clone_from(&src.implementing_parties),
            F::ProgrammeName => dst.programme_name.clone_from(&src.programme_name),
            F::Description => dst.description.clone_from(&src.description),
            F::Contact => dst.contact.clone_from(&src.contact),
            F::Areas => dst.areas.clone_from(&src.areas),
            F::SubAreas => dst.sub_areas.clone_from(&src.sub_areas),
            F::WeaponDomains => dst.weapon_domains.clone_from(&src.weapon_domains),
            F::AssistanceKinds => dst.assistance_kinds.clone_from(&src.assistance_kinds),
            F::Scope => dst.scope.clone_from(&src.scope),
            F::FundingModes => dst.funding_modes.clone_from(&src.funding_modes),
            F::Languages => dst.languages.clone_from(&src.languages),
            F::EligibilityNotes => dst.eligibility_notes.clone_from(&src.eligibility_notes),
            F::BudgetCeiling => dst.budget_ceiling = src.budget_ceiling,
            F::MaxContribution => dst.max_contribution = src.max_contribution,
            F::MinContribution => dst.min_contribution = src.min_contribution,
            F::MaxEngagements => dst.max_engagements = src.max_engagements,
            F::BudgetStatus => dst.budget_status = src.budget_status,
            F::ValidFrom => dst.valid_from = src.valid_from,
            F::ValidUntil => dst.valid_until = src.valid_until,
            F::LeadTimeDays => dst.lead_time_days = src.lead_time_days,
            F::GpSubWorkingGroup => dst.gp_sub_working_group = src.gp_sub_working_group,
        }
    }
}

impl OfferFields {
    /// Validates every field, recording each problem.
    pub fn validate(&self, v: &mut Violations) {
        v.text("external_id", &self.external_id, false, 128);
        v.text("programme_name", &self.programme_name, true, 200);
        v.text("description", &self.description, true, 8000);
        v.text("eligibility_notes", &self.eligibility_notes, false, 4000);
        self.contact.validate(v, "contact");
        v.count(
            "implementing_party_ids",
            self.implementing_parties.len(),
            0,
            16,
        );
        if self.areas.is_empty() && self.sub_areas.is_empty() {
            v.add(
                "sub_areas",
                "name at least one area or sub-area the offer covers",
            );
        }
        v.count("areas", self.areas.len(), 0, 7);
        check_unique(v, "areas", &self.areas);
        v.count("sub_areas", self.sub_areas.len(), 0, 37);
        check_unique(v, "sub_areas", &self.sub_areas);
        v.count("weapon_domains", self.weapon_domains.len(), 0, 4);
        check_unique(v, "weapon_domains", &self.weapon_domains);
        v.count("assistance_kinds", self.assistance_kinds.len(), 1, 9);
        check_unique(v, "assistance_kinds", &self.assistance_kinds);
        v.count("funding_modes", self.funding_modes.len(), 1, 4);
        check_unique(v, "funding_modes", &self.funding_modes);
        check_languages(v, "languages", &self.languages);
        self.scope.validate(v, "scope");

        let currencies: Vec<(&str, Money)> = [
            ("budget_ceiling", self.budget_ceiling),
            ("max_contribution", self.max_contribution),
            ("min_contribution", self.min_contribution),
        ]
        .into_iter()
        .filter_map(|(n, m)| m.map(|m| (n, m)))
        .collect();
        if let Some((_, first)) = currencies.first() {
            for (name, m) in &currencies[1..] {
                if m.currency != first.currency {
                    v.add(
                        format!("{name}.currency_code"),
                        format!(
                            "is {} but the offer's amounts are in {}; use one currency",
                            m.currency, first.currency
                        ),
                    );
                }
            }
        }
        if let (Some(min), Some(max)) = (self.min_contribution, self.max_contribution)
            && min.minor_units > max.minor_units
        {
            v.add("min_contribution", "is above max_contribution");
        }
        if let (Some(max), Some(ceiling)) = (self.max_contribution, self.budget_ceiling)
            && max.minor_units > ceiling.minor_units
        {
            v.add("max_contribution", "is above the budget ceiling");
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until < from
        {
            v.add(
                "valid_until",
                format!("{until} is before valid_from {from}"),
            );
        }
        if self.lead_time_days > 730 {
            v.add("lead_time_days", "is above the maximum of 730 days");
        }
    }

    /// Whether the offer covers `sub` directly or through its area.
    pub fn covers(&self, sub: SubArea) -> bool {
        self.sub_areas.contains(&sub) || self.areas.contains(&sub.area())
    }
}

/// What creating an offer takes besides its fields.
#[derive(Debug, Clone)]
pub struct OfferContext {
    /// Id chosen by the server.
    pub id: OfferId,
    /// Providing party.
    pub provider: PartyId,
    /// Now.
    pub now: Timestamp,
    /// Who records it.
    pub actor: PrincipalId,
}

impl Offer {
    /// Validates and builds a new offer in `DRAFT`.
    pub fn new(ctx: OfferContext, fields: OfferFields) -> Result<Offer, ValidationError> {
        let mut v = Violations::new("offer");
        fields.validate(&mut v);
        v.into_result()?;
        Ok(Offer {
            id: ctx.id,
            version: 1,
            provider: ctx.provider,
            fields,
            committed_minor_units: 0,
            status: OfferStatus::Draft,
            history: vec![StatusChange::new(
                None,
                OfferStatus::Draft.code(),
                ctx.now,
                &ctx.actor,
                "",
            )],
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: ctx.actor.clone(),
            updated_by: ctx.actor,
        })
    }

    /// Applies a masked update; fields locked in the current status are a rule error.
    pub fn updated(
        &self,
        src: &OfferFields,
        mask: &[OfferField],
        now: Timestamp,
        actor: &PrincipalId,
    ) -> Result<Offer, crate::need::NeedUpdateError> {
        let locked: Vec<&str> = mask
            .iter()
            .filter(|f| !f.editable_in(self.status))
            .map(|f| f.name())
            .collect();
        if !locked.is_empty() {
            return Err(TransitionError::Rule {
                reason: "FIELD_NOT_EDITABLE",
                message: format!(
                    "field(s) {} cannot change while the offer is {}; scope and capacity are fixed once it is active",
                    locked.join(", "),
                    self.status
                ),
            }
            .into());
        }
        let mut next = self.clone();
        for f in mask {
            f.apply(&mut next.fields, src);
        }
        let mut v = Violations::new("offer");
        next.fields.validate(&mut v);
        v.into_result()?;
        next.updated_at = now;
        next.updated_by = actor.clone();
        Ok(next)
    }

    fn move_to(
        &self,
        to: OfferStatus,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
        reason: &str,
    ) -> Result<Offer, TransitionError> {
        self.status.check(to, actor)?;
        let mut next = self.clone();
        next.history.push(StatusChange::new(
            Some(self.status.code()),
            to.code(),
            now,
            who,
            reason,
        ));
        next.status = to;
        next.updated_at = now;
        next.updated_by = who.clone();
        Ok(next)
    }

    /// DRAFT → ACTIVE; refused if the offer has already expired.
    pub fn activate(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Offer, TransitionError> {
        if let Some(until) = self.fields.valid_until
            && until < now.date()
        {
            return Err(TransitionError::Rule {
                reason: "OFFER_EXPIRED",
                message: format!(
                    "the offer was valid until {until}; extend valid_until before activating it"
                ),
            });
        }
        self.move_to(OfferStatus::Active, actor, who, now, "")
    }

    /// → EXPIRED (the system, once `valid_until` has passed on `now`).
    pub fn expire(&self, now: Timestamp) -> Result<Offer, TransitionError> {
        match self.fields.valid_until {
            Some(until) if until < now.date() => self.move_to(
                OfferStatus::Expired,
                Actor::System,
                &PrincipalId::system(),
                now,
                "valid_until passed",
            ),
            _ => Err(TransitionError::Rule {
                reason: "NOT_DUE",
                message: format!(
                    "offer {} is valid until {}",
                    self.id,
                    self.fields
                        .valid_until
                        .map_or("no end".to_owned(), |d| d.to_string())
                ),
            }),
        }
    }

    /// → WITHDRAWN with a reason.
    pub fn withdraw(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
        reason: &str,
    ) -> Result<Offer, TransitionError> {
        if reason.trim().is_empty() {
            return Err(TransitionError::Rule {
                reason: "REASON_REQUIRED",
                message: "give a reason of 1 to 2000 characters".to_owned(),
            });
        }
        self.move_to(OfferStatus::Withdrawn, actor, who, now, reason)
    }
}
