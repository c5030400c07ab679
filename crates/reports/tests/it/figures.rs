//! Every report's figures on the fixture, against numbers worked out by hand (see the
//! table in `fixture.rs`). Amounts are USD cents; EUR converts at 1.10.

use clearinghouse_domain::{Area, GpSubWorkingGroup};
use clearinghouse_reports::{
    GeoFilter, ReportFilter, Viewer,
    ageing::ageing,
    coverage::{CoverageFigures, CoverageReport, coverage},
    match_volume::match_volume,
    pipeline::pipeline,
    portfolio::{StageCounts, portfolio},
    worklist::worklist,
};

use crate::fixture::{self, d};

fn figures(
    needs: u32,
    (matched, partially_matched, unmatched): (u32, u32, u32),
    (with_budget, without_budget, without_rate): (u32, u32, u32),
    (budget, funded, within): (i64, i64, i64),
    share: Option<u32>,
) -> CoverageFigures {
    CoverageFigures {
        needs,
        matched,
        partially_matched,
        unmatched,
        needs_with_budget: with_budget,
        needs_without_budget: without_budget,
        needs_without_rate: without_rate,
        estimated_budget_minor: budget,
        funded_minor: funded,
        funded_within_budget_minor: within,
        funded_share_bp: share,
    }
}

fn row<'a>(
    rows: &'a [clearinghouse_reports::coverage::CoverageRow],
    key: &str,
) -> &'a CoverageFigures {
    &rows
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("row {key}"))
        .figures
}

fn cell<'a>(r: &'a CoverageReport, area: &str, geo: &str) -> &'a CoverageFigures {
    &r.cells
        .iter()
        .find(|c| c.area == area && c.geo == geo)
        .unwrap_or_else(|| panic!("cell {area} {geo}"))
        .figures
}

#[test]
fn coverage_counts_authenticated_and_later_needs_and_funds_them_from_reserving_matches() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let r = coverage(&data.input(&viewer, &filter));

    // n1..n10 less n6 (SUBMITTED) and n7 (WITHDRAWN). Budgets: n1 10,000,000; n2
    // 20,000,000; n3 EUR 8,000,000 = 8,800,000; n8 3,000,000. Funded: n2 5,000,000 (m1);
    // n3 EUR 9,000,000 = 9,900,000 (m2), within its budget 8,800,000. n5 (JPY budget) and
    // n10 (JPY pledge) have no rate. Share 13,800,000 / 41,800,000 = 33.01 %.
    assert_eq!(
        r.total,
        figures(
            8,
            (2, 1, 5),
            (4, 2, 2),
            (41_800_000, 14_900_000, 13_800_000),
            Some(3301)
        )
    );
    assert_eq!(r.geo_level, "M49 region");
    assert_eq!(
        r.columns,
        vec!["Africa", "Americas", "Asia", "Europe", "Oceania"]
    );
    assert_eq!(
        *row(&r.by_geo, "Africa"),
        figures(
            2,
            (0, 1, 1),
            (2, 0, 0),
            (30_000_000, 5_000_000, 5_000_000),
            Some(1666)
        )
    );
    assert_eq!(
        *row(&r.by_geo, "Americas"),
        figures(
            4,
            (2, 0, 2),
            (2, 1, 1),
            (11_800_000, 9_900_000, 8_800_000),
            Some(7457)
        )
    );
    assert_eq!(
        *row(&r.by_geo, "Asia"),
        figures(2, (0, 0, 2), (0, 1, 1), (0, 0, 0), None)
    );
    assert_eq!(*row(&r.by_geo, "Europe"), CoverageFigures::default());

    assert_eq!(r.by_area.len(), 7);
    assert_eq!(
        *row(&r.by_area, "EXPORT_TRANSSHIPMENT"),
        figures(
            4,
            (1, 0, 3),
            (3, 1, 0),
            (21_800_000, 9_900_000, 8_800_000),
            Some(4036)
        )
    );
    assert_eq!(
        *row(&r.by_area, "BORDER_LAW_ENFORCEMENT"),
        figures(
            1,
            (0, 1, 0),
            (1, 0, 0),
            (20_000_000, 5_000_000, 5_000_000),
            Some(2500)
        )
    );
    assert_eq!(
        *row(&r.by_area, "ACCOUNTING_SECURITY"),
        figures(2, (1, 0, 1), (0, 0, 2), (0, 0, 0), None)
    );
    assert_eq!(
        *row(&r.by_area, "PHYSICAL_PROTECTION"),
        figures(1, (0, 0, 1), (0, 1, 0), (0, 0, 0), None)
    );
    assert_eq!(
        *row(&r.by_area, "CROSS_CUTTING"),
        CoverageFigures::default()
    );

    assert_eq!(r.cells.len(), 7 * 5);
    assert_eq!(
        *cell(&r, "EXPORT_TRANSSHIPMENT", "Americas"),
        figures(
            3,
            (1, 0, 2),
            (2, 1, 0),
            (11_800_000, 9_900_000, 8_800_000),
            Some(7457)
        )
    );
    assert_eq!(
        *cell(&r, "EXPORT_TRANSSHIPMENT", "Africa"),
        figures(1, (0, 0, 1), (1, 0, 0), (10_000_000, 0, 0), Some(0))
    );
    assert_eq!(
        *cell(&r, "ACCOUNTING_SECURITY", "Asia"),
        figures(1, (0, 0, 1), (0, 0, 1), (0, 0, 0), None)
    );

    let subs: Vec<(&str, u32)> = r
        .by_sub_area
        .iter()
        .map(|s| (s.key.as_str(), s.figures.needs))
        .collect();
    assert_eq!(
        subs,
        vec![
            ("ACCOUNTING_SECURITY.MATERIAL_ACCOUNTING", 1),
            ("ACCOUNTING_SECURITY.RADIOACTIVE_SOURCE_SECURITY", 1),
            ("PHYSICAL_PROTECTION.INSIDER_THREAT", 1),
            ("BORDER_LAW_ENFORCEMENT.DETECTION_EQUIPMENT", 1),
            ("EXPORT_TRANSSHIPMENT.EXPORT_LICENSING", 1),
            ("EXPORT_TRANSSHIPMENT.CONTROL_LISTS", 3),
            ("EXPORT_TRANSSHIPMENT.TRANSIT_TRANSSHIPMENT", 1),
        ]
    );
    assert_eq!(
        *row(&r.by_sub_area, "EXPORT_TRANSSHIPMENT.CONTROL_LISTS"),
        figures(
            3,
            (1, 0, 2),
            (3, 0, 0),
            (21_800_000, 9_900_000, 8_800_000),
            Some(4036)
        )
    );
    assert_eq!(r.missing_rates, vec!["JPY"]);
    assert!(
        r.meta
            .notes
            .iter()
            .any(|n| n.contains("2 need(s)") && n.contains("JPY")),
        "{:?}",
        r.meta.notes
    );
}

