//! Reports of Clearinghouse, computed from domain records and rendered for people and
//! programs. Pure: no I/O, no clock, no randomness; the same input gives the same bytes.
//!
//! # Entry points
//!
//! Every report takes one [`ReportInput`]: borrowed needs, offers, matches and parties,
//! today's date, the exchange rates (their base currency is the report's currency), the
//! [`Viewer`] and a [`ReportFilter`].
//!
//! - [`coverage::coverage`]: needs by thematic area × M49 region and by sub-area, matched /
//!   partially / unmatched, estimated budgets and the funded share;
//! - [`ageing::ageing`]: unmatched needs by months since the request, and the 12-month
//!   follow-up list;
//! - [`match_volume::match_volume`]: matches by status and by funding mode, with volumes;
//! - [`portfolio::portfolio`]: per provider, offers, capacity, reservations, matches by stage;
//! - [`pipeline::pipeline`]: per Global Partnership sub-working group, needs and matches by
//!   stage;
//! - [`worklist::worklist`]: a broker's day (authentications, consent windows, unmatched
//!   needs with their best candidate, answers awaited, follow-ups, expiring offers);
//! - [`Brief::build`]: the reports a periodic matchmaking brief holds, in one value.
//!
//! Renderers ([`render`]): a plain-text table that fits a terminal width, CSV (one
//! documented table per report), JSON (serde), one self-contained HTML file with SVG
//! charts, and the IATI 2.03 activity XML export ([`iati::IatiExport`], streamable: a
//! header, one activity at a time, a footer).
//!
//! # Invariants
//!
//! - **Confidential rows never reach a viewer who may not see them.** A need marked
//!   `COMMITTEE_ONLY` appears as a row (in a list, a worklist or the IATI export) only
//!   for brokers and admins; every other viewer gets it as a count
//!   ([`HiddenRows`]). Rows of needs outside a viewer's audience (for example a
//!   `PROVIDERS` need for an analyst) are withheld the same way.
//! - **Nothing is silently dropped.** An amount whose currency has no exchange rate is
//!   left out of money figures and its need or match is counted as such, with the
//!   missing currencies named.
//! - **Every money figure of a report is in the base currency**, in minor units
//!   (`*_minor` fields); the currency is `meta.base_currency`. Shares are in basis points
//!   (1/100 of a percent), rounded down, and each says what it is a share of.
//! - **Stable order**: rows follow the taxonomy and code-list order, then dates, then ids.
//! - **No contact details** ever: reports never read a need's or offer's point of contact.

pub mod ageing;
pub mod brief;
pub mod classify;
pub mod coverage;
pub mod error;
pub mod filter;
pub mod iati;
pub mod input;
pub mod markup;
pub mod match_volume;
pub mod meta;
pub mod money;
pub mod pipeline;
pub mod portfolio;
pub mod render;
pub mod viewer;
pub mod worklist;

pub use brief::{Brief, Report};
pub use error::ReportError;
pub use filter::{FilterProblem, GeoFilter, ReportFilter};
pub use input::ReportInput;
pub use meta::ReportMeta;
pub use viewer::{HiddenRows, RowAccess, Viewer};
