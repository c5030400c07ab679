//! Needs: one assistance request of a requesting party for one thematic area.
//!
//! Entry points: [`Need::new`] (validated creation), [`Need::updated`] (field-mask
//! update with the editability rules), and the lifecycle methods (`submit`,
//! `authenticate`, `reject`, `circulate`, `withdraw`, `record_feedback`, `close`).

use crate::{
    codes::{
        AssistanceKind, FundingMode, PartyKind, Priority, PublicationConsent, SubmissionChannel,
        Visibility, WeaponDomain,
    },
    consent,
    geo::{self, Country},
    ids::{NeedId, PartyId, PrincipalId},
    money::Money,
    need_status::NeedStatus,
    party::Party,
    taxonomy::{Area, SubArea},
    time::{Date, Timestamp},
    transition::{Actor, StatusChange, TransitionError},
    validation::{ValidationError, Violations, check_languages, check_unique},
};

/// A point of contact (private: never in public views or reports).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Organization.
    pub organization: String,
}

impl Contact {
    /// Validates lengths and the e-mail's shape.
    pub fn validate(&self, v: &mut Violations, field: &str) {
        v.text(&format!("{field}.name"), &self.name, false, 200);
        v.text(&format!("{field}.email"), &self.email, false, 254);
        v.text(&format!("{field}.phone"), &self.phone, false, 40);
        v.text(
            &format!("{field}.organization"),
            &self.organization,
            false,
            200,
        );
        if !self.email.is_empty() {
            let ok = self
                .email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
            if !ok {
                v.add(
                    format!("{field}.email"),
                    format!(
                        "{} is not an e-mail address",
                        crate::validation::shown(&self.email)
                    ),
                );
            }
        }
    }

    /// Whether every field is empty.
    pub fn is_empty(&self) -> bool {
        self == &Contact::default()
    }
}

/// The substance of a need as submitted (everything a requester writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedFields {
    /// Submitter-chosen id, unique per requesting party (empty for none).
    pub external_id: String,
    /// How the request arrived.
    pub channel: SubmissionChannel,
    /// Reference of the note verbale.
    pub note_verbale_reference: String,
    /// Date of the request (the day of creation if not given).
    pub request_date: Option<Date>,
    /// Title.
    pub title: String,
    /// What, for whom, expected outcome.
    pub description: String,
    /// The thematic area (required).
    pub area: Option<Area>,
    /// Sub-areas of that area (at least one).
    pub sub_areas: Vec<SubArea>,
    /// Weapon domains (empty: all).
    pub weapon_domains: Vec<WeaponDomain>,
    /// Kinds of help (at least one).
    pub assistance_kinds: Vec<AssistanceKind>,
    /// Kinds of help the requester cannot do without (a subset of `assistance_kinds`):
    /// an offer lacking one is not a candidate.
    pub required_assistance_kinds: Vec<AssistanceKind>,
    /// Priority.
    pub priority: Priority,
    /// Wanted from.
    pub wanted_from: Option<Date>,
    /// Needed by.
    pub needed_by: Option<Date>,
    /// Estimated budget.
    pub estimated_budget: Option<Money>,
    /// Accepted funding modes (at least one).
    pub accepted_funding_modes: Vec<FundingMode>,
    /// Preferred mode (the first accepted one if not given).
    pub preferred_funding_mode: Option<FundingMode>,
    /// ISO 639-1 languages; the first is the main working language.
    pub languages: Vec<String>,
    /// Languages the work must be done in (a subset of `languages`): an offer that states
    /// its languages and lacks one of these is not a candidate.
    pub required_languages: Vec<String>,
    /// National action plan item.
    pub national_action_plan_ref: String,
    /// IAEA plan item.
    pub iaea_plan_ref: String,
    /// Assistance already received.
    pub assistance_received: String,
    /// Requester's country (ISO3); derived for States.
    pub country_code: String,
    /// Beneficiary countries of a regional request.
    pub beneficiary_countries: Vec<String>,
    /// Publication consent.
    pub publication_consent: PublicationConsent,
    /// Visibility.
    pub visibility: Visibility,
    /// Public summary.
    pub public_summary: String,
    /// Point of contact.
    pub contact: Contact,
}

