//! How each response is shown: the columns of each list, the fields of each resource,
//! and the blocks of the matching answers. Commands call these; new commands (reports,
//! worklists) add a function here that builds a [`Doc`](super::output::Doc) from their
//! response and reuse the same table, CSV and JSON rendering.

pub mod admin;
pub mod cells;
pub mod matches;
pub mod matching;
pub mod need;
pub mod offer;
pub mod party;
pub mod tune;

#[cfg(test)]
mod tests;
