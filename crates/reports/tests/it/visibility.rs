//! Confidential needs reach brokers and admins as rows and everyone else only as counts;
//! contacts reach nobody.

use clearinghouse_domain::PartyId;
use clearinghouse_reports::{
    Brief, HiddenRows, Report, ReportFilter, Viewer,
    ageing::ageing,
    iati::{IatiExport, IatiOptions},
    portfolio::portfolio,
    render::{Format, html, render},
    worklist::worklist,
};

use crate::fixture::{self, CONTACT_EMAIL};

/// The confidential needs of the fixture: n4 and n8 (COMMITTEE_ONLY).
const CONFIDENTIAL: [&str; 2] = ["Title of n4", "Title of n8"];

fn viewers() -> Vec<(&'static str, Viewer)> {
    vec![
        ("broker", Viewer::broker()),
        ("admin", Viewer::admin()),
        ("analyst", Viewer::analyst()),
        ("provider", Viewer::provider(PartyId::from("state-NOR"))),
        ("requester", Viewer::requester(PartyId::from("state-JAM"))),
    ]
}

/// Every rendering of every report for `viewer`, concatenated.
fn everything(viewer: &Viewer) -> String {
    let data = fixture::data();
    let filter = ReportFilter::default();
    let input = data.input(viewer, &filter);
    let engine = |n: &clearinghouse_domain::Need| fixture::best_candidate(&data, n);
    let brief = Brief::build(&input);
    let mut reports = brief.reports();
    reports.push(Report::Worklist(worklist(&input, &engine)));
    let mut out = String::new();
    for r in &reports {
        for f in [Format::Table { width: 200 }, Format::Csv, Format::Json] {
            out.push_str(&render(r, f).expect("render"));
        }
        out.push_str(&html::render_report_html(r));
    }
    out.push_str(&html::render_html(&brief, "Brief"));
    let mut options = IatiOptions::new("XM-EXAMPLE", "Clearinghouse");
    options.include_unpublished = true;
    if let Ok(x) = IatiExport::new(&input, &options).and_then(|e| e.to_xml()) {
        out.push_str(&x);
    }
    out
}

#[test]
fn confidential_needs_are_rows_for_brokers_and_admins_and_counts_for_everyone_else() {
    for (name, viewer) in viewers() {
        let text = everything(&viewer);
        for title in CONFIDENTIAL {
            let shown = text.contains(title);
            assert_eq!(
                shown,
                viewer.sees_confidential_rows(),
                "{name}: rows of {title} shown = {shown}"
            );
        }
    }
}

#[test]
fn contacts_never_appear_for_any_viewer() {
    for (name, viewer) in viewers() {
        let text = everything(&viewer);
        assert!(!text.contains(CONTACT_EMAIL), "{name} sees a need contact");
        assert!(
            !text.contains("programme.officer@"),
            "{name} sees an offer contact"
        );
        assert!(!text.contains("+1 555 0100"), "{name} sees a phone number");
        assert!(
            !text.contains("Internal description"),
            "{name} sees a need description"
        );
    }
}

#[test]
fn follow_up_lists_hide_confidential_rows_but_count_them() {
    let data = fixture::data();
    let filter = ReportFilter::default();
    let expect = |viewer: &Viewer| {
        let r = ageing(&data.input(viewer, &filter));
        let ids: Vec<String> = r.follow_ups.iter().map(|f| f.need_id.clone()).collect();
        (ids, r.follow_ups_hidden, r.follow_ups_due)
    };
    let shown = |c: u32, r: u32| HiddenRows {
        confidential: c,
        restricted: r,
    };
    assert_eq!(
        expect(&Viewer::broker()),
        (vec!["n8".to_owned(), "n1".to_owned()], shown(0, 0), 2)
    );
    assert_eq!(
        expect(&Viewer::analyst()),
        (vec!["n1".to_owned()], shown(1, 0), 2)
    );
    assert_eq!(
        expect(&Viewer::provider(PartyId::from("state-NOR"))),
        (vec!["n1".to_owned()], shown(1, 0), 2)
    );
    // Jamaica's own n8 is confidential; Kenya's n1 is outside its audience.
    assert_eq!(
        expect(&Viewer::requester(PartyId::from("state-JAM"))),
        (vec![], shown(1, 1), 2)
    );
    // The ageing buckets count confidential needs for every viewer.
    let r = ageing(&data.input(&Viewer::analyst(), &filter));
    assert_eq!(r.unmatched_needs, 5);
    assert_eq!(r.buckets.iter().map(|b| b.confidential).sum::<u32>(), 2);
}

#[test]
fn worklist_sections_count_what_they_do_not_show() {
    let data = fixture::data();
    let filter = ReportFilter::default();
    let engine = |n: &clearinghouse_domain::Need| fixture::best_candidate(&data, n);
    let analyst = Viewer::analyst();
    let w = worklist(&data.input(&analyst, &filter), &engine);
    // Circulated: n1 public; n4, n8 confidential.
    let ids: Vec<&str> = w
        .unmatched
        .rows
        .iter()
        .map(|r| r.need_id.as_str())
        .collect();
    assert_eq!(ids, vec!["n1"]);
    assert_eq!((w.unmatched.total, w.unmatched.hidden.confidential), (3, 2));
    // m5 is on the confidential n8; m4 on n1.
    let ids: Vec<&str> = w
        .awaiting_answers
        .rows
        .iter()
        .map(|r| r.match_id.as_str())
        .collect();
    assert_eq!(ids, vec!["m4"]);
    assert_eq!(w.awaiting_answers.hidden.confidential, 1);
    // n9 is public but not circulated yet, n5 is for providers: outside an analyst's view.
    assert!(w.consent_windows.rows.is_empty());
    assert_eq!(w.consent_windows.hidden.restricted, 2);
    // A provider sees n5 neither: it is not circulated.
    let provider = Viewer::provider(PartyId::from("state-NOR"));
    let w = worklist(&data.input(&provider, &filter), &engine);
    assert_eq!(w.consent_windows.hidden.restricted, 2);
    assert_eq!(w.unmatched.rows.len(), 1);
}

#[test]
fn a_provider_sees_its_own_portfolio_row_and_the_totals() {
    let data = fixture::data();
    let filter = ReportFilter::default();
    let viewer = Viewer::provider(PartyId::from("state-NOR"));
    let r = portfolio(&data.input(&viewer, &filter));
    let names: Vec<&str> = r.providers.iter().map(|p| p.provider.as_str()).collect();
    assert_eq!(names, vec!["Norway"]);
    assert_eq!(r.other_providers, 2);
    assert_eq!(r.total.offers, 5);
}
