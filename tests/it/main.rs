//! End-to-end tests: the real server over loopback, called with the generated clients.

mod auth;
mod bad_input;
mod crash;
mod deploy;
mod durability;
mod matches;
mod matching;
mod needs;
mod offers;
mod parties;
mod persistence;
mod support;
mod visibility;
mod watch;