#[test]
fn coverage_with_a_region_filter_uses_its_sub_regions_and_period() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter {
        geography: Some(GeoFilter::Region("Americas".to_owned())),
        requested_from: Some(d("2024-12-01")),
        ..ReportFilter::default()
    };
    let r = coverage(&data.input(&viewer, &filter));
    assert_eq!(r.geo_level, "M49 sub-region");
    assert_eq!(
        r.columns,
        vec![
            "Caribbean",
            "Central America",
            "Northern America",
            "South America"
        ]
    );
    // n3 (PER, 2025-03-15), n4 and n8 (JAM); n10 (2024-06-01) is before the period.
    assert_eq!(
        r.total,
        figures(
            3,
            (1, 0, 2),
            (2, 1, 0),
            (11_800_000, 9_900_000, 8_800_000),
            Some(7457)
        )
    );
    assert_eq!(
        *row(&r.by_geo, "Caribbean"),
        figures(2, (0, 0, 2), (1, 1, 0), (3_000_000, 0, 0), Some(0))
    );
    assert_eq!(
        r.meta.filters,
        vec!["request date from 2024-12-01", "M49 region Americas"]
    );
}

#[test]
fn ageing_buckets_unmatched_needs_and_lists_due_follow_ups_most_overdue_first() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let r = ageing(&data.input(&viewer, &filter));
    // Unmatched: n1 (13 months, HIGH), n4 (5, MEDIUM, confidential), n5 (0, LOW),
    // n8 (15, HIGH, confidential), n9 (7, MEDIUM).
    let got: Vec<(&str, u32, u32, u32, u32, u32)> = r
        .buckets
        .iter()
        .map(|b| {
            (
                b.label.as_str(),
                b.needs,
                b.high,
                b.medium,
                b.low,
                b.confidential,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("0-6 months", 2, 0, 1, 1, 1),
            ("6-12 months", 1, 0, 1, 0, 0),
            ("12+ months", 2, 2, 0, 0, 1),
        ]
    );
    assert_eq!(r.unmatched_needs, 5);
    // Follow-ups: n8 due 2025-12-01 (90 days), n1 due 2026-01-10 (50 days).
    assert_eq!(r.follow_ups_due, 2);
    let rows: Vec<(&str, &str, i32, u32)> = r
        .follow_ups
        .iter()
        .map(|f| {
            (
                f.need_id.as_str(),
                f.follow_up_due.as_str(),
                f.days_overdue,
                f.months_open,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("n8", "2025-12-01", 90, 15), ("n1", "2026-01-10", 50, 13)]
    );
    assert_eq!(r.follow_ups[1].requester, "Kenya");
    assert_eq!(r.follow_ups_hidden.total(), 0);
}

#[test]
fn matches_by_status_count_all_and_by_funding_mode_only_committed_volume() {
    let data = fixture::data();
    let viewer = Viewer::analyst();
    let filter = ReportFilter::default();
    let r = match_volume(&data.input(&viewer, &filter));
    let status: Vec<(&str, u32, i64, u32, u32)> = r
        .by_status
        .iter()
        .map(|s| {
            (
                s.key.as_str(),
                s.matches,
                s.volume_minor,
                s.matches_without_rate,
                s.in_kind_only,
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![
            ("PROPOSED", 1, 8_000_000, 0, 0),
            ("ACCEPTED_BY_REQUESTER", 1, 2_000_000, 0, 0),
            ("ACCEPTED_BY_PROVIDERS", 0, 0, 0, 0),
            ("AGREED", 1, 5_000_000, 0, 0),
            ("IN_IMPLEMENTATION", 1, 9_900_000, 0, 0),
            ("SUSPENDED", 0, 0, 0, 0),
            ("COMPLETED", 1, 0, 1, 0),
            ("DECLINED", 1, 0, 0, 1),
            ("WITHDRAWN", 0, 0, 0, 0),
            ("CANCELLED", 0, 0, 0, 0),
        ]
    );
    assert_eq!(r.total_matches, 6);
    let modes: Vec<(&str, u32, i64, u32, Option<u32>)> = r
        .by_funding_mode
        .iter()
        .map(|m| {
            (
                m.key.as_str(),
                m.matches,
                m.volume_minor,
                m.matches_without_rate,
                m.share_of_committed_bp,
            )
        })
        .collect();
    // Committed: m1 5,000,000 and m3 (JPY, no rate) single-donor; m2 9,900,000 joint.
    // Shares of 14,900,000: 33.55 % and 66.44 %.
    assert_eq!(
        modes,
        vec![
            ("SINGLE_DONOR", 2, 5_000_000, 1, Some(3355)),
            ("JOINTLY_FUNDED", 1, 9_900_000, 0, Some(6644)),
            ("POOLED_IO_FUND", 0, 0, 0, Some(0)),
            ("IN_KIND", 0, 0, 0, Some(0)),
        ]
    );
    assert_eq!(
        (r.committed_matches, r.committed_volume_minor),
        (3, 14_900_000)
    );
    assert_eq!(r.missing_rates, vec!["JPY"]);
}

#[test]
fn matches_with_a_gp_filter_keep_those_drawing_on_the_group() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter {
        gp_sub_working_group: Some(GpSubWorkingGroup::Resolution1540),
        ..ReportFilter::default()
    };
    let r = match_volume(&data.input(&viewer, &filter));
    // o1 is the only open RESOLUTION_1540 offer: m1 (agreed), m4, m5.
    assert_eq!(r.total_matches, 3);
    assert_eq!(
        (r.committed_matches, r.committed_volume_minor),
        (1, 5_000_000)
    );
}

fn stages(
    negotiating: u32,
    agreed: u32,
    implementing: u32,
    completed: u32,
    ended: u32,
) -> StageCounts {
    StageCounts {
        negotiating,
        agreed,
        implementing,
        completed,
        ended,
    }
}

/// Provider, offers, open, uncapped, without rate, ceilings, reserved, remaining, stages.
type PortfolioLine<'a> = (&'a str, u32, u32, u32, u32, i64, i64, i64, StageCounts);

#[test]
fn portfolio_sums_ceilings_reservations_and_remaining_capacity_per_provider() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let r = portfolio(&data.input(&viewer, &filter));
    let rows: Vec<PortfolioLine<'_>> = r
        .providers
        .iter()
        .map(|p| {
            (
                p.provider.as_str(),
                p.offers,
                p.open_offers,
                p.uncapped_offers,
                p.offers_without_rate,
                p.ceilings_minor,
                p.reserved_minor,
                p.remaining_minor,
                p.matches,
            )
        })
        .collect();
    // Norway: o1 USD 500,000.00 less 50,000.00; o2 EUR 200,000.00 = USD 220,000.00 less
    // EUR 50,000.00 = 55,000.00; o6 expired USD 100,000.00 (no remaining).
    // IAEA: o3 without ceiling, EUR 40,000.00 = USD 44,000.00 reserved.
    // Japan: o4 in JPY (no rate); o5 is a draft.
    assert_eq!(
        rows,
        vec![
            (
                "International Atomic Energy Agency",
                1,
                1,
                1,
                0,
                0,
                4_400_000,
                0,
                stages(0, 0, 1, 0, 1)
            ),
            ("Japan", 1, 1, 0, 1, 0, 0, 0, stages(0, 0, 0, 1, 0)),
            (
                "Norway",
                3,
                2,
                0,
                0,
                82_000_000,
                10_500_000,
                61_500_000,
                stages(2, 1, 1, 0, 0)
            ),
        ]
    );
    let t = &r.total;
    assert_eq!(
        (
            t.offers,
            t.open_offers,
            t.uncapped_offers,
            t.offers_without_rate
        ),
        (5, 4, 1, 1)
    );
    assert_eq!(
        (t.ceilings_minor, t.reserved_minor, t.remaining_minor),
        (82_000_000, 14_900_000, 61_500_000)
    );
    assert_eq!(t.matches, stages(2, 1, 2, 1, 1));
    assert_eq!(r.other_providers, 0);
}

