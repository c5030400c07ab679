//! Matching answers: ranked candidates with their explanations, why a pair does not fit,
//! consortia and allocation plans.

use super::cells::{amount, score};
use crate::{
    cli::{
        enums::{ALLOCATION_METHOD, CONSORTIUM_METHOD, label},
        output::{Block, Doc, Grid, Mode},
    },
    pb,
};

/// A candidate's name, then its factors as a list beneath it (one wrapping column).
fn named_factors(name: &str, f: &[pb::FitFactor]) -> String {
    let mut out = name.to_owned();
    for x in f {
        out.push_str(&format!("\n- {:<10} {:.2}  {}", x.name, x.value, x.reason));
    }
    out
}

/// The factors as `name=value` pairs on one line (CSV).
fn factors_flat(f: &[pb::FitFactor]) -> String {
    f.iter()
        .map(|x| format!("{}={:.3}: {}", x.name, x.value, x.reason))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Offers ranked for a need (`match candidates`).
pub fn offer_candidates(need_id: &str, c: &[pb::OfferCandidate]) -> Doc {
    let mut table = Grid::new(&["#", "OFFER", "PROVIDER", "SCORE", "PROGRAMME AND WHY"]);
    let mut csv = Grid::new(&[
        "rank",
        "offer_id",
        "provider_party_id",
        "programme_name",
        "score",
        "explanation",
    ]);
    for (i, x) in c.iter().enumerate() {
        table.push(vec![
            (i + 1).to_string(),
            x.offer_id.clone(),
            x.provider_party_id.clone(),
            score(x.score),
            named_factors(&x.programme_name, &x.factors),
        ]);
        csv.push(vec![
            (i + 1).to_string(),
            x.offer_id.clone(),
            x.provider_party_id.clone(),
            x.programme_name.clone(),
            score(x.score),
            factors_flat(&x.factors),
        ]);
    }
    Doc {
        blocks: vec![
            Block::Line(format!(
                "{} offer(s) fit need {need_id}, best first:",
                c.len()
            )),
            Block::Grid(table),
        ],
        csv,
    }
}

/// Needs ranked for an offer (`match needs-for-offer`).
pub fn need_candidates(offer_id: &str, c: &[pb::NeedCandidate]) -> Doc {
    let mut table = Grid::new(&["#", "NEED", "REQUESTER", "SCORE", "TITLE AND WHY"]);
    let mut csv = Grid::new(&[
        "rank",
        "need_id",
        "requester_party_id",
        "title",
        "score",
        "explanation",
    ]);
    for (i, x) in c.iter().enumerate() {
        table.push(vec![
            (i + 1).to_string(),
            x.need_id.clone(),
            x.requester_party_id.clone(),
            score(x.score),
            named_factors(&x.title, &x.factors),
        ]);
        csv.push(vec![
            (i + 1).to_string(),
            x.need_id.clone(),
            x.requester_party_id.clone(),
            x.title.clone(),
            score(x.score),
            factors_flat(&x.factors),
        ]);
    }
    Doc {
        blocks: vec![
            Block::Line(format!(
                "{} need(s) fit offer {offer_id}, best first:",
                c.len()
            )),
            Block::Grid(table),
        ],
        csv,
    }
}

/// Why a pair fits or not (`match why-not`).
pub fn explain(need_id: &str, offer_id: &str, r: &pb::ExplainFitResponse) -> Doc {
    let mut csv = Grid::new(&["kind", "name", "value", "weight", "reason"]);
    let mut blocks = Vec::new();
    if r.is_candidate {
        blocks.push(Block::Line(format!(
            "offer {offer_id} fits need {need_id}: score {}",
            score(r.score)
        )));
        let mut g = Grid::new(&["FACTOR", "VALUE", "WEIGHT", "ADDS", "WHY"]);
        for f in &r.factors {
            g.push(vec![
                f.name.clone(),
                format!("{:.2}", f.value),
                format!("{:.2}", f.weight),
                format!("{:.3}", f.contribution),
                f.reason.clone(),
            ]);
            csv.push(vec![
                "factor".into(),
                f.name.clone(),
                format!("{:.3}", f.value),
                format!("{:.3}", f.weight),
                f.reason.clone(),
            ]);
        }
        blocks.push(Block::Grid(g));
    } else {
        blocks.push(Block::Line(format!(
            "offer {offer_id} is not a candidate for need {need_id}; it fails {} hard filter(s):",
            r.failed_filters.len()
        )));
        let mut g = Grid::new(&["FILTER", "WHY"]);
        for f in &r.failed_filters {
            g.push(vec![f.filter.clone(), f.reason.clone()]);
            csv.push(vec![
                "failed_filter".into(),
                f.filter.clone(),
                String::new(),
                String::new(),
                f.reason.clone(),
            ]);
        }
        blocks.push(Block::Grid(g));
    }
    Doc { blocks, csv }
}

/// A proposed consortium (`match consortium`).
pub fn consortium(need_id: &str, r: &pb::SuggestConsortiumResponse) -> Doc {
    let h = Mode::Human;
    let mut g = Grid::new(&["OFFER", "PROVIDER", "CONTRIBUTION", "SCORE"]);
    let mut csv = Grid::new(&["offer_id", "provider_party_id", "amount", "score"]);
    for m in &r.members {
        g.push(vec![
            m.offer_id.clone(),
            m.provider_party_id.clone(),
            amount(m.amount.as_ref(), h),
            score(m.score),
        ]);
        csv.push(vec![
            m.offer_id.clone(),
            m.provider_party_id.clone(),
            amount(m.amount.as_ref(), Mode::Machine),
            score(m.score),
        ]);
    }
    let summary = format!(
        "covered {}, uncovered {} ({} method, {} joint or pooled offer(s) considered)",
        amount(r.covered.as_ref(), h),
        amount(r.uncovered.as_ref(), h),
        label(CONSORTIUM_METHOD, r.method).to_lowercase(),
        r.candidates_considered
    );
    Doc {
        blocks: vec![
            Block::Line(format!("Consortium for need {need_id}:")),
            Block::Grid(g),
            Block::Line(summary),
        ],
        csv,
    }
}

/// A dry-run allocation plan (`match plan`).
pub fn plan(r: &pb::PlanAllocationResponse) -> Doc {
    let h = Mode::Human;
    let mut g = Grid::new(&["NEED", "OFFER", "AMOUNT", "SCORE"]);
    let mut csv = Grid::new(&["need_id", "offer_id", "amount", "score"]);
    for l in &r.lines {
        g.push(vec![
            l.need_id.clone(),
            l.offer_id.clone(),
            amount(l.amount.as_ref(), h),
            score(l.score),
        ]);
        csv.push(vec![
            l.need_id.clone(),
            l.offer_id.clone(),
            amount(l.amount.as_ref(), Mode::Machine),
            score(l.score),
        ]);
    }
    let mut unfunded = Grid::new(&["UNFUNDED NEED", "WHY"]);
    for u in &r.unfunded {
        unfunded.push(vec![u.need_id.clone(), u.reason.clone()]);
    }
    let mut blocks = vec![
        Block::Line(format!(
            "Plan over {} need(s) and {} offer(s): {} line(s), objective {:.3} \
             (single-donor {}, joint {}). Nothing is applied.",
            r.needs_considered,
            r.offers_considered,
            r.lines.len(),
            r.objective,
            label(ALLOCATION_METHOD, r.single_donor_method).to_lowercase(),
            label(ALLOCATION_METHOD, r.joint_method).to_lowercase()
        )),
        Block::Grid(g),
    ];
    if !r.unfunded.is_empty() {
        blocks.push(Block::Grid(unfunded));
    }
    Doc { blocks, csv }
}
