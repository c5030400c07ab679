//! Needs through the generated client: create, read, list, update, the lifecycle,
//! idempotency and etags.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, need, reason};

#[tokio::test]
async fn requester_and_broker_take_a_need_from_draft_to_circulated() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;

    let created = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("Control lists")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(created.status, pb::NeedStatus::Draft as i32);
    assert_eq!(created.requester_party_id, "state-KEN");
    assert_eq!(
        (
            created.country_code.as_str(),
            created.region.as_str(),
            created.subregion.as_str()
        ),
        ("KEN", "Africa", "Eastern Africa")
    );
    assert_eq!(created.etag, "1");
    assert!(!created.follow_up_due.is_empty());
    assert!(
        created.contact.is_some(),
        "the requester sees its own contact"
    );

    let submitted = ken
        .needs
        .submit_need(pb::SubmitNeedRequest {
            id: created.id.clone(),
            etag: created.etag.clone(),
        })
        .await
        .expect("submit")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(submitted.status, pb::NeedStatus::Submitted as i32);

    // A requester cannot authenticate its own need.
    let denied = ken
        .needs
        .authenticate_need(pb::AuthenticateNeedRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("requester may not authenticate");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let authenticated = broker
        .needs
        .authenticate_need(pb::AuthenticateNeedRequest {
            id: created.id.clone(),
            etag: submitted.etag.clone(),
        })
        .await
        .expect("authenticate")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(authenticated.status, pb::NeedStatus::Authenticated as i32);
    assert!(!authenticated.consent_window_ends.is_empty());

    // Consent still pending and the window open: circulation waits.
    let early = broker
        .needs
        .circulate_need(pb::CirculateNeedRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("window open");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert_eq!(reason(&early), "CONSENT_WINDOW_OPEN");

    // The requester grants consent (editable after submission), then the broker circulates.
    let consented = ken
        .needs
        .update_need(pb::UpdateNeedRequest {
            need: Some(pb::Need {
                id: created.id.clone(),
                etag: authenticated.etag.clone(),
                publication_consent: pb::PublicationConsent::Granted as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["publication_consent".to_owned()],
            }),
        })
        .await
        .expect("grant consent")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(
        consented.title, "Control lists",
        "unmasked fields are untouched"
    );
    let circulated = broker
        .needs
        .circulate_need(pb::CirculateNeedRequest {
            id: created.id.clone(),
            etag: consented.etag.clone(),
        })
        .await
        .expect("circulate")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(circulated.status, pb::NeedStatus::Circulated as i32);
    let statuses: Vec<&str> = circulated
        .status_history
        .iter()
        .map(|c| c.to_status.as_str())
        .collect();
    assert_eq!(
        statuses,
        vec!["DRAFT", "SUBMITTED", "AUTHENTICATED", "CIRCULATED"]
    );

    // Substance is frozen after submission.
    let frozen = ken
        .needs
        .update_need(pb::UpdateNeedRequest {
            need: Some(pb::Need {
                id: created.id.clone(),
                etag: circulated.etag.clone(),
                title: "New".to_owned(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".to_owned()],
            }),
        })
        .await
        .expect_err("frozen");
    assert_eq!(frozen.code(), Code::FailedPrecondition);
    assert!(
        frozen.message().contains("title") && frozen.message().contains("CIRCULATED"),
        "{}",
        frozen.message()
    );

    // Feedback, then withdrawal with a reason.
    let with_feedback = ken
        .needs
        .add_need_feedback(pb::AddNeedFeedbackRequest {
            id: created.id.clone(),
            etag: String::new(),
            text: "Still needed".to_owned(),
        })
        .await
        .expect("feedback")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(with_feedback.feedback.len(), 1);
    let withdrawn = ken
        .needs
        .withdraw_need(pb::WithdrawNeedRequest {
            id: created.id.clone(),
            etag: with_feedback.etag.clone(),
            reason: "Met bilaterally".to_owned(),
        })
        .await
        .expect("withdraw")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(withdrawn.status, pb::NeedStatus::Withdrawn as i32);

    // Terminal: any further transition names the current status.
    let err = broker
        .needs
        .circulate_need(pb::CirculateNeedRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("terminal");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ILLEGAL_TRANSITION");
    assert!(err.message().contains("WITHDRAWN"));

    // Every change is in the audit trail.
    let mut admin = server.admin().await;
    let audit = admin
        .admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            resource_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "need.create",
            "need.submit",
            "need.authenticate",
            "need.update",
            "need.circulate",
            "need.add_feedback",
            "need.withdraw"
        ]
    );
    assert!(
        audit
            .windows(2)
            .all(|w| w[0].after_version == w[1].before_version)
    );
    server.stop().await;
}

#[tokio::test]
async fn broker_rejects_a_submitted_need_with_a_reason() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut n = need("Informal request");
    n.requester_party_id = "state-PER".to_owned();
    n.channel = pb::SubmissionChannel::NoteVerbale as i32;
    let created = broker
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(n),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(created.region, "Americas");
    broker
        .needs
        .submit_need(pb::SubmitNeedRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("submit");
    let no_reason = broker
        .needs
        .reject_need(pb::RejectNeedRequest {
            id: created.id.clone(),
            etag: String::new(),
            reason: String::new(),
        })
        .await
        .expect_err("reason required");
    assert_eq!(
        support::violations(&no_reason, Code::InvalidArgument),
        vec!["reason"]
    );
    let rejected = broker
        .needs
        .reject_need(pb::RejectNeedRequest {
            id: created.id.clone(),
            etag: String::new(),
            reason: "Not in proper form".to_owned(),
        })
        .await
        .expect("reject")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(rejected.status, pb::NeedStatus::Rejected as i32);
    assert_eq!(
        rejected.status_history.last().map(|c| c.reason.as_str()),
        Some("Not in proper form")
    );
    server.stop().await;
}

#[tokio::test]
async fn same_request_id_twice_creates_one_need_and_another_payload_is_refused() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let rid = "6f1d2f8e-1b2c-4d3e-8f90-123456789abc".to_owned();
    let first = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("A")),
            request_id: rid.clone(),
        })
        .await
        .expect("first")
        .into_inner()
        .need
        .expect("need");
    let again = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("A")),
            request_id: rid.clone(),
        })
        .await
        .expect("retry")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(first.id, again.id);
    let other = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("B")),
            request_id: rid,
        })
        .await
        .expect_err("different payload");
    assert_eq!(other.code(), Code::AlreadyExists);
    assert_eq!(reason(&other), "REQUEST_ID_REUSED");
    let listed = ken
        .needs
        .list_needs(pb::ListNeedsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .needs;
    assert_eq!(listed.len(), 1);
    server.stop().await;
}

