//! End-to-end tests: the real server over loopback, called with the generated clients.

mod audit_chain;
mod auth;
mod backup;
mod bad_input;
mod browser;
mod cli;
mod console;
mod crash;
mod durability;
mod history;
mod http;
mod intake;
mod leaks;
mod matches;
mod matching;
mod needs;
mod offers;
mod parties;
mod persistence;
mod reports;
mod security;
mod support;
mod visibility;
mod watch;
mod web;