impl Default for NeedFields {
    fn default() -> Self {
        NeedFields {
            external_id: String::new(),
            channel: SubmissionChannel::Api,
            note_verbale_reference: String::new(),
            request_date: None,
            title: String::new(),
            description: String::new(),
            area: None,
            sub_areas: Vec::new(),
            weapon_domains: Vec::new(),
            assistance_kinds: Vec::new(),
            required_assistance_kinds: Vec::new(),
            priority: Priority::Medium,
            wanted_from: None,
            needed_by: None,
            estimated_budget: None,
            accepted_funding_modes: Vec::new(),
            preferred_funding_mode: None,
            languages: Vec::new(),
            required_languages: Vec::new(),
            national_action_plan_ref: String::new(),
            iaea_plan_ref: String::new(),
            assistance_received: String::new(),
            country_code: String::new(),
            beneficiary_countries: Vec::new(),
            publication_consent: PublicationConsent::Pending,
            visibility: Visibility::Providers,
            public_summary: String::new(),
            contact: Contact::default(),
        }
    }
}

/// Outcome feedback on a need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedFeedback {
    /// Text.
    pub text: String,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub author: PrincipalId,
}

/// One feedback entry stored as its own record, beside its need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackEntry {
    /// Id chosen by the server.
    pub id: String,
    /// Version (always 1: feedback is never edited).
    pub version: u64,
    /// The need it is about.
    pub need: NeedId,
    /// The feedback.
    pub feedback: NeedFeedback,
}

/// A recorded need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Id.
    pub id: NeedId,
    /// Version from 1; the etag.
    pub version: u64,
    /// Requesting party.
    pub requester: PartyId,
    /// Substance.
    pub fields: NeedFields,
    /// Lifecycle status.
    pub status: NeedStatus,
    /// Status history.
    pub history: Vec<StatusChange>,
    /// Last day of the consent window, once authenticated.
    pub consent_window_ends: Option<Date>,
    /// Follow-up letter due date.
    pub follow_up_due: Date,
    /// Outcome feedback, oldest first. Feedback is stored in its own records
    /// ([`FeedbackEntry`]); the store's readers fill this list (a need written before
    /// that may also carry entries of its own).
    pub feedback: Vec<NeedFeedback>,
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
pub enum NeedField {
    ExternalId,
    Channel,
    NoteVerbaleReference,
    RequestDate,
    Title,
    Description,
    Area,
    SubAreas,
    WeaponDomains,
    AssistanceKinds,
    Priority,
    WantedFrom,
    NeededBy,
    EstimatedBudget,
    AcceptedFundingModes,
    PreferredFundingMode,
    Languages,
    NationalActionPlanRef,
    IaeaPlanRef,
    AssistanceReceived,
    CountryCode,
    BeneficiaryCountries,
    PublicationConsent,
    Visibility,
    PublicSummary,
    Contact,
    RequiredAssistanceKinds,
    RequiredLanguages,
}

