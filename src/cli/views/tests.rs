//! Snapshots of rendered output: tables at a fixed width, CSV and JSON, for the lists and
//! records people read most.

use crate::{
    cli::{
        import::{
            Summary,
            send::{Outcome, RowResult},
        },
        output::{Printer, render},
        settings::Format,
    },
    pb,
};

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn money(cur: &str, minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: cur.into(),
        minor_units: minor,
    })
}

fn needs() -> Vec<pb::Need> {
    vec![
        pb::Need {
            id: "01JD2ZQ4K3V8M6W1X9Y7T5R3P2".into(),
            etag: "4".into(),
            external_id: "KEN-2026-01".into(),
            requester_party_id: "state-KEN".into(),
            title: "Control-list training for licensing officers".into(),
            description: "Two-week course for 25 licensing and customs officers on the dual-use control lists.".into(),
            area: pb::ThematicArea::ExportTransshipment as i32,
            sub_areas: vec![pb::SubArea::ControlLists as i32, pb::SubArea::ExportLicensing as i32],
            assistance_kinds: vec![pb::AssistanceKind::Training as i32],
            priority: pb::Priority::High as i32,
            wanted_from: "2027-02-01".into(),
            needed_by: "2027-09-30".into(),
            estimated_budget: money("USD", 25_000_000),
            accepted_funding_modes: vec![pb::FundingMode::SingleDonor as i32, pb::FundingMode::JointlyFunded as i32],
            preferred_funding_mode: pb::FundingMode::SingleDonor as i32,
            languages: vec!["en".into(), "sw".into()],
            country_code: "KEN".into(),
            region: "Africa".into(),
            subregion: "Eastern Africa".into(),
            publication_consent: pb::PublicationConsent::Granted as i32,
            visibility: pb::Visibility::Public as i32,
            contact: Some(pb::ContactPoint {
                name: "Strategic Trade Desk".into(),
                email: "stc@mfa.example.ke".into(),
                ..Default::default()
            }),
            status: pb::NeedStatus::Circulated as i32,
            follow_up_due: "2027-03-12".into(),
            create_time: ts(1_764_400_000),
            update_time: ts(1_764_403_600),
            status_history: vec![
                pb::StatusChange {
                    to_status: "DRAFT".into(),
                    change_time: ts(1_764_400_000),
                    actor_principal_id: "01JBROKER".into(),
                    ..Default::default()
                },
                pb::StatusChange {
                    from_status: "AUTHENTICATED".into(),
                    to_status: "CIRCULATED".into(),
                    change_time: ts(1_764_403_600),
                    actor_principal_id: "01JBROKER".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
        pb::Need {
            id: "01JD2ZQ9F1C3E5G7J9K1M3N5P7".into(),
            etag: "1".into(),
            external_id: "CARICOM-2026-01".into(),
            requester_party_id: "org-caricom".into(),
            title: "Regional model legislation on strategic trade".into(),
            area: pb::ThematicArea::LegislationEnforcement as i32,
            sub_areas: vec![pb::SubArea::LegislativeDrafting as i32],
            assistance_kinds: vec![pb::AssistanceKind::LegislativeAdvice as i32],
            needed_by: "2028-01-31".into(),
            estimated_budget: money("USD", 30_000_000),
            accepted_funding_modes: vec![pb::FundingMode::JointlyFunded as i32],
            country_code: "GUY".into(),
            beneficiary_countries: vec!["ATG".into(), "BRB".into()],
            status: pb::NeedStatus::Draft as i32,
            ..Default::default()
        },
        pb::Need {
            id: "01JD2ZQB2D4F6H8K0M2P4R6T8V".into(),
            etag: "2".into(),
            external_id: "SEN-2026-01".into(),
            requester_party_id: "state-SEN".into(),
            title: "Formation des douaniers au contrôle des biens à double usage".into(),
            area: pb::ThematicArea::BorderLawEnforcement as i32,
            sub_areas: vec![pb::SubArea::CustomsBorderTraining as i32],
            assistance_kinds: vec![pb::AssistanceKind::Training as i32],
            estimated_budget: money("EUR", 15_000_050),
            accepted_funding_modes: vec![pb::FundingMode::SingleDonor as i32],
            status: pb::NeedStatus::Submitted as i32,
            ..Default::default()
        },
    ]
}

fn table(width: u16) -> Printer {
    Printer {
        format: Format::Table,
        width: Some(width),
        color: false,
    }
}

fn as_format(format: Format) -> Printer {
    Printer {
        format,
        width: None,
        color: false,
    }
}

fn list_response() -> pb::ListNeedsResponse {
    pb::ListNeedsResponse {
        needs: needs(),
        next_page_token: String::new(),
    }
}

#[test]
fn need_list_as_a_table_fits_120_columns_keeping_ids_whole() {
    let r = list_response();
    let text = render(&table(120), &r, &super::need::list(&r.needs)).expect("render");
    assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");
    for n in &r.needs {
        assert!(text.contains(&n.id), "{text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn need_list_as_csv_carries_every_file_column() {
    let r = list_response();
    let text = render(&as_format(Format::Csv), &r, &super::need::list(&r.needs)).expect("render");
    insta::assert_snapshot!(text);
}

#[test]
fn need_as_json_is_the_proto3_mapping_of_the_response() {
    let n = needs().remove(0);
    let r = pb::GetNeedResponse {
        need: Some(n.clone()),
    };
    let text = render(&as_format(Format::Json), &r, &super::need::record(&n)).expect("render");
    insta::assert_snapshot!(text);
}

#[test]
fn need_record_as_a_table() {
    let n = needs().remove(0);
    let r = pb::GetNeedResponse {
        need: Some(n.clone()),
    };
    let text = render(&table(100), &r, &super::need::record(&n)).expect("render");
    insta::assert_snapshot!(text);
}

fn factor(name: &str, value: f64, weight: f64, reason: &str) -> pb::FitFactor {
    pb::FitFactor {
        name: name.into(),
        value,
        weight,
        contribution: value * weight,
        reason: reason.into(),
    }
}

fn candidates() -> pb::FindOffersForNeedResponse {
    pb::FindOffersForNeedResponse {
        candidates: vec![
            pb::OfferCandidate {
                offer_id: "01JD3A7Y2M4N6P8Q0R2S4T6V8W".into(),
                provider_party_id: "org-eu".into(),
                programme_name: "EU P2P Export Control Programme for dual-use goods".into(),
                score: 0.79,
                factors: vec![
                    factor(
                        "thematic",
                        0.7,
                        0.3,
                        "covers 2 of 2 sub-areas; through the whole area: control lists, export licensing",
                    ),
                    factor("geography", 0.5, 0.15, "offer is global"),
                    factor(
                        "funding",
                        1.0,
                        0.1,
                        "offer works in the preferred mode SINGLE_DONOR",
                    ),
                    factor(
                        "budget",
                        1.0,
                        0.15,
                        "offer can put USD 250,000.00 of the need's USD 250,000.00 (100%)",
                    ),
                ],
            },
            pb::OfferCandidate {
                offer_id: "01JD3A8B4C6D8E0F2G4H6J8K0M".into(),
                provider_party_id: "state-USA".into(),
                programme_name: "Export Control and Related Border Security, Africa".into(),
                score: 0.785,
                factors: vec![
                    factor("geography", 0.7, 0.15, "offer covers KEN's region"),
                    factor(
                        "assistance",
                        0.5,
                        0.1,
                        "not offered: TRANSLATION_DOCUMENTATION",
                    ),
                ],
            },
        ],
        next_page_token: String::new(),
    }
}

#[test]
fn candidates_as_a_table_fit_120_columns_with_their_explanations() {
    let r = candidates();
    let doc = super::matching::offer_candidates("01JD2ZQ4K3V8M6W1X9Y7T5R3P2", &r.candidates);
    let text = render(&table(120), &r, &doc).expect("render");
    assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn candidates_as_csv_put_each_explanation_on_its_row() {
    let r = candidates();
    let doc = super::matching::offer_candidates("01JD2ZQ4K3V8M6W1X9Y7T5R3P2", &r.candidates);
    insta::assert_snapshot!(render(&as_format(Format::Csv), &r, &doc).expect("render"));
}

fn agreed_match() -> pb::Match {
    pb::Match {
        id: "01JD4C2D4E6F8G0H2J4K6M8N0P".into(),
        etag: "3".into(),
        need_id: "01JD2ZQ4K3V8M6W1X9Y7T5R3P2".into(),
        requester_party_id: "state-KEN".into(),
        funding_mode: pb::FundingMode::SingleDonor as i32,
        contributions: vec![pb::Contribution {
            offer_id: "01JD3A7Y2M4N6P8Q0R2S4T6V8W".into(),
            provider_party_id: "org-eu".into(),
            role: pb::ContributionRole::Funding as i32,
            amount: money("EUR", 23_000_000),
            acceptance: pb::Acceptance::Accepted as i32,
            ..Default::default()
        }],
        requester_acceptance: pb::Acceptance::Accepted as i32,
        status: pb::MatchStatus::Agreed as i32,
        score: 0.79,
        origin: "BROKER".into(),
        iati_activity_status: 1,
        create_time: ts(1_764_407_200),
        update_time: ts(1_764_410_800),
        create_principal_id: "01JBROKER".into(),
        ..Default::default()
    }
}

#[test]
fn match_record_shows_its_contributions() {
    let m = agreed_match();
    let r = pb::GetMatchResponse {
        r#match: Some(m.clone()),
    };
    insta::assert_snapshot!(render(&table(100), &r, &super::matches::record(&m)).expect("render"));
}

#[test]
fn match_list_as_csv() {
    let r = pb::ListMatchesResponse {
        matches: vec![agreed_match()],
        next_page_token: String::new(),
    };
    insta::assert_snapshot!(
        render(
            &as_format(Format::Csv),
            &r,
            &super::matches::list(&r.matches)
        )
        .expect("render")
    );
}

fn import_results() -> Vec<RowResult> {
    vec![
        RowResult {
            line: 2,
            external_id: "KEN-2026-01".into(),
            outcome: Outcome::Created("01JD2ZQ4K3V8M6W1X9Y7T5R3P2".into()),
        },
        RowResult {
            line: 3,
            external_id: "KEN-2026-02".into(),
            outcome: Outcome::Existed,
        },
        RowResult {
            line: 4,
            external_id: "UGA-2026-01".into(),
            outcome: Outcome::Failed {
                code: tonic::Code::PermissionDenied,
                message: "this key acts for party state-KEN; it cannot record needs of state-UGA"
                    .into(),
            },
        },
    ]
}

#[test]
fn import_summary_in_each_format() {
    let results = import_results();
    let s = Summary::of(&results);
    let all = [Format::Table, Format::Csv, Format::Json]
        .map(|f| {
            let p = if f == Format::Table {
                table(100)
            } else {
                as_format(f)
            };
            s.render(p, "need", &results).expect("render")
        })
        .join("\n---\n");
    insta::assert_snapshot!(all);
}

fn tuned() -> (crate::cli::tune_weights::Tuned, pb::MatchingPolicy) {
    use clearinghouse_matching::{
        Gates, Policy, Weights,
        tune::{Figures, TuneReport},
    };
    let current = pb::MatchingPolicy {
        thematic_weight: 0.24,
        geography_weight: 0.10,
        funding_weight: 0.07,
        budget_weight: 0.10,
        assistance_weight: 0.08,
        timing_weight: 0.03,
        language_weight: 0.12,
        domain_weight: 0.08,
        specificity_weight: 0.18,
        missing_kinds_penalty: 0.6,
        no_common_language_penalty: 0.5,
        single_donor_shortfall_penalty: 0.6,
        top_k: 20,
        exact_consortium_max: 16,
        etag: "7".into(),
    };
    let proposed = Policy {
        weights: Weights::from_array([
            0.208, 0.157, 0.054, 0.123, 0.124, 0.034, 0.121, 0.062, 0.117,
        ]),
        gates: Gates::from_array([0.6, 0.5, 0.618]),
        ..crate::convert::policy::policy_in(&current)
    };
    let wire = crate::cli::tune_weights::proposed_policy(&current, &proposed);
    let t = crate::cli::tune_weights::Tuned {
        current,
        report: TuneReport {
            proposed,
            current_held_out: Figures {
                ndcg: 0.933,
                pair_accuracy: 0.989,
            },
            proposed_held_out: Figures {
                ndcg: 0.994,
                pair_accuracy: 0.999,
            },
            proposed_training: Figures {
                ndcg: 0.995,
                pair_accuracy: 0.999,
            },
            lists_used: 80,
            lists_skipped: 0,
        },
        decisions: 400,
        lists: 80,
        folds: 5,
        seed: 0,
    };
    (t, wire)
}

#[test]
fn tune_weights_shows_each_setting_current_beside_proposed_with_held_out_figures() {
    let (t, proposed) = tuned();
    let doc = super::tune::report(&t, &proposed);
    let text = render(&table(100), &proposed, &doc).expect("render");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    insta::assert_snapshot!(text);
    let csv = render(&as_format(Format::Csv), &proposed, &doc).expect("render");
    assert!(
        csv.starts_with("setting,current,proposed\nthematic,0.24,0.208\n"),
        "{csv}"
    );
    let paths = crate::cli::tune_weights::changed_paths(&t.current, &proposed);
    let json: serde_json::Value =
        serde_json::from_str(&super::tune::json(&t, &proposed, &paths).expect("json"))
            .expect("parse");
    assert_eq!(json["proposedHeldOut"]["ndcg"], 0.994);
    assert_eq!(json["settings"][0]["name"], "thematic");
    assert!(!paths.contains(&"missing_kinds_penalty".to_owned()));
}
