//! End-to-end tests: the real server over loopback, called with the generated clients.

mod audit_chain;
mod auth;
mod backup;
mod bad_input;
mod browser;
mod cli;
mod console;
mod crash;
mod decisions;
mod demo;
mod deploy;
mod durability;
mod history;
mod http;
mod index_file;
mod intake;
mod leaks;
mod logs;
mod matches;
mod matching;
mod metrics;
mod needs;
mod offers;
mod parties;
mod persistence;
#[path = "../../crates/storage/tests/support/pg_server.rs"]
mod pg_server;
mod replicas;
mod reports;
mod security;
mod support;
mod tls;
mod visibility;
mod watch;
mod web;