const NEED_FIELD_NAMES: &[(&str, NeedField)] = &[
    ("external_id", NeedField::ExternalId),
    ("channel", NeedField::Channel),
    ("note_verbale_reference", NeedField::NoteVerbaleReference),
    ("request_date", NeedField::RequestDate),
    ("title", NeedField::Title),
    ("description", NeedField::Description),
    ("area", NeedField::Area),
    ("sub_areas", NeedField::SubAreas),
    ("weapon_domains", NeedField::WeaponDomains),
    ("assistance_kinds", NeedField::AssistanceKinds),
    ("priority", NeedField::Priority),
    ("wanted_from", NeedField::WantedFrom),
    ("needed_by", NeedField::NeededBy),
    ("estimated_budget", NeedField::EstimatedBudget),
    ("accepted_funding_modes", NeedField::AcceptedFundingModes),
    ("preferred_funding_mode", NeedField::PreferredFundingMode),
    ("languages", NeedField::Languages),
    ("national_action_plan_ref", NeedField::NationalActionPlanRef),
    ("iaea_plan_ref", NeedField::IaeaPlanRef),
    ("assistance_received", NeedField::AssistanceReceived),
    ("country_code", NeedField::CountryCode),
    ("beneficiary_countries", NeedField::BeneficiaryCountries),
    ("publication_consent", NeedField::PublicationConsent),
    ("visibility", NeedField::Visibility),
    ("public_summary", NeedField::PublicSummary),
    ("contact", NeedField::Contact),
    (
        "required_assistance_kinds",
        NeedField::RequiredAssistanceKinds,
    ),
    ("required_languages", NeedField::RequiredLanguages),
];

impl NeedField {
    /// Parses a field-mask path (`contact.email` counts as `contact`; a path naming no
    /// field at its depth, such as `title.nonexistent`, is `None`).
    pub fn parse(path: &str) -> Option<NeedField> {
        crate::field_mask::resolve(path, NEED_FIELD_NAMES, NeedField::parts)
    }

    /// Every field-mask path [`NeedField::parse`] accepts.
    pub fn mask_paths() -> Vec<String> {
        crate::field_mask::paths(NEED_FIELD_NAMES, NeedField::parts)
    }

    /// Sub-fields a mask path may name under this field (message fields only).
    fn parts(self) -> &'static [&'static str] {
        match self {
            NeedField::Contact => crate::field_mask::CONTACT_PARTS,
            NeedField::EstimatedBudget => crate::field_mask::MONEY_PARTS,
            _ => &[],
        }
    }

    /// The proto name.
    pub fn name(self) -> &'static str {
        NEED_FIELD_NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// Whether the field may change in `status`: substance only in DRAFT and SUBMITTED;
    /// contact and consent while the need is not terminal.
    pub fn editable_in(self, status: NeedStatus) -> bool {
        match status {
            NeedStatus::Draft | NeedStatus::Submitted => true,
            s if s.is_terminal() => false,
            _ => matches!(self, NeedField::Contact | NeedField::PublicationConsent),
        }
    }

    /// Copies this field from `src` into `dst`.
    pub fn apply(self, dst: &mut NeedFields, src: &NeedFields) {
        use NeedField as F;
        match self {
            F::ExternalId => dst.external_id.clone_from(&src.external_id),
            F::Channel => dst.channel = src.channel,
            F::NoteVerbaleReference => dst
                .note_verbale_reference
                .clone_from(&src.note_verbale_reference),
            F::RequestDate => dst.request_date = src.request_date,
            F::Title => dst.title.clone_from(&src.title),
            F::Description => dst.description.clone_from(&src.description),
            F::Area => dst.area = src.area,
            F::SubAreas => dst.sub_areas.clone_from(&src.sub_areas),
            F::WeaponDomains => dst.weapon_domains.clone_from(&src.weapon_domains),
            F::AssistanceKinds => dst.assistance_kinds.clone_from(&src.assistance_kinds),
            F::Priority => dst.priority = src.priority,
            F::WantedFrom => dst.wanted_from = src.wanted_from,
            F::NeededBy => dst.needed_by = src.needed_by,
            F::EstimatedBudget => dst.estimated_budget = src.estimated_budget,
            F::AcceptedFundingModes => dst
                .accepted_funding_modes
                .clone_from(&src.accepted_funding_modes),
            F::PreferredFundingMode => dst.preferred_funding_mode = src.preferred_funding_mode,
            F::Languages => dst.languages.clone_from(&src.languages),
            F::NationalActionPlanRef => dst
                .national_action_plan_ref
                .clone_from(&src.national_action_plan_ref),
            F::IaeaPlanRef => dst.iaea_plan_ref.clone_from(&src.iaea_plan_ref),
            F::AssistanceReceived => dst.assistance_received.clone_from(&src.assistance_received),
            F::CountryCode => dst.country_code.clone_from(&src.country_code),
            F::BeneficiaryCountries => dst
                .beneficiary_countries
                .clone_from(&src.beneficiary_countries),
            F::PublicationConsent => dst.publication_consent = src.publication_consent,
            F::Visibility => dst.visibility = src.visibility,
            F::PublicSummary => dst.public_summary.clone_from(&src.public_summary),
            F::Contact => dst.contact.clone_from(&src.contact),
            F::RequiredAssistanceKinds => dst
                .required_assistance_kinds
                .clone_from(&src.required_assistance_kinds),
            F::RequiredLanguages => dst.required_languages.clone_from(&src.required_languages),
        }
    }
}

