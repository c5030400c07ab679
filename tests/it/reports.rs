//! Reports over gRPC: each role gets what it may see (confidential needs as counts for
//! everyone but brokers and admins), the worklist shows a broker's day, and the IATI
//! export of an agreed match validates against the IATI 2.03 schema.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, active_offer, circulated_need, need, offer};

fn usd(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: units,
    })
}

type Reports = pb::report_service_client::ReportServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, support::Bearer>,
>;

async fn reports(server: &support::TestServer, key: &str) -> Reports {
    pb::report_service_client::ReportServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(key.to_owned())),
    )
}

#[tokio::test]
async fn each_role_sees_confidential_needs_only_as_its_role_allows() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    // Two old requests, both due a follow-up: one public, one confidential.
    for (title, visibility) in [
        ("Public request", pb::Visibility::Public),
        ("Confidential request", pb::Visibility::CommitteeOnly),
    ] {
        let mut n = need(title);
        n.request_date = "2024-03-01".into();
        n.visibility = visibility as i32;
        circulated_need(&mut ken, &mut broker, n).await;
    }
    let bkey = server.key(pb::Role::Broker, "").await;
    let nkey = server.key(pb::Role::Analyst, "").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    for (key, rows, hidden) in [(&bkey, 2, 0), (&nkey, 1, 1), (&pkey, 1, 1)] {
        let a = reports(&server, key)
            .await
            .get_ageing_report(pb::GetAgeingReportRequest::default())
            .await
            .expect("ageing")
            .into_inner();
        assert_eq!(a.follow_ups_due, 2, "everyone counts both");
        assert_eq!(a.follow_ups.len(), rows);
        assert_eq!(a.follow_ups_hidden.map(|h| h.confidential), Some(hidden));
        assert!(
            rows == 2
                || a.follow_ups
                    .iter()
                    .all(|r| r.title != "Confidential request"),
            "no confidential row for {}",
            a.meta.map(|m| m.viewer).unwrap_or_default()
        );
        let c = reports(&server, key)
            .await
            .get_coverage_report(pb::GetCoverageReportRequest::default())
            .await
            .expect("coverage")
            .into_inner();
        assert_eq!(
            c.total.map(|t| t.needs),
            Some(2),
            "coverage counts every need"
        );
    }
    // A requester pulls no reports; the worklist is the brokers'.
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let e = reports(&server, &rkey)
        .await
        .get_coverage_report(pb::GetCoverageReportRequest::default())
        .await
        .expect_err("requester");
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = reports(&server, &nkey)
        .await
        .get_worklist(pb::GetWorklistRequest::default())
        .await
        .expect_err("analyst");
    assert_eq!(e.code(), Code::PermissionDenied);
    // A bad filter names its field.
    let e = reports(&server, &bkey)
        .await
        .get_coverage_report(pb::GetCoverageReportRequest {
            filter: Some(pb::ReportFilter {
                region: "Atlantis".into(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("bad region");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["filter.region"]
    );
    server.stop().await;
}

#[tokio::test]
async fn the_worklist_shows_a_brokers_day_and_the_iati_export_validates() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut pub_need = need("Control lists");
    pub_need.visibility = pb::Visibility::Public as i32;
    pub_need.public_summary = "Training of licensing officers on the control lists".into();
    pub_need.estimated_budget = usd(1_000_000);
    let need_id = circulated_need(&mut ken, &mut broker, pub_need).await;
    let mut o = offer("FRA outreach");
    o.budget_ceiling = usd(5_000_000);
    let offer_id = active_offer(&mut fra, o).await;
    // A submitted need waits for authentication.
    let waiting = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("Waiting")),
            request_id: String::new(),
        })
        .await
        .expect("draft")
        .into_inner()
        .need
        .expect("need")
        .id;
    ken.needs
        .submit_need(pb::SubmitNeedRequest {
            id: waiting.clone(),
            etag: String::new(),
        })
        .await
        .expect("submit");

    let bkey = server.key(pb::Role::Broker, "").await;
    let w = reports(&server, &bkey)
        .await
        .get_worklist(pb::GetWorklistRequest::default())
        .await
        .expect("worklist")
        .into_inner();
    let auth = w.awaiting_authentication.expect("section");
    assert!(auth.rows.iter().any(|r| r.need_id == waiting));
    let unmatched = w.unmatched.expect("section");
    let row = unmatched
        .rows
        .iter()
        .find(|r| r.need_id == need_id)
        .expect("the circulated need is unmatched");
    assert_eq!(
        row.best_offer_id.as_deref(),
        Some(offer_id.as_str()),
        "with its best candidate"
    );

    // Agree a match, then export it.
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let m = server
        .matcher(&bkey)
        .await
        .create_match(pb::CreateMatchRequest {
            need_id: need_id.clone(),
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![pb::Contribution {
                offer_id: offer_id.clone(),
                amount: usd(1_000_000),
                ..Default::default()
            }],
            request_id: String::new(),
        })
        .await
        .expect("propose")
        .into_inner()
        .r#match
        .expect("m");
    for key in [&rkey, &pkey] {
        server
            .matcher(key)
            .await
            .accept_match(pb::AcceptMatchRequest {
                id: m.id.clone(),
                etag: String::new(),
            })
            .await
            .expect("accept");
    }
    let mut stream = reports(&server, &bkey)
        .await
        .export_iati(pb::ExportIatiRequest {
            reporting_org_ref: "XM-DAC-41111".into(),
            reporting_org_name: "1540 Committee".into(),
            ..Default::default()
        })
        .await
        .expect("export")
        .into_inner();
    let mut xml = String::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        xml.push_str(&chunk.xml);
    }
    assert!(xml.contains(&m.id), "the match is an activity");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("export.xml");
    std::fs::write(&file, &xml).expect("write");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/reports/tests/iati-2.03/iati-activities-schema.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs (apt-get install -y libxml2-utils)");
    assert!(
        out.status.success(),
        "{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = reports(&server, &bkey)
        .await
        .export_matches(pb::ExportMatchesRequest::default())
        .await
        .expect("export matches")
        .into_inner();
    let mut all = Vec::new();
    while let Some(batch) = rows.message().await.expect("batch") {
        all.extend(batch.rows);
    }
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, "AGREED");
    assert_eq!(all[0].iati_activity_status, 1);
    server.stop().await;
}
