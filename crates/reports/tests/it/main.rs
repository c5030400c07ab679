//! The reports crate's tests, in one binary: figures worked out by hand, visibility per
//! viewer, IATI schema validation, the HTML in a real browser, and rendering snapshots.

mod browser;
mod figures;
mod fixture;
mod iati;
mod snapshots;
mod visibility;