impl NeedFields {
    /// Validates every field against the requesting party, recording each problem, and
    /// fills what is derived (the country of a State, the preferred mode).
    pub fn validate(&mut self, requester: &Party, v: &mut Violations) {
        v.text("external_id", &self.external_id, false, 128);
        v.text(
            "note_verbale_reference",
            &self.note_verbale_reference,
            false,
            128,
        );
        v.text("title", &self.title, true, 200);
        v.text("description", &self.description, true, 8000);
        v.text(
            "national_action_plan_ref",
            &self.national_action_plan_ref,
            false,
            500,
        );
        v.text("iaea_plan_ref", &self.iaea_plan_ref, false, 500);
        v.text(
            "assistance_received",
            &self.assistance_received,
            false,
            4000,
        );
        v.text("public_summary", &self.public_summary, false, 2000);
        self.contact.validate(v, "contact");

        match self.area {
            None => v.add(
                "area",
                "is required; name one thematic area such as EXPORT_TRANSSHIPMENT",
            ),
            Some(area) => {
                for (i, s) in self.sub_areas.iter().enumerate() {
                    if s.area() != area {
                        v.add(
                            format!("sub_areas[{i}]"),
                            format!("{s} belongs to {}, not to the need's area {area}; one need covers one area", s.area()),
                        );
                    }
                }
            }
        }
        v.count("sub_areas", self.sub_areas.len(), 1, 16);
        check_unique(v, "sub_areas", &self.sub_areas);
        v.count("weapon_domains", self.weapon_domains.len(), 0, 4);
        check_unique(v, "weapon_domains", &self.weapon_domains);
        v.count("assistance_kinds", self.assistance_kinds.len(), 1, 9);
        check_unique(v, "assistance_kinds", &self.assistance_kinds);
        v.count(
            "accepted_funding_modes",
            self.accepted_funding_modes.len(),
            1,
            4,
        );
        check_unique(v, "accepted_funding_modes", &self.accepted_funding_modes);
        match self.preferred_funding_mode {
            Some(p) if !self.accepted_funding_modes.contains(&p) => v.add(
                "preferred_funding_mode",
                format!("{p} is not among the accepted funding modes; add it there or prefer an accepted one"),
            ),
            Some(_) => {}
            None => self.preferred_funding_mode = self.accepted_funding_modes.first().copied(),
        }
        if let (Some(from), Some(by)) = (self.wanted_from, self.needed_by)
            && by < from
        {
            v.add(
                "needed_by",
                format!("{by} is before wanted_from {from}; the window must not be empty"),
            );
        }
        check_languages(v, "languages", &self.languages);
        self.validate_requirements(v);

        if requester.kind == PartyKind::State {
            let own = requester.fields.country_code.as_str();
            if self.country_code.is_empty() {
                self.country_code = own.to_owned();
            } else if self.country_code != own {
                v.add(
                    "country_code",
                    format!(
                        "is {} but the requester is the State {own}; leave it empty or send {own}",
                        self.country_code
                    ),
                );
            }
        } else if self.country_code.is_empty() {
            v.add(
                "country_code",
                "is required when the requester is an organization; give the lead beneficiary country",
            );
        } else {
            geo::check_country(v, "country_code", &self.country_code);
        }
        v.count(
            "beneficiary_countries",
            self.beneficiary_countries.len(),
            0,
            64,
        );
        for (i, c) in self.beneficiary_countries.iter().enumerate() {
            geo::check_country(v, &format!("beneficiary_countries[{i}]"), c);
        }
        check_unique(v, "beneficiary_countries", &self.beneficiary_countries);
    }

