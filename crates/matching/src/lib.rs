//! The pure matching engine of Clearinghouse (`matching.md`).
//!
//! - [`fit`]: hard filters and weighted soft factors of one need–offer pair, with an
//!   explanation a broker can read aloud;
//! - [`engine`]: offers and needs in posting lists ([`index`]) with a bounded top-k per
//!   need, updated incrementally; [`naive`] is the all-pairs reference it must agree with;
//! - [`consortium`]: the set of joint offers that best covers a jointly funded need.
//!
//! Invariants: no I/O, no clock, no randomness; `today` and the policy come in as
//! arguments; the same input always gives the same ranking (ties break by earlier
//! creation, then id).

pub mod allocation;
pub mod consortium;
pub mod engine;
pub mod features;
pub mod fit;
pub mod index;
pub mod naive;
pub mod policy;
pub mod rank;
pub mod rates;
pub mod synth;

pub use engine::Engine;
pub use fit::{Explanation, FitContext, NeedStage, Rejection};
pub use policy::{Policy, Weights};
pub use rank::Ranked;
pub use rates::{ExchangeRates, Rate};
