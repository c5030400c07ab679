//! Snapshots of the text and CSV renderings of every report on the fixture (broker view).

use clearinghouse_reports::{
    Brief, Report, ReportFilter, Viewer,
    render::{Format, render},
    worklist::worklist,
};

use crate::fixture;

fn reports() -> Vec<(&'static str, Report)> {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let input = data.input(&viewer, &filter);
    let engine = |n: &clearinghouse_domain::Need| fixture::best_candidate(&data, n);
    let brief = Brief::build(&input);
    vec![
        ("coverage", Report::Coverage(brief.coverage)),
        ("ageing", Report::Ageing(brief.ageing)),
        ("matches", Report::Matches(brief.matches)),
        ("portfolio", Report::Portfolio(brief.portfolio)),
        ("pipeline", Report::Pipeline(brief.pipeline)),
        ("worklist", Report::Worklist(worklist(&input, &engine))),
    ]
}

#[test]
fn text_tables_fit_a_wide_terminal() {
    for (name, r) in reports() {
        let text = render(&r, Format::Table { width: 120 }).expect("text");
        assert!(text.lines().all(|l| l.chars().count() <= 120), "{name}");
        insta::assert_snapshot!(format!("{name}_text_120"), text);
    }
}

#[test]
fn text_tables_fit_a_narrow_terminal() {
    for (name, r) in reports() {
        let text = render(&r, Format::Table { width: 72 }).expect("text");
        assert!(text.lines().all(|l| l.chars().count() <= 72), "{name}");
        insta::assert_snapshot!(format!("{name}_text_72"), text);
    }
}

#[test]
fn csv_has_one_table_per_report_with_its_documented_columns() {
    for (name, r) in reports() {
        let csv = render(&r, Format::Csv).expect("csv");
        let width = csv.lines().next().map_or(0, |h| h.split(',').count());
        assert!(width > 0, "{name}");
        insta::assert_snapshot!(format!("{name}_csv"), csv);
    }
}