    /// Required kinds of help and languages: each listed once and among the need's own.
    fn validate_requirements(&self, v: &mut Violations) {
        v.count(
            "required_assistance_kinds",
            self.required_assistance_kinds.len(),
            0,
            9,
        );
        check_unique(
            v,
            "required_assistance_kinds",
            &self.required_assistance_kinds,
        );
        for (i, k) in self.required_assistance_kinds.iter().enumerate() {
            if !self.assistance_kinds.contains(k) {
                v.add(
                    format!("required_assistance_kinds[{i}]"),
                    format!("{k} is not among the need's assistance_kinds; add it there first"),
                );
            }
        }
        check_languages(v, "required_languages", &self.required_languages);
        check_unique(v, "required_languages", &self.required_languages);
        for (i, l) in self.required_languages.iter().enumerate() {
            if !self.languages.contains(l) {
                v.add(
                    format!("required_languages[{i}]"),
                    format!("'{l}' is not among the need's languages; add it there first"),
                );
            }
        }
    }

    /// Records a violation if a client tries to set the server-derived DEEMED_GRANTED.
    fn check_client_consent(&self, v: &mut Violations) {
        if self.publication_consent == PublicationConsent::DeemedGranted {
            v.add(
                "publication_consent",
                "DEEMED_GRANTED is set by the server when the window passes; send PENDING, GRANTED or WITHHELD",
            );
        }
    }
}

/// What creating a need takes besides its fields.
#[derive(Debug, Clone)]
pub struct NeedContext<'a> {
    /// Id chosen by the server.
    pub id: NeedId,
    /// The requesting party.
    pub requester: &'a Party,
    /// Now.
    pub now: Timestamp,
    /// Who records it.
    pub actor: PrincipalId,
}

impl Need {
    /// Validates and builds a new need in `DRAFT`.
    pub fn new(ctx: NeedContext<'_>, mut fields: NeedFields) -> Result<Need, ValidationError> {
        let mut v = Violations::new("need");
        fields.validate(ctx.requester, &mut v);
        fields.check_client_consent(&mut v);
        v.into_result()?;
        let request_date = *fields.request_date.get_or_insert(ctx.now.date());
        Ok(Need {
            id: ctx.id,
            version: 1,
            requester: ctx.requester.id.clone(),
            fields,
            status: NeedStatus::Draft,
            history: vec![StatusChange::new(
                None,
                NeedStatus::Draft.code(),
                ctx.now,
                &ctx.actor,
                "",
            )],
            consent_window_ends: None,
            follow_up_due: consent::follow_up_due(request_date),
            feedback: Vec::new(),
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: ctx.actor.clone(),
            updated_by: ctx.actor,
        })
    }

