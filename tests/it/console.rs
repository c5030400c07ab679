//! The web console over HTTP/1.1, as a browser would use it: sign-in and sessions (cookie
//! flags, fixation, idle and revoked keys), CSRF tokens, the security headers and CSP,
//! pages by role through the method table, what each role must not see, forms with their
//! error summary, the rate limit, and a need walked from draft to an agreed match with the
//! same audit trail as gRPC.

use http::StatusCode;

use clearinghouse::pb;

use crate::{
    support::{self, TestServer, active_offer, circulated_need, need, offer},
    web::{Answer, Web, hidden},
};

/// Signs `web` in with `key`; returns the session's CSRF token.
async fn sign_in(web: &mut Web, key: &str) -> String {
    let form = web.get("/console/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = hidden(&form.text(), "csrf");
    let a = web
        .post_form(
            "/console/sign-in",
            &[("csrf", &token), ("next", ""), ("api_key", key)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let home = a.header("location").to_owned();
    let page = web.get(&home).await;
    assert_eq!(page.status, StatusCode::OK, "{home}: {}", page.text());
    hidden(&page.text(), "csrf")
}

fn location(a: &Answer) -> String {
    a.header("location").to_owned()
}

/// An offer in USD that fits `need()` (export controls, Africa).
fn usd_offer(name: &str) -> pb::Offer {
    let mut o = offer(name);
    o.budget_ceiling = Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: 500_000_000,
    });
    o
}

#[tokio::test]
async fn signing_in_makes_a_strict_http_only_session_cookie_and_signing_out_ends_it() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    let before = web.get("/console/worklist").await;
    assert_eq!(before.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&before),
        "/console/sign-in?next=%2Fconsole%2Fworklist"
    );

    let form = web.get("/console/sign-in").await;
    let token = hidden(&form.text(), "csrf");
    let a = web
        .post_form(
            "/console/sign-in",
            &[
                ("csrf", &token),
                ("next", "/console/needs"),
                ("api_key", &key),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&a), "/console/needs", "back to the page asked for");
    let cookie = a
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("ch_session="))
        .expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure flag ({cookie})"
    );
    assert!(!cookie.contains(&key), "the key never becomes the cookie");
    let page = web.get("/console/worklist").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains(&key), "the key is never shown");

    let csrf = hidden(&page.text(), "csrf");
    let out = web.post_form("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(location(&out), "/console/sign-in?signed_out=1");
    assert!(
        !web.cookies.contains_key("ch_session"),
        "the cookie is deleted"
    );
}

