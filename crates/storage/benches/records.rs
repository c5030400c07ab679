//! What writing and reading a stored need or offer costs (`Resource::encode` /
//! `Resource::decode`): every create and update encodes its record, and the matching
//! index encodes the slim copy of each need and offer it keeps when built from the store.
//!
//! Run: `cargo bench -p clearinghouse-storage --bench records`.

#[path = "../tests/support/fixtures.rs"]
mod fixtures;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use clearinghouse_domain::{Need, Offer, StatusChange};
use clearinghouse_storage::Resource;
use fixtures::*;

/// A need as a requesting State writes one: a title, a few hundred characters of
/// description, two languages, one status change.
fn full_need() -> Need {
    let mut n = need("01JNEED", &state("KEN"), "Control lists for dual-use goods");
    n.fields.description =
        "Two-week course on dual-use control lists for licensing officers. ".repeat(5);
    n.fields.languages = vec!["en".into(), "fr".into()];
    n.history.push(StatusChange {
        from: Some("DRAFT".into()),
        to: "SUBMITTED".into(),
        at: T0,
        actor: actor(),
        reason: "sent".into(),
    });
    n
}

/// The need without its text and history, as the matching index keeps it.
fn slim_need() -> Need {
    let mut n = full_need();
    n.fields.title.clear();
    n.fields.description.clear();
    n.history.clear();
    n
}

fn records(c: &mut Criterion) {
    let mut g = c.benchmark_group("records");
    let cases: [(&str, Need); 2] = [("need", full_need()), ("slim need", slim_need())];
    for (name, n) in &cases {
        g.bench_function(format!("encode {name}"), |b| {
            b.iter(|| black_box(n).encode().expect("encodes"))
        });
        let bytes = n.encode().expect("encodes");
        g.bench_function(format!("decode {name}"), |b| {
            b.iter(|| Need::decode(black_box(&bytes)).expect("decodes"))
        });
    }
    let o = offer("01JOFFER", "state-FRA");
    g.bench_function("encode offer", |b| {
        b.iter(|| black_box(&o).encode().expect("encodes"))
    });
    let bytes = o.encode().expect("encodes");
    g.bench_function("decode offer", |b| {
        b.iter(|| Offer::decode(black_box(&bytes)).expect("decodes"))
    });
    g.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
