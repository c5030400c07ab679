//! End-to-end tests: the real server over loopback, called with the generated clients.

mod audit_chain;
mod auth;
mod backup;
mod bad_input;
mod crash;
mod durability;
mod history;
mod leaks;
mod matches;
mod matching;
mod needs;
mod offers;
mod parties;
mod persistence;
mod support;
mod visibility;
mod watch;