#[test]
fn portfolio_filtered_by_area_keeps_offers_touching_it() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter {
        area: Some(Area::AccountingSecurity),
        ..ReportFilter::default()
    };
    let r = portfolio(&data.input(&viewer, &filter));
    // o3 (IAEA) and o4 (Japan) cover ACCOUNTING_SECURITY; the only matching need is n10
    // (m3, Japan); n5 has no match.
    let rows: Vec<(&str, u32, StageCounts)> = r
        .providers
        .iter()
        .map(|p| (p.provider.as_str(), p.offers, p.matches))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "International Atomic Energy Agency",
                1,
                stages(0, 0, 0, 0, 0)
            ),
            ("Japan", 1, stages(0, 0, 0, 1, 0)),
        ]
    );
}

#[test]
fn pipeline_counts_matches_and_needs_by_stage_per_sub_working_group() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let r = pipeline(&data.input(&viewer, &filter));
    let rows: Vec<(&str, u32, StageCounts, StageCounts, i64, u32)> = r
        .groups
        .iter()
        .map(|g| {
            (
                g.group.as_str(),
                g.open_offers,
                g.matches,
                g.needs,
                g.committed_volume_minor,
                g.contributions_without_rate,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            // o2, o3: m2 implementing (n3), m6 ended (n1: only an ended match here).
            (
                "NUCLEAR_RADIOLOGICAL",
                2,
                stages(0, 0, 1, 0, 1),
                stages(0, 0, 1, 0, 1),
                9_900_000,
                0
            ),
            (
                "BIOLOGICAL",
                0,
                stages(0, 0, 0, 0, 0),
                stages(0, 0, 0, 0, 0),
                0,
                0
            ),
            (
                "CHEMICAL",
                0,
                stages(0, 0, 0, 0, 0),
                stages(0, 0, 0, 0, 0),
                0,
                0
            ),
            // o1: m1 agreed (n2), m4 (n1) and m5 (n8) negotiating; o6 expired.
            (
                "RESOLUTION_1540",
                1,
                stages(2, 1, 0, 0, 0),
                stages(2, 1, 0, 0, 0),
                5_000_000,
                0
            ),
            // o4: m3 completed (n10), pledged in JPY.
            (
                "NONE",
                1,
                stages(0, 0, 0, 1, 0),
                stages(0, 0, 0, 1, 0),
                0,
                1
            ),
        ]
    );
    let filter = ReportFilter {
        gp_sub_working_group: Some(GpSubWorkingGroup::NuclearRadiological),
        ..ReportFilter::default()
    };
    let r = pipeline(&data.input(&viewer, &filter));
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].matches, stages(0, 0, 1, 0, 1));
}

