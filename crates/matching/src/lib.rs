//! The pure matching engine of Clearinghouse (`docs/matching.md`).
//!
//! - [`fit`]: hard filters, and must-have gates multiplied into weighted soft factors, of
//!   one need–offer pair, with an explanation a broker can read aloud (the factor
//!   functions live in `factors`, their words in `reasons`);
//! - [`engine`]: offers and needs in posting lists ([`index`]) with a bounded top-k per
//!   need, updated incrementally, over [`slim`] copies of the records; [`naive`] is the
//!   all-pairs reference it must agree with;
//! - [`consortium`]: the set of joint offers that best covers a jointly funded need;
//! - [`tune`]: weights and penalties fitted to recorded broker decisions, with
//!   cross-validated figures for the policy in force and the proposal.
//!
//! Invariants: no I/O, no clock, no randomness; `today` and the policy come in as
//! arguments; the same input always gives the same ranking (ties break by earlier
//! creation, then id).

pub mod allocation;
pub mod consortium;
pub mod engine;
mod factors;
pub mod features;
pub mod fit;
pub mod index;
pub mod naive;
pub mod policy;
pub mod rank;
pub mod rates;
mod reasons;
pub mod slim;
pub mod synth;
pub mod tune;

pub use engine::Engine;
pub use fit::{Explanation, FitContext, NeedStage, Rejection};
pub use policy::{Gates, Policy, Weights};
pub use rank::Ranked;
pub use rates::{ExchangeRates, Rate};
