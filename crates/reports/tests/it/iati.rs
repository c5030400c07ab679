//! The IATI export validates against the IATI 2.03 activity schema with xmllint, and
//! holds what the fixture says.

use std::{path::PathBuf, process::Command};

use clearinghouse_domain::{
    MatchStatus, NeedId, NeedStatus, Timestamp, Visibility,
    matches::{Acceptance, ContributionRole},
};
use clearinghouse_reports::{
    ReportError, ReportFilter, Viewer,
    iati::{IatiExport, IatiOmitted, IatiOptions},
};

use crate::fixture::{self, CONTACT_EMAIL, ts};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/iati-2.03")
}

/// Runs xmllint against the 2.03 activity schema; `Err` holds its complaints.
fn validate(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("activities.xml");
    std::fs::write(&file, xml).expect("write xml");
    validate_file(&file)
}

fn validate_file(file: &std::path::Path) -> Result<(), String> {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema_dir().join("iati-activities-schema.xsd"))
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run xmllint ({e}); install it: apt-get install -y libxml2-utils")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn options() -> IatiOptions {
    let mut o = IatiOptions::new("XM-1540-CH", "1540 Committee assistance clearinghouse");
    o.generated_at = Some(ts("2026-03-01"));
    o
}

#[test]
fn the_schema_validator_rejects_a_file_that_does_not_conform() {
    // The schema's own worked example predates the 2.x element order.
    let err = validate_file(&schema_dir().join("worked-example.xml")).expect_err("invalid");
    assert!(err.contains("other-identifier"), "{err}");
}

#[test]
fn export_of_agreed_and_later_matches_validates_against_iati_2_03() {
    let data = fixture::data();
    let viewer = Viewer::analyst();
    let filter = ReportFilter::default();
    let opts = options();
    let export = IatiExport::new(&data.input(&viewer, &filter), &opts).expect("options");
    // m1 AGREED, m2 IN_IMPLEMENTATION, m3 COMPLETED; m4, m5 negotiating, m6 declined.
    assert_eq!(export.len(), 3);
    let xml = export.to_xml().expect("xml");
    if let Err(e) = validate(&xml) {
        panic!("xmllint rejects the export:\n{e}\n{xml}");
    }
    // Streaming gives the same bytes.
    let mut chunks = export.header();
    for a in export.activities() {
        assert!(a.starts_with("  <iati-activity ") && a.ends_with("</iati-activity>\n"));
        chunks.push_str(&a);
    }
    chunks.push_str(&export.footer());
    assert_eq!(chunks, xml);
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iati-activities version=\"2.03\" generated-datetime=\"2026-03-01T09:00:00Z\">"
    ));
    assert!(!xml.contains(CONTACT_EMAIL));
    assert!(
        !xml.contains("Title of"),
        "the need's title is not a public text"
    );
}

fn activity<'a>(xml: &'a str, match_id: &str) -> &'a str {
    let id = format!("<iati-identifier>XM-1540-CH-{match_id}</iati-identifier>");
    let at = xml
        .find(&id)
        .unwrap_or_else(|| panic!("{match_id} missing"));
    let start = xml[..at].rfind("<iati-activity ").expect("start");
    let end = at + xml[at..].find("</iati-activity>").expect("end");
    &xml[start..end]
}