#[test]
fn worklist_lists_a_brokers_day_in_order() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let engine = |n: &clearinghouse_domain::Need| fixture::best_candidate(&data, n);
    let w = worklist(&data.input(&viewer, &filter), &engine);

    let sub: Vec<(&str, &str, i32)> = w
        .awaiting_authentication
        .rows
        .iter()
        .map(|r| (r.need_id.as_str(), r.submitted_on.as_str(), r.days_waiting))
        .collect();
    assert_eq!(sub, vec![("n6", "2026-02-22", 7)]);

    // n9 has consent (ready); n5's window is open until 2026-03-04.
    let consent: Vec<(&str, &str, &str, bool, i32)> = w
        .consent_windows
        .rows
        .iter()
        .map(|r| {
            (
                r.need_id.as_str(),
                r.window_ends.as_str(),
                r.state.as_str(),
                r.ready_to_circulate,
                r.days_left,
            )
        })
        .collect();
    assert_eq!(
        consent,
        vec![
            ("n9", "2026-02-20", "CONSENT_GIVEN", true, -9),
            ("n5", "2026-03-04", "WINDOW_OPEN", false, 3),
        ]
    );

    let unmatched: Vec<(&str, u32)> = w
        .unmatched
        .rows
        .iter()
        .map(|r| (r.need_id.as_str(), r.months_open))
        .collect();
    assert_eq!(unmatched, vec![("n8", 15), ("n1", 13), ("n4", 5)]);
    for r in &w.unmatched.rows {
        let need = data
            .needs
            .iter()
            .find(|n| n.id.as_str() == r.need_id)
            .expect("need");
        let best = fixture::best_candidate(&data, need);
        assert_eq!(r.best_offer_id, best.as_ref().map(|(o, _)| o.to_string()));
        assert_eq!(r.best_score_milli, best.map(|(_, s)| s));
    }
    assert!(w.unmatched.rows.iter().all(|r| r.best_offer_id.is_some()));

    let answers: Vec<(&str, Vec<&str>, i32)> = w
        .awaiting_answers
        .rows
        .iter()
        .map(|r| {
            (
                r.match_id.as_str(),
                r.waiting_for.iter().map(String::as_str).collect(),
                r.days_waiting,
            )
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            ("m5", vec!["provider Norway"], 28),
            ("m4", vec!["requester Kenya", "provider Norway"], 19),
        ]
    );

    let follow: Vec<&str> = w
        .follow_ups
        .rows
        .iter()
        .map(|r| r.need_id.as_str())
        .collect();
    assert_eq!(follow, vec!["n8", "n1"]);

    let expiring: Vec<(&str, i32, bool, Option<i64>)> = w
        .expiring_offers
        .rows
        .iter()
        .map(|r| {
            (
                r.offer_id.as_str(),
                r.days_left,
                r.no_ceiling,
                r.remaining_minor,
            )
        })
        .collect();
    assert_eq!(
        expiring,
        vec![("o3", 19, true, None), ("o1", 45, false, Some(45_000_000))]
    );
}

