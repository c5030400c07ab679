//! Parties: States and organizations that request or provide assistance.

use crate::{
    codes::PartyKind,
    geo::{self, Country},
    ids::{PartyId, PrincipalId},
    time::Timestamp,
    validation::{ValidationError, Violations},
};

/// The editable substance of a party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyFields {
    /// Kind; immutable after creation.
    pub kind: Option<PartyKind>,
    /// Full name.
    pub display_name: String,
    /// Acronym.
    pub short_name: String,
    /// ISO3 code: the State itself, or an organization's seat (optional).
    pub country_code: String,
    /// Submitter-chosen id, unique among parties.
    pub external_id: String,
    /// Description.
    pub description: String,
}

/// A registered party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Id (`state-ISO3` for States).
    pub id: PartyId,
    /// Version, from 1; the etag.
    pub version: u64,
    /// Kind.
    pub kind: PartyKind,
    /// Substance.
    pub fields: PartyFields,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Creator.
    pub created_by: PrincipalId,
}

/// Fields an update mask may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyField {
    /// `display_name`.
    DisplayName,
    /// `short_name`.
    ShortName,
    /// `country_code` (organizations only).
    CountryCode,
    /// `external_id`.
    ExternalId,
    /// `description`.
    Description,
}

impl PartyField {
    /// Parses a field-mask path.
    pub fn parse(path: &str) -> Option<PartyField> {
        Some(match path {
            "display_name" => PartyField::DisplayName,
            "short_name" => PartyField::ShortName,
            "country_code" => PartyField::CountryCode,
            "external_id" => PartyField::ExternalId,
            "description" => PartyField::Description,
            _ => return None,
        })
    }

    /// Every field-mask path [`PartyField::parse`] accepts.
    pub fn mask_paths() -> Vec<String> {
        [
            "display_name",
            "short_name",
            "country_code",
            "external_id",
            "description",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Copies this field from `src` into `dst`.
    pub fn apply(self, dst: &mut PartyFields, src: &PartyFields) {
        match self {
            PartyField::DisplayName => dst.display_name.clone_from(&src.display_name),
            PartyField::ShortName => dst.short_name.clone_from(&src.short_name),
            PartyField::CountryCode => dst.country_code.clone_from(&src.country_code),
            PartyField::ExternalId => dst.external_id.clone_from(&src.external_id),
            PartyField::Description => dst.description.clone_from(&src.description),
        }
    }
}

impl PartyFields {
    /// Validates, returning the kind.
    pub fn validate(&self, v: &mut Violations) -> Option<PartyKind> {
        v.text("display_name", &self.display_name, true, 200);
        v.text("short_name", &self.short_name, false, 32);
        v.text("external_id", &self.external_id, false, 128);
        v.text("description", &self.description, false, 4000);
        if self.kind.is_none() {
            v.add("kind", "is required; use STATE, INTERNATIONAL_ORGANIZATION, REGIONAL_ORGANIZATION, NGO_ACADEMIC or GP_INITIATIVE");
        }
        if self.kind == Some(PartyKind::State) && self.country_code.is_empty() {
            v.add("country_code", "is required for a State");
        } else if !self.country_code.is_empty() {
            geo::check_country(v, "country_code", &self.country_code);
        }
        self.kind
    }
}

impl Party {
    /// Builds a new party, validating every field. States get the id `state-ISO3`.
    pub fn new(
        generated_id: PartyId,
        fields: PartyFields,
        now: Timestamp,
        actor: PrincipalId,
    ) -> Result<Party, ValidationError> {
        let mut v = Violations::new("party");
        let kind = fields.validate(&mut v);
        v.into_result()?;
        let kind = kind.ok_or_else(|| ValidationError::single("party.kind", "is required"))?;
        let id = if kind == PartyKind::State {
            PartyId::for_state(&fields.country_code)
        } else {
            generated_id
        };
        Ok(Party {
            id,
            version: 1,
            kind,
            fields,
            created_at: now,
            updated_at: now,
            created_by: actor,
        })
    }

    /// Applies a masked update, validating the result. A State's country cannot change.
    pub fn updated(
        &self,
        src: &PartyFields,
        mask: &[PartyField],
        now: Timestamp,
    ) -> Result<Party, ValidationError> {
        let mut next = self.clone();
        let mut v = Violations::new("party");
        for f in mask {
            if *f == PartyField::CountryCode
                && self.kind == PartyKind::State
                && src.country_code != self.fields.country_code
            {
                v.add("country_code", "a State's country code cannot change");
            }
            f.apply(&mut next.fields, src);
        }
        next.fields.kind = Some(self.kind);
        next.fields.validate(&mut v);
        v.into_result()?;
        next.updated_at = now;
        Ok(next)
    }

    /// The country of the party, if it names one.
    pub fn country(&self) -> Option<&'static Country> {
        geo::country(&self.fields.country_code)
    }
}
