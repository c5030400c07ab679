//! `admin tune-weights`: the policy in force beside the proposal, weight by weight and
//! penalty by penalty, and the held-out figures of both.

use serde::Serialize;

use super::cells::pairs;
use crate::{
    cli::{
        failure::CliError,
        output::{Block, Doc, Grid},
        tune_weights::Tuned,
    },
    pb,
};

/// (name, current, proposed) of each weight, then each penalty.
fn rows(cur: &pb::MatchingPolicy, prop: &pb::MatchingPolicy) -> Vec<(&'static str, f64, f64)> {
    vec![
        ("thematic", cur.thematic_weight, prop.thematic_weight),
        ("geography", cur.geography_weight, prop.geography_weight),
        ("funding", cur.funding_weight, prop.funding_weight),
        ("budget", cur.budget_weight, prop.budget_weight),
        ("assistance", cur.assistance_weight, prop.assistance_weight),
        ("timing", cur.timing_weight, prop.timing_weight),
        ("language", cur.language_weight, prop.language_weight),
        ("domain", cur.domain_weight, prop.domain_weight),
        (
            "specificity",
            cur.specificity_weight,
            prop.specificity_weight,
        ),
        (
            "missing_kinds_penalty",
            cur.missing_kinds_penalty,
            prop.missing_kinds_penalty,
        ),
        (
            "no_common_language_penalty",
            cur.no_common_language_penalty,
            prop.no_common_language_penalty,
        ),
        (
            "single_donor_shortfall_penalty",
            cur.single_donor_shortfall_penalty,
            prop.single_donor_shortfall_penalty,
        ),
    ]
}

fn change(a: f64, b: f64) -> String {
    let d = b - a;
    if d.abs() < 0.000_5 {
        String::new()
    } else {
        format!("{d:+.3}")
    }
}

/// The table and CSV of a fit.
pub fn report(t: &Tuned, proposed: &pb::MatchingPolicy) -> Doc {
    let mut g = Grid::new(&["SETTING", "CURRENT", "PROPOSED", "CHANGE"]);
    let mut csv = Grid::new(&["setting", "current", "proposed"]);
    for (name, c, p) in rows(&t.current, proposed) {
        g.push(vec![
            name.to_owned(),
            format!("{c:.3}"),
            format!("{p:.3}"),
            change(c, p),
        ]);
        csv.push(vec![name.to_owned(), c.to_string(), p.to_string()]);
    }
    let r = &t.report;
    let mut figures = Grid::new(&["HELD OUT", "CURRENT", "PROPOSED"]);
    let ndcg = format!("NDCG@{}", tune_ndcg_at());
    figures.push(vec![
        ndcg.clone(),
        format!("{:.3}", r.current_held_out.ndcg),
        format!("{:.3}", r.proposed_held_out.ndcg),
    ]);
    figures.push(vec![
        "pairwise accuracy".to_owned(),
        format!("{:.3}", r.current_held_out.pair_accuracy),
        format!("{:.3}", r.proposed_held_out.pair_accuracy),
    ]);
    for (name, c, p) in [
        (
            "held_out_ndcg",
            r.current_held_out.ndcg,
            r.proposed_held_out.ndcg,
        ),
        (
            "held_out_pair_accuracy",
            r.current_held_out.pair_accuracy,
            r.proposed_held_out.pair_accuracy,
        ),
    ] {
        csv.push(vec![name.to_owned(), c.to_string(), p.to_string()]);
    }
    Doc {
        blocks: vec![
            Block::Grid(g),
            Block::Grid(figures),
            Block::Fields(pairs(vec![
                ("Decisions read", t.decisions.to_string()),
                (
                    "Candidate lists",
                    format!(
                        "{} with a choice used, {} without one skipped",
                        r.lists_used, r.lists_skipped
                    ),
                ),
                (
                    "Cross-validation",
                    format!("{} folds, seed {}", t.folds, t.seed),
                ),
                ("Etag read before the fit", t.current.etag.clone()),
            ])),
        ],
        csv,
    }
}

fn tune_ndcg_at() -> usize {
    clearinghouse_matching::tune::TuneOptions::default().ndcg_at
}

/// One setting in the JSON output.
#[derive(Debug, Serialize)]
struct SettingJson {
    name: &'static str,
    current: f64,
    proposed: f64,
}

/// Figures of one policy in the JSON output.
#[derive(Debug, Serialize)]
struct FiguresJson {
    ndcg: f64,
    pair_accuracy: f64,
}

/// The JSON output of `admin tune-weights`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TuneJson {
    settings: Vec<SettingJson>,
    ndcg_at: usize,
    current_held_out: FiguresJson,
    proposed_held_out: FiguresJson,
    proposed_training: FiguresJson,
    decisions_read: usize,
    lists: usize,
    lists_used: usize,
    lists_skipped: usize,
    folds: usize,
    seed: u64,
    etag: String,
    changed_paths: Vec<String>,
}

/// The fit as JSON (camelCase names, like the API's JSON).
pub fn json(
    t: &Tuned,
    proposed: &pb::MatchingPolicy,
    paths: &[String],
) -> Result<String, CliError> {
    let r = &t.report;
    let f = |x: clearinghouse_matching::tune::Figures| FiguresJson {
        ndcg: x.ndcg,
        pair_accuracy: x.pair_accuracy,
    };
    let doc = TuneJson {
        settings: rows(&t.current, proposed)
            .into_iter()
            .map(|(name, current, proposed)| SettingJson {
                name,
                current,
                proposed,
            })
            .collect(),
        ndcg_at: tune_ndcg_at(),
        current_held_out: f(r.current_held_out),
        proposed_held_out: f(r.proposed_held_out),
        proposed_training: f(r.proposed_training),
        decisions_read: t.decisions,
        lists: t.lists,
        lists_used: r.lists_used,
        lists_skipped: r.lists_skipped,
        folds: t.folds,
        seed: t.seed,
        etag: t.current.etag.clone(),
        changed_paths: paths.to_vec(),
    };
    let mut s = serde_json::to_string_pretty(&doc)
        .map_err(|e| CliError::Io(format!("cannot write the JSON: {e}")))?;
    s.push('\n');
    Ok(s)
}