#[test]
fn filters_that_select_nothing_sensible_are_reported() {
    let filter = ReportFilter {
        requested_from: Some(d("2026-01-01")),
        requested_until: Some(d("2025-01-01")),
        geography: Some(GeoFilter::SubRegion("Atlantis".to_owned())),
        ..ReportFilter::default()
    };
    let problems: Vec<String> = filter.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        vec![
            "the period ends on 2025-01-01, before it starts on 2026-01-01",
            "'Atlantis' is not an M49 sub-region (e.g. 'Eastern Africa')",
        ]
    );
    assert!(ReportFilter::default().problems().is_empty());
}

#[test]
fn json_carries_the_figures_in_minor_units_with_the_currency_in_meta() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let report = clearinghouse_reports::Report::Coverage(coverage(&data.input(&viewer, &filter)));
    let text =
        clearinghouse_reports::render::render(&report, clearinghouse_reports::render::Format::Json)
            .expect("json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid json");
    assert_eq!(v["meta"]["report"], "coverage");
    assert_eq!(v["meta"]["base_currency"], "USD");
    assert_eq!(v["meta"]["as_of"], "2026-03-01");
    assert_eq!(v["total"]["needs"], 8);
    assert_eq!(v["total"]["estimated_budget_minor"], 41_800_000);
    assert_eq!(v["total"]["funded_share_bp"], 3301);
    assert_eq!(v["by_area"][0]["key"], "NATIONAL_FRAMEWORK");
    assert_eq!(v["missing_rates"][0], "JPY");
}