/// A new need is answered without reading its feedback (none can name it yet); a replay
/// of the same request answers the need as it stands, feedback given since included.
#[tokio::test]
async fn a_replayed_create_shows_the_feedback_given_since() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let rid = "0b5e4c1a-2d3f-4a5b-9c6d-7e8f90a1b2c3".to_owned();
    let create = || pb::CreateNeedRequest {
        need: Some(need("Outcome reporting")),
        request_id: rid.clone(),
    };
    let first = ken
        .needs
        .create_need(create())
        .await
        .expect("create")
        .into_inner()
        .need
        .expect("need");
    assert!(first.feedback.is_empty());
    ken.needs
        .submit_need(pb::SubmitNeedRequest {
            id: first.id.clone(),
            etag: first.etag.clone(),
        })
        .await
        .expect("submit");
    ken.needs
        .add_need_feedback(pb::AddNeedFeedbackRequest {
            id: first.id.clone(),
            etag: String::new(),
            text: "Training delivered; the customs unit now screens shipments.".into(),
        })
        .await
        .expect("feedback");
    let again = ken
        .needs
        .create_need(create())
        .await
        .expect("replay")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(again.id, first.id);
    assert_eq!(again.status, pb::NeedStatus::Submitted as i32);
    let texts: Vec<&str> = again.feedback.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts,
        ["Training delivered; the customs unit now screens shipments."]
    );
    server.stop().await;
}

#[tokio::test]
async fn external_id_is_unique_per_party_and_names_the_existing_need() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut n = need("A");
    n.external_id = "KEN-2026-001".to_owned();
    let first = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(n.clone()),
            request_id: String::new(),
        })
        .await
        .expect("first")
        .into_inner()
        .need
        .expect("need");
    let dup = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(n),
            request_id: String::new(),
        })
        .await
        .expect_err("dup");
    assert_eq!(dup.code(), Code::AlreadyExists);
    assert!(dup.message().contains(&first.id), "{}", dup.message());
    server.stop().await;
}

#[tokio::test]
async fn stale_etag_is_aborted_and_changes_nothing() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let created = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("A")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .need
        .expect("need");
    let edit = |etag: &str, title: &str| pb::UpdateNeedRequest {
        need: Some(pb::Need {
            id: created.id.clone(),
            etag: etag.to_owned(),
            title: title.to_owned(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".to_owned()],
        }),
    };
    let v2 = ken
        .needs
        .update_need(edit("1", "B"))
        .await
        .expect("first edit")
        .into_inner()
        .need
        .expect("need");
    assert_eq!((v2.etag.as_str(), v2.title.as_str()), ("2", "B"));
    let stale = ken
        .needs
        .update_need(edit("1", "C"))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "STALE_ETAG");
    let now = ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: created.id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .need
        .expect("need");
    assert_eq!((now.etag.as_str(), now.title.as_str()), ("2", "B"));
    server.stop().await;
}

#[tokio::test]
async fn lists_filter_and_page_in_creation_order() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    for (i, iso) in ["KEN", "PER", "KEN", "FRA", "KEN"].iter().enumerate() {
        let mut n = need(&format!("n{i}"));
        n.requester_party_id = format!("state-{iso}");
        broker
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(n),
                request_id: String::new(),
            })
            .await
            .expect("create");
    }
    let mut titles = Vec::new();
    let mut token = String::new();
    loop {
        let page = broker
            .needs
            .list_needs(pb::ListNeedsRequest {
                page_size: 2,
                page_token: token.clone(),
                region: "Africa".to_owned(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert!(page.needs.len() <= 2);
        titles.extend(page.needs.into_iter().map(|n| n.title));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(titles, vec!["n0", "n2", "n4"]);

    // A token is bound to its filter.
    let first = broker
        .needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 1,
            country_code: "KEN".to_owned(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let misuse = broker
        .needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 1,
            page_token: first.next_page_token,
            country_code: "PER".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("token for another filter");
    assert_eq!(misuse.code(), Code::InvalidArgument);

    let by_sub = broker
        .needs
        .list_needs(pb::ListNeedsRequest {
            sub_area: pb::SubArea::ControlLists as i32,
            status: pb::NeedStatus::Draft as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .needs;
    assert_eq!(by_sub.len(), 5);
    let none = broker
        .needs
        .list_needs(pb::ListNeedsRequest {
            area: pb::ThematicArea::PhysicalProtection as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .needs;
    assert!(none.is_empty());
    server.stop().await;
}