    /// The need's country.
    pub fn country(&self) -> Option<&'static Country> {
        geo::country(&self.fields.country_code)
    }

    /// Applies a masked update. Fields not editable in the current status are refused as a
    /// rule (`FIELD_NOT_EDITABLE`); the result is validated whole.
    pub fn updated(
        &self,
        requester: &Party,
        src: &NeedFields,
        mask: &[NeedField],
        now: Timestamp,
        actor: &PrincipalId,
    ) -> Result<Need, NeedUpdateError> {
        let locked: Vec<&str> = mask
            .iter()
            .filter(|f| !f.editable_in(self.status))
            .map(|f| f.name())
            .collect();
        if !locked.is_empty() {
            return Err(NeedUpdateError::Rule(TransitionError::Rule {
                reason: "FIELD_NOT_EDITABLE",
                message: format!(
                    "field(s) {} cannot change while the need is {}; only contact and publication_consent can change after submission",
                    locked.join(", "),
                    self.status
                ),
            }));
        }
        let mut next = self.clone();
        for f in mask {
            f.apply(&mut next.fields, src);
        }
        let mut v = Violations::new("need");
        next.fields.validate(requester, &mut v);
        if mask.contains(&NeedField::PublicationConsent) {
            src.check_client_consent(&mut v);
        }
        v.into_result()?;
        if let Some(d) = next.fields.request_date {
            next.follow_up_due = consent::follow_up_due(d);
        }
        if next.withholds_publication() {
            // The State objects: the need stops being published at once (see
            // `withholds_publication`).
            next.fields.visibility = Visibility::CommitteeOnly;
        }
        next.updated_at = now;
        next.updated_by = actor.clone();
        Ok(next)
    }

    /// Whether the requester withholds publication of a need that is (or may next be)
    /// circulated. The 2010 procedure lets a State object to its request being sent to
    /// providers and published; an objection made after circulation takes effect at
    /// once: the need becomes COMMITTEE_ONLY, so it leaves providers' and analysts'
    /// lists, searches and candidate rankings (reports count it only). Matches already
    /// proposed stay: they were brokered with the named providers, who keep seeing the
    /// match; the Committee decides whether to withdraw them.
    pub fn withholds_publication(&self) -> bool {
        self.fields.publication_consent == PublicationConsent::Withheld
            && !matches!(self.status, NeedStatus::Draft | NeedStatus::Submitted)
    }

    fn move_to(
        &self,
        to: NeedStatus,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
        reason: &str,
    ) -> Result<Need, TransitionError> {
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

    /// DRAFT → SUBMITTED.
    pub fn submit(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Need, TransitionError> {
        self.move_to(NeedStatus::Submitted, actor, who, now, "")
    }

    /// SUBMITTED → AUTHENTICATED; starts the 5-working-day consent window today.
    pub fn authenticate(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Need, TransitionError> {
        let mut next = self.move_to(NeedStatus::Authenticated, actor, who, now, "")?;
        next.consent_window_ends = Some(consent::consent_window_end(now.date()));
        Ok(next)
    }

    /// SUBMITTED → REJECTED with a reason.
    pub fn reject(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
        reason: &str,
    ) -> Result<Need, TransitionError> {
        require_reason(reason)?;
        self.move_to(NeedStatus::Rejected, actor, who, now, reason)
    }

    /// AUTHENTICATED → CIRCULATED. Needs consent, or the window to have passed (consent
    /// then becomes DEEMED_GRANTED). With consent withheld the need circulates to the
    /// Committee only: its visibility becomes COMMITTEE_ONLY.
    pub fn circulate(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Need, TransitionError> {
        let mut next = self.move_to(NeedStatus::Circulated, actor, who, now, "")?;
        match self.fields.publication_consent {
            PublicationConsent::Granted | PublicationConsent::DeemedGranted => {}
            PublicationConsent::Withheld => next.fields.visibility = Visibility::CommitteeOnly,
            PublicationConsent::Pending => {
                let ends = self
                    .consent_window_ends
                    .unwrap_or_else(|| consent::consent_window_end(now.date()));
                if !consent::consent_window_passed(ends, now.date()) {
                    return Err(TransitionError::Rule {
                        reason: "CONSENT_WINDOW_OPEN",
                        message: format!(
                            "the requester may object until {ends}; circulate after that date or record its consent first"
                        ),
                    });
                }
                next.fields.publication_consent = PublicationConsent::DeemedGranted;
            }
        }
        Ok(next)
    }

    /// → WITHDRAWN with a reason.
    pub fn withdraw(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
        reason: &str,
    ) -> Result<Need, TransitionError> {
        require_reason(reason)?;
        self.move_to(NeedStatus::Withdrawn, actor, who, now, reason)
    }

    /// Validates outcome feedback (any status from SUBMITTED on) and returns the need
    /// touched by it with the entry to store beside it: feedback lives in its own
    /// records, so a need never grows with it.
    pub fn record_feedback(
        &self,
        who: &PrincipalId,
        now: Timestamp,
        text: &str,
    ) -> Result<(Need, NeedFeedback), NeedUpdateError> {
        let mut v = Violations::new("");
        v.text("text", text, true, 4000);
        v.into_result()?;
        if self.status == NeedStatus::Draft {
            return Err(NeedUpdateError::Rule(TransitionError::Rule {
                reason: "NOT_SUBMITTED",
                message: "feedback can be added once the need is submitted".to_owned(),
            }));
        }
        let mut next = self.clone();
        next.updated_at = now;
        next.updated_by = who.clone();
        let entry = NeedFeedback {
            text: text.to_owned(),
            at: now,
            author: who.clone(),
        };
        Ok((next, entry))
    }

    /// FULFILLED → CLOSED, once outcome feedback exists.
    pub fn close(
        &self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Need, TransitionError> {
        let next = self.move_to(NeedStatus::Closed, actor, who, now, "")?;
        if self.feedback.is_empty() {
            return Err(TransitionError::Rule {
                reason: "FEEDBACK_MISSING",
                message: "add outcome feedback (AddNeedFeedback) before closing the need"
                    .to_owned(),
            });
        }
        Ok(next)
    }
}

fn require_reason(reason: &str) -> Result<(), TransitionError> {
    if reason.trim().is_empty() || reason.chars().count() > 2000 {
        return Err(TransitionError::Rule {
            reason: "REASON_REQUIRED",
            message: "give a reason of 1 to 2000 characters".to_owned(),
        });
    }
    Ok(())
}

/// Why an update was refused: bad values, or a rule of the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NeedUpdateError {
    /// Bad values.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A rule of the current status.
    #[error(transparent)]
    Rule(#[from] TransitionError),
}

/// How much of a need agreed matches cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Nothing agreed.
    Nothing,
    /// Part of the budget.
    Partial,
    /// All of it (or a need without a budget has an agreed match).
    Full,
}

impl Need {
    /// Moves a circulated need to the status its coverage implies (CIRCULATED,
    /// PARTIALLY_MATCHED or MATCHED), one lifecycle edge at a time as the system. Needs
    /// in other statuses are returned unchanged.
    pub fn with_coverage(
        &self,
        c: Coverage,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Need, TransitionError> {
        use NeedStatus as S;
        if !matches!(
            self.status,
            S::Circulated | S::PartiallyMatched | S::Matched
        ) {
            return Ok(self.clone());
        }
        let target = match c {
            Coverage::Nothing => S::Circulated,
            Coverage::Partial => S::PartiallyMatched,
            Coverage::Full => S::Matched,
        };
        let mut n = self.clone();
        while n.status != target {
            let step = match (n.status, target) {
                (S::Matched, _)
                | (S::Circulated, S::PartiallyMatched)
                | (S::PartiallyMatched, S::Circulated) => {
                    if n.status == S::Matched {
                        S::PartiallyMatched
                    } else {
                        target
                    }
                }
                (_, t) => t,
            };
            n = n.move_to(step, Actor::System, who, now, "derived from agreed matches")?;
        }
        Ok(n)
    }

    /// A MATCHED need whose matches are all completed becomes FULFILLED.
    pub fn fulfilled(&self, who: &PrincipalId, now: Timestamp) -> Result<Need, TransitionError> {
        if self.status == NeedStatus::Matched {
            self.move_to(
                NeedStatus::Fulfilled,
                Actor::System,
                who,
                now,
                "every agreed match completed",
            )
        } else {
            Ok(self.clone())
        }
    }
}