#[tokio::test]
async fn a_bad_key_and_a_forged_sign_in_form_are_refused() {
    let (server, _dir) = support::start().await;
    let mut web = Web::new(server.addr);
    let form = web.get("/console/sign-in").await;
    let token = hidden(&form.text(), "csrf");
    let bad = web
        .post_form(
            "/console/sign-in",
            &[("csrf", &token), ("api_key", "chk_nobody_secret")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let text = bad.text();
    assert!(
        text.contains("There is a problem") && text.contains("href=\"#api_key\""),
        "{text}"
    );
    assert!(
        !text.contains("chk_nobody_secret"),
        "a key typed is never echoed"
    );
    assert!(!web.cookies.contains_key("ch_session"));

    // A sign-in form posted from elsewhere has no matching sign-in cookie.
    let mut other = Web::new(server.addr);
    let key = server.key(pb::Role::Broker, "").await;
    let forged = other
        .post_form("/console/sign-in", &[("csrf", &token), ("api_key", &key)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!other.cookies.contains_key("ch_session"));
}

#[tokio::test]
async fn session_ids_are_fresh_at_every_sign_in_and_planted_ones_are_never_adopted() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    web.cookies
        .insert("ch_session".into(), "planted-by-an-attacker".into());
    let refused = web.get("/console/worklist").await;
    assert_eq!(
        refused.status,
        StatusCode::SEE_OTHER,
        "an unknown id is no session"
    );
    sign_in(&mut web, &key).await;
    let first = web.cookies["ch_session"].clone();
    assert_ne!(first, "planted-by-an-attacker");
    assert_eq!(first.len(), 64, "256 random bits");

    // Signing in again, with the old session's cookie still sent, gives a new id and
    // ends the old session.
    let held = web.cookies.remove("ch_session").expect("cookie");
    let form = web.get("/console/sign-in").await;
    let token = hidden(&form.text(), "csrf");
    web.cookies.insert("ch_session".into(), held);
    let a = web
        .post_form("/console/sign-in", &[("csrf", &token), ("api_key", &key)])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let second = web.cookies["ch_session"].clone();
    assert_ne!(first, second);
    let mut old = Web::new(server.addr);
    old.cookies.insert("ch_session".into(), first);
    assert_eq!(
        old.get("/console/worklist").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn every_post_needs_its_sessions_csrf_token() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let mut web = Web::new(server.addr);
    let csrf = sign_in(&mut web, &key).await;
    let mut other = Web::new(server.addr);
    let other_csrf = sign_in(&mut other, &key).await;
    assert_ne!(csrf, other_csrf, "one token per session");
    let fields = |t: &'static str| vec![("title", "Control lists"), ("csrf", t)];
    let a = web.post_form("/console/needs", &fields("")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let leaked: &'static str = Box::leak(other_csrf.into_boxed_str());
    let a = web.post_form("/console/needs", &fields(leaked)).await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "another session's token is refused"
    );
    let own: &'static str = Box::leak(csrf.into_boxed_str());
    let a = web.post_form("/console/needs", &fields(own)).await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "with the token the form is read (and found incomplete)"
    );
    let mut c = server.clients(Some(&key)).await;
    let listed = c
        .needs
        .list_needs(pb::ListNeedsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed.needs.is_empty(),
        "nothing was created by the refused posts"
    );
}

#[tokio::test]
async fn every_page_carries_the_csp_and_security_headers_and_no_script() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    sign_in(&mut web, &key).await;
    for path in [
        "/console/sign-in",
        "/console/worklist",
        "/console/needs",
        "/console/offers",
        "/console/matches",
        "/console/plan",
        "/console/reports/coverage",
        "/console/reports/matches",
        "/console/intake",
        "/console/no-such-page",
    ] {
        let a = web.get(path).await;
        let csp = a.header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{path}: {csp}"
        );
        assert_eq!(a.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(a.header("x-frame-options"), "DENY", "{path}");
        let html = a.text().to_lowercase();
        assert!(!html.contains("<script"), "{path} has a script");
        assert!(!html.contains(" style=\""), "{path} has an inline style");
        assert!(
            !html.contains(" onclick=") && !html.contains(" onload="),
            "{path} has a handler"
        );
        if a.status == StatusCode::OK {
            assert!(html.contains("<html lang=\"en\">"), "{path}");
            assert!(html.contains("href=\"#main\""), "{path}: skip link");
        }
    }
    let css = web.get("/console/assets/console.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
}

#[tokio::test]
async fn the_method_table_decides_which_role_reaches_which_page() {
    let (server, _dir) = support::start().await;
    let cases = [
        (
            pb::Role::Requester,
            "state-KEN",
            "/console/worklist",
            StatusCode::FORBIDDEN,
        ),
        (
            pb::Role::Requester,
            "state-KEN",
            "/console/needs/new",
            StatusCode::OK,
        ),
        (
            pb::Role::Requester,
            "state-KEN",
            "/console/plan",
            StatusCode::FORBIDDEN,
        ),
        (
            pb::Role::Analyst,
            "",
            "/console/needs/new",
            StatusCode::FORBIDDEN,
        ),
        (
            pb::Role::Analyst,
            "",
            "/console/reports/coverage",
            StatusCode::OK,
        ),
        (
            pb::Role::Analyst,
            "",
            "/console/intake",
            StatusCode::FORBIDDEN,
        ),
        (
            pb::Role::Provider,
            "state-FRA",
            "/console/audit",
            StatusCode::FORBIDDEN,
        ),
        (
            pb::Role::Provider,
            "state-FRA",
            "/console/offers",
            StatusCode::OK,
        ),
        (
            pb::Role::Broker,
            "",
            "/console/audit",
            StatusCode::FORBIDDEN,
        ),
        (pb::Role::Broker, "", "/console/plan", StatusCode::OK),
        (pb::Role::Admin, "", "/console/audit", StatusCode::OK),
    ];
    for (role, party, path, want) in cases {
        let key = server.key(role, party).await;
        let mut web = Web::new(server.addr);
        sign_in(&mut web, &key).await;
        let a = web.get(path).await;
        assert_eq!(a.status, want, "{role:?} {path}");
    }
}

#[tokio::test]
async fn forms_show_an_error_summary_linking_to_each_bad_field_and_keep_what_was_typed() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let mut web = Web::new(server.addr);
    let csrf = sign_in(&mut web, &key).await;
    let a = web
        .post_form(
            "/console/needs",
            &[
                ("csrf", &csrf),
                ("title", ""),
                ("description", "Typed <text> kept"),
                ("area", "EXPORT_TRANSSHIPMENT"),
                ("sub_areas", "PHYSICAL_PROTECTION.INSIDER_THREAT"),
                ("estimated_budget_currency", "USD"),
                ("estimated_budget_amount", "lots"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let html = a.text();
    assert!(html.contains("There is a problem"), "{html}");
    for field in [
        "title",
        "sub_areas",
        "estimated_budget_amount",
        "assistance_kinds",
    ] {
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "no link to {field}"
        );
    }
    assert!(
        html.contains("Typed &lt;text&gt; kept"),
        "the description is kept, escaped"
    );
    assert!(
        html.contains("value=\"lots\""),
        "the amount is kept as typed"
    );
    assert!(html.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn roles_never_see_confidential_needs_other_states_needs_or_contacts() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut secret = need("Secret reactor security upgrade");
    secret.visibility = pb::Visibility::CommitteeOnly as i32;
    secret.contact = Some(pb::ContactPoint {
        name: "Hidden Person".into(),
        email: "hidden.person@example.org".into(),
        ..Default::default()
    });
    let secret_id = circulated_need(&mut ken, &mut broker, secret).await;
    let mut public = need("Public customs training");
    public.contact = Some(pb::ContactPoint {
        email: "public.contact@example.org".into(),
        ..Default::default()
    });
    let public_id = circulated_need(&mut ken, &mut broker, public).await;

    let provider = server.key(pb::Role::Provider, "state-FRA").await;
    let analyst = server.key(pb::Role::Analyst, "").await;
    let other_state = server.key(pb::Role::Requester, "state-NGA").await;
    for key in [&provider, &analyst, &other_state] {
        let mut web = Web::new(server.addr);
        sign_in(&mut web, key).await;
        let mut seen = String::new();
        for path in [
            "/console/needs".to_owned(),
            format!("/console/needs/{public_id}"),
            "/console/reports/coverage".to_owned(),
            "/console/reports/ageing".to_owned(),
            "/console/matches".to_owned(),
        ] {
            seen.push_str(&web.get(&path).await.text());
        }
        assert!(
            !seen.contains("Secret reactor"),
            "a confidential need's title leaked"
        );
        assert!(
            !seen.contains("hidden.person@example.org")
                && !seen.contains("public.contact@example.org"),
            "a contact leaked"
        );
        let direct = web.get(&format!("/console/needs/{secret_id}")).await;
        assert_eq!(
            direct.status,
            StatusCode::NOT_FOUND,
            "the confidential need does not exist for them"
        );
    }
    // The requesting State and the broker see both, with the contact.
    for key in [
        server.key(pb::Role::Requester, "state-KEN").await,
        server.key(pb::Role::Broker, "").await,
    ] {
        let mut web = Web::new(server.addr);
        sign_in(&mut web, &key).await;
        let page = web.get(&format!("/console/needs/{secret_id}")).await.text();
        assert!(page.contains("Secret reactor") && page.contains("hidden.person@example.org"));
    }
}

#[tokio::test]
async fn the_rate_limit_applies_to_console_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_configured(dir.path(), Default::default(), |c| {
        c.limits.rate_per_principal = 1;
        c.limits.burst_per_principal = 4;
    })
    .await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    let form = web.get("/console/sign-in").await;
    let token = hidden(&form.text(), "csrf");
    web.post_form("/console/sign-in", &[("csrf", &token), ("api_key", &key)])
        .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(web.get("/console/needs").await.status);
    }
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_revoked_key_ends_its_session_at_the_next_request() {
    let (server, _dir) = support::start().await;
    let mut admin = server.admin().await;
    let created = admin
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: "short-lived broker".into(),
                role: pb::Role::Broker as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let mut web = Web::new(server.addr);
    sign_in(&mut web, &created.api_key).await;
    admin
        .admin
        .revoke_principal(pb::RevokePrincipalRequest {
            id: created.principal.expect("principal").id,
        })
        .await
        .expect("revoke");
    let a = web.get("/console/worklist").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(location(&a).starts_with("/console/sign-in"));
}

#[tokio::test]
async fn a_form_over_the_size_limit_is_refused_whole() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let mut web = Web::new(server.addr);
    let csrf = sign_in(&mut web, &key).await;
    let big = "x".repeat(300 * 1024);
    let a = web
        .post_form("/console/intake", &[("csrf", &csrf), ("text", &big)])
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The id at the end of a `/console/<kind>/<id>` location.
fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_need_goes_from_draft_to_an_agreed_match_through_the_console() {
    let (server, _dir) = support::start().await;
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let mut provider_grpc = server.clients(Some(&pkey)).await;
    let offer_id = active_offer(
        &mut provider_grpc,
        usd_offer("French export control outreach"),
    )
    .await;

    // The requesting State records, grants consent and submits.
    let mut req = Web::new(server.addr);
    let csrf = sign_in(&mut req, &rkey).await;
    let a = req
        .post_form(
            "/console/needs",
            &[
                ("csrf", &csrf),
                ("title", "Licensing officer training"),
                (
                    "description",
                    "Training for licensing officers on the control lists",
                ),
                ("area", "EXPORT_TRANSSHIPMENT"),
                ("sub_areas", "EXPORT_TRANSSHIPMENT.CONTROL_LISTS"),
                ("sub_areas", "EXPORT_TRANSSHIPMENT.EXPORT_LICENSING"),
                ("assistance_kinds", "TRAINING"),
                ("accepted_funding_modes", "SINGLE_DONOR"),
                ("priority", "HIGH"),
                ("estimated_budget_currency", "USD"),
                ("estimated_budget_amount", "100,000"),
                ("country_code", "KEN"),
                ("languages", "en"),
                ("visibility", "PUBLIC"),
                ("contact_email", "desk@example.org"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let need_path = location(&a);
    let need_id = id_of(&need_path);
    let page = req.get(&need_path).await.text();
    assert!(
        page.contains("Need recorded as a draft"),
        "the flash is shown once"
    );
    let etag = hidden(&page, "etag");
    let a = req
        .post_form(
            &format!("{need_path}/submit"),
            &[("csrf", &csrf), ("etag", &etag)],
        )
        .await;
    assert_eq!(location(&a), need_path);
    let page = req.get(&need_path).await.text();
    let etag = hidden(&page, "etag");
    let check = req
        .post_form(
            &format!("{need_path}/consent"),
            &[("csrf", &csrf), ("etag", &etag), ("consent", "GRANTED")],
        )
        .await;
    assert_eq!(check.status, StatusCode::OK);
    assert!(
        check.text().contains("Check your answers"),
        "consent commits the State: checked first"
    );
    let a = req
        .post_form(
            &format!("{need_path}/consent"),
            &[
                ("csrf", &csrf),
                ("etag", &etag),
                ("consent", "GRANTED"),
                ("step", "confirm"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);

    // The broker authenticates and circulates, then proposes the best candidate.
    let mut broker = Web::new(server.addr);
    let bcsrf = sign_in(&mut broker, &bkey).await;
    let worklist = broker.get("/console/worklist").await.text();
    assert!(
        worklist.contains("Licensing officer training"),
        "the submitted need is on the worklist"
    );
    for step in ["authenticate", "circulate"] {
        let page = broker.get(&need_path).await.text();
        let etag = hidden(&page, "etag");
        let a = broker
            .post_form(
                &format!("{need_path}/{step}"),
                &[("csrf", &bcsrf), ("etag", &etag)],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let after = broker.get(&need_path).await.text();
        assert!(!after.contains("There is a problem"), "{step}: {after}");
    }
    let page = broker.get(&need_path).await.text();
    assert!(
        page.contains("French export control outreach"),
        "the offer is a ranked candidate"
    );
    assert!(
        page.contains("Why this offer ranks here") && page.contains("<svg"),
        "factor bars"
    );
    let form = broker
        .get(&format!("{need_path}/propose?offer={offer_id}"))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let fields = [
        ("csrf", bcsrf.as_str()),
        ("funding_mode", "SINGLE_DONOR"),
        ("offer", offer_id.as_str()),
        ("role_0", "FUNDING"),
        ("currency_0", "USD"),
        ("amount_0", "100000"),
    ];
    let check = broker
        .post_form(&format!("{need_path}/propose"), &fields)
        .await;
    assert!(
        check
            .text()
            .contains("Check your answers before proposing this match"),
        "{}",
        check.text()
    );
    let mut confirm = fields.to_vec();
    confirm.push(("step", "confirm"));
    let a = broker
        .post_form(&format!("{need_path}/propose"), &confirm)
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let match_path = location(&a);
    let match_id = id_of(&match_path);

    // Both sides accept, each after checking its answer.
    for (web, key) in [(&mut req, &rkey), (&mut Web::new(server.addr), &pkey)] {
        let csrf = if web.cookies.contains_key("ch_session") {
            hidden(&web.get(&match_path).await.text(), "csrf")
        } else {
            sign_in(web, key).await
        };
        let page = web.get(&match_path).await.text();
        assert!(page.contains("Accept this match"), "{page}");
        let etag = hidden(&page, "etag");
        let check = web
            .post_form(
                &format!("{match_path}/accept"),
                &[("csrf", &csrf), ("etag", &etag)],
            )
            .await;
        assert!(
            check
                .text()
                .contains("Check your answers before accepting this match")
        );
        let a = web
            .post_form(
                &format!("{match_path}/accept"),
                &[("csrf", &csrf), ("etag", &etag), ("step", "confirm")],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let after = web.get(&match_path).await.text();
        assert!(after.contains("Match accepted"), "{after}");
    }

    // gRPC sees the same match, agreed, and the need matched; the audit trail names the
    // console's callers like any other.
    let mut matcher = server.matcher(&bkey).await;
    let m = matcher
        .get_match(pb::GetMatchRequest {
            id: match_id.clone(),
        })
        .await
        .expect("get match")
        .into_inner()
        .r#match
        .expect("match");
    assert_eq!(m.status, pb::MatchStatus::Agreed as i32);
    let mut admin = server.admin().await;
    let audit = admin
        .admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            resource_id: match_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["match.create", "match.accept", "match.accept"],
        "{actions:?}"
    );
    let mut ken = server.clients(Some(&rkey)).await;
    let n = ken
        .needs
        .get_need(pb::GetNeedRequest { id: need_id })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(n.status, pb::NeedStatus::Matched as i32);
}
