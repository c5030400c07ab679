//! Pure domain of Clearinghouse: parties, needs, offers, principals, the 1540 taxonomy,
//! countries and M49 regions, lifecycles and validation.
//!
//! Invariant: no I/O, no clock, no randomness, no async. `now` and ids come in as
//! arguments, so the same input always gives the same output. Values are valid by
//! construction: every constructor validates and reports every bad field at once.

pub mod audit;
pub mod codes;
pub mod consent;
pub mod field_mask;
pub mod geo;
pub mod ids;
pub mod matches;
pub mod money;
pub mod need;
pub mod need_status;
pub mod offer;
pub mod offer_status;
pub mod party;
pub mod principal;
pub mod settings;
pub mod taxonomy;
pub mod time;
pub mod transition;
pub mod validation;

pub use audit::{AuditEntry, AuditLink};
pub use codes::{
    AssistanceKind, BudgetStatus, FundingMode, GpSubWorkingGroup, PartyKind, Priority,
    PublicationConsent, SubmissionChannel, Visibility, WeaponDomain,
};
pub use geo::{Country, GeoScope};
pub use ids::{NeedId, OfferId, PartyId, PrincipalId};
pub use matches::{Match, MatchStatus};
pub use money::{CurrencyCode, Money};
pub use need::{FeedbackEntry, Need, NeedFeedback, NeedField, NeedFields};
pub use need_status::NeedStatus;
pub use offer::{Offer, OfferField, OfferFields};
pub use offer_status::OfferStatus;
pub use party::{Party, PartyField, PartyFields};
pub use principal::{Principal, Role};
pub use settings::MatchingSettings;
pub use taxonomy::{Area, SubArea};
pub use time::{Date, Timestamp};
pub use transition::{StatusChange, TransitionError};
pub use validation::{FieldViolation, ValidationError, Violations};