#[test]
fn each_activity_carries_orgs_country_sectors_status_dates_and_budget() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let opts = options();
    let xml = IatiExport::new(&data.input(&viewer, &filter), &opts)
        .and_then(|e| e.to_xml())
        .expect("xml");

    // m2: n3 (PER, EUR 80,000 budget), jointly funded by Norway (EUR 50,000) and the IAEA
    // (EUR 40,000), in implementation since 2025-07-01, agreed 2025-06-15.
    let m2 = activity(&xml, "m2");
    for part in [
        "default-currency=\"EUR\"",
        "<reporting-org ref=\"XM-1540-CH\" type=\"40\">",
        "<narrative>Public summary of n3</narrative>",
        "<participating-org role=\"1\" type=\"10\">\n      <narrative>Norway</narrative>",
        "<participating-org role=\"1\" type=\"40\">\n      <narrative>International Atomic Energy Agency</narrative>",
        "<participating-org role=\"4\" type=\"10\">\n      <narrative>Norway</narrative>",
        "<activity-status code=\"2\"/>",
        "<activity-date type=\"1\" iso-date=\"2025-06-15\"/>",
        "<activity-date type=\"2\" iso-date=\"2025-07-01\"/>",
        "<recipient-country code=\"PE\" percentage=\"100\">",
        "<sector vocabulary=\"99\" code=\"EXPORT_TRANSSHIPMENT.CONTROL_LISTS\" percentage=\"100\"/>",
        "<budget type=\"1\" status=\"2\">\n      <period-start iso-date=\"2025-06-15\"/>\n      <period-end iso-date=\"2026-06-14\"/>\n      <value currency=\"EUR\" value-date=\"2025-06-15\">90000.00</value>",
    ] {
        assert!(m2.contains(part), "m2 lacks {part:?}:\n{m2}");
    }
    // Training and expert missions map to D02 and D01: no single aid type.
    assert!(!m2.contains("default-aid-type"));

    // m3: completed, pledged JPY 6,000,000 (no decimals), ended 2025-06-30.
    let m3 = activity(&xml, "m3");
    for part in [
        "<activity-status code=\"3\"/>",
        "<activity-date type=\"4\" iso-date=\"2025-06-30\"/>",
        "<value currency=\"JPY\" value-date=\"2024-09-01\">6000000</value>",
    ] {
        assert!(m3.contains(part), "m3 lacks {part:?}:\n{m3}");
    }
    // m1: agreed, not started: pipeline status 1.
    assert!(activity(&xml, "m1").contains("<activity-status code=\"1\"/>"));
}

#[test]
fn confidential_and_unpublished_needs_stay_out_unless_a_broker_asks() {
    let mut data = fixture::data();
    // n8 (COMMITTEE_ONLY) reaches an agreed match.
    let n8 = data
        .needs
        .iter_mut()
        .find(|n| n.id == NeedId::from("n8"))
        .expect("n8");
    n8.status = NeedStatus::Matched;
    assert_eq!(n8.fields.visibility, Visibility::CommitteeOnly);
    let m5 = data.matches.iter_mut().find(|m| m.id == "m5").expect("m5");
    m5.status = MatchStatus::Agreed;
    m5.contributions[0].acceptance = Acceptance::Accepted;
    m5.contributions[0].role = ContributionRole::Funding;
    m5.updated_at = Timestamp(m5.updated_at.0 + 1);
    let filter = ReportFilter::default();

    let opts = options();
    for viewer in [Viewer::analyst(), Viewer::broker()] {
        let export = IatiExport::new(&data.input(&viewer, &filter), &opts).expect("options");
        assert_eq!(export.len(), 3);
        assert_eq!(
            export.omitted(),
            IatiOmitted {
                confidential: 1,
                unpublished: 0,
                unknown_need: 0
            }
        );
    }
    let mut internal = options();
    internal.include_unpublished = true;
    let analyst = Viewer::analyst();
    let export = IatiExport::new(&data.input(&analyst, &filter), &internal).expect("options");
    assert_eq!(
        export.len(),
        3,
        "an analyst never gets confidential activities"
    );
    let broker = Viewer::broker();
    let export = IatiExport::new(&data.input(&broker, &filter), &internal).expect("options");
    assert_eq!(export.len(), 4);
    let xml = export.to_xml().expect("xml");
    validate(&xml).expect("valid");
    assert!(activity(&xml, "m5").contains("<recipient-country code=\"JM\""));
}

#[test]
fn an_export_without_activities_and_bad_options_are_errors() {
    let data = fixture::data();
    let viewer = Viewer::broker();
    let filter = ReportFilter {
        area: Some(clearinghouse_domain::Area::CrossCutting),
        ..ReportFilter::default()
    };
    let opts = options();
    let export = IatiExport::new(&data.input(&viewer, &filter), &opts).expect("options");
    assert!(export.is_empty());
    assert!(matches!(export.to_xml(), Err(ReportError::NoActivities)));
    let bad = IatiOptions::new("has spaces", "Name");
    let err = IatiExport::new(&data.input(&viewer, &filter), &bad).expect_err("bad ref");
    assert!(err.to_string().contains("reporting_org_ref"), "{err}");
}
