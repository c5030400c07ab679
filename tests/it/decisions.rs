//! Broker decisions: recorded through the real API (a broker's candidate lists, the list
//! a proposal was chosen from, every answer) and read back by admins (`ListDecisions`);
//! then `clearinghouse admin tune-weights` (the real binary) fits the weights to a history
//! generated from known weights, changes nothing without `--apply`, and applies the
//! proposal with it.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, Matcher, TestServer, active_offer, circulated_need, need, offer};

const BIN: &str = env!("CARGO_BIN_EXE_clearinghouse");
const GUARD: Duration = Duration::from_secs(120);

fn usd(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: units,
    })
}

async fn all_decisions(server: &TestServer) -> pb::ListDecisionsResponse {
    let mut admin = server.admin().await;
    let mut out = pb::ListDecisionsResponse::default();
    let mut token = String::new();
    loop {
        let r = admin
            .admin
            .list_decisions(pb::ListDecisionsRequest {
                page_size: 7,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("list decisions")
            .into_inner();
        out.decisions.extend(r.decisions);
        out.factor_names = r.factor_names;
        out.gate_names = r.gate_names;
        if r.next_page_token.is_empty() {
            return out;
        }
        token = r.next_page_token;
    }
}

fn kind(d: &pb::Decision) -> pb::DecisionKind {
    pb::DecisionKind::try_from(d.kind).unwrap_or(pb::DecisionKind::Unspecified)
}

#[tokio::test]
async fn views_proposals_and_answers_are_recorded_with_the_values_shown() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut n = need("Control lists");
    n.estimated_budget = usd(1_000_000);
    let need_id = circulated_need(&mut ken, &mut broker, n).await;
    let mut offers = Vec::new();
    for (name, ceiling) in [("FRA wide", 5_000_000), ("FRA small", 400_000)] {
        let o = pb::Offer {
            budget_ceiling: usd(ceiling),
            ..offer(name)
        };
        offers.push(active_offer(&mut fra, o).await);
    }
    let bkey = server.key(pb::Role::Broker, "").await;
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let (mut bm, mut rm, mut pm) = (
        server.matcher(&bkey).await,
        server.matcher(&rkey).await,
        server.matcher(&pkey).await,
    );
    let find = pb::FindOffersForNeedRequest {
        need_id: need_id.clone(),
        ..Default::default()
    };
    let shown = bm
        .find_offers_for_need(find.clone())
        .await
        .expect("find")
        .into_inner();
    assert_eq!(shown.candidates.len(), 2);
    // The same list again is not recorded twice; the requester's own look is not a
    // broker's view.
    bm.find_offers_for_need(find.clone()).await.expect("again");
    rm.find_offers_for_need(find).await.expect("requester");
    bm.explain_fit(pb::ExplainFitRequest {
        need_id: need_id.clone(),
        offer_id: offers[1].clone(),
    })
    .await
    .expect("explain");

    // The broker proposes the second candidate, then the first; the provider declines one
    // and both sides accept the other.
    let second = shown.candidates[1].offer_id.clone();
    let first = shown.candidates[0].offer_id.clone();
    let mut matches = Vec::new();
    for o in [&second, &first] {
        let m = bm
            .create_match(pb::CreateMatchRequest {
                need_id: need_id.clone(),
                funding_mode: pb::FundingMode::SingleDonor as i32,
                contributions: vec![pb::Contribution {
                    offer_id: o.clone(),
                    in_kind: "two expert missions".into(),
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("propose")
            .into_inner()
            .r#match
            .expect("match");
        matches.push(m.id);
    }
    pm.decline_match(pb::DeclineMatchRequest {
        id: matches[0].clone(),
        reason_code: pb::ReasonCode::NoCapacity as i32,
        reason_text: "budget committed elsewhere".into(),
        ..Default::default()
    })
    .await
    .expect("decline");
    for m in [&mut rm, &mut pm] {
        m.accept_match(pb::AcceptMatchRequest {
            id: matches[1].clone(),
            etag: String::new(),
        })
        .await
        .expect("accept");
    }

    let all = all_decisions(&server).await;
    assert_eq!(
        all.factor_names,
        [
            "thematic",
            "geography",
            "funding",
            "budget",
            "assistance",
            "timing",
            "language",
            "domain",
            "specificity"
        ]
    );
    assert_eq!(
        all.gate_names,
        ["kinds_gate", "language_gate", "budget_gate"]
    );
    let kinds: Vec<pb::DecisionKind> = all.decisions.iter().map(kind).collect();
    use pb::DecisionKind as K;
    assert_eq!(
        kinds,
        [
            K::Viewed,
            K::Explained,
            K::Proposed,
            K::Proposed,
            K::Answered,
            K::Answered,
            K::Answered
        ]
    );
    let view = &all.decisions[0];
    assert_eq!(view.need_id, need_id);
    assert_eq!(view.actor_role, pb::Role::Broker as i32);
    let ranks: Vec<(String, u32)> = view
        .candidates
        .iter()
        .map(|c| (c.offer_id.clone(), c.rank))
        .collect();
    assert_eq!(ranks, [(first.clone(), 1), (second.clone(), 2)]);
    for (c, s) in view.candidates.iter().zip(&shown.candidates) {
        assert_eq!(c.factor_values.len(), 9);
        assert_eq!(c.gate_shortfalls.len(), 3);
        assert!((c.score - s.score).abs() < 1e-9);
        // The values are the ones the broker was shown, factor by factor.
        for (name, v) in all.factor_names.iter().zip(&c.factor_values) {
            let f = s.factors.iter().find(|f| &f.name == name).expect("factor");
            assert!((f.value - v).abs() < 1e-12, "{name}");
        }
    }
    // The small offer covers 40% of the budget: the budget factor says so.
    let small = view
        .candidates
        .iter()
        .find(|c| c.offer_id == offers[1])
        .expect("small offer");
    assert!(small.factor_values[3] < 0.5, "{small:?}");
    assert_eq!(all.decisions[1].candidates[0].offer_id, offers[1]);
    assert_eq!(all.decisions[1].candidates[0].rank, 0);

    // Each proposal carries the list it was chosen from and names its view.
    for (p, (m, o)) in all.decisions[2..4]
        .iter()
        .zip(matches.iter().zip([&second, &first]))
    {
        assert_eq!(&p.match_id, m);
        assert_eq!(p.proposed_offer_ids, std::slice::from_ref(o));
        assert_eq!(p.view_decision_id, view.id);
        assert_eq!(p.candidates, view.candidates);
    }
    let decline = &all.decisions[4];
    assert_eq!(decline.answer, pb::DecisionAnswer::Decline as i32);
    assert_eq!(decline.reason_code, pb::ReasonCode::NoCapacity as i32);
    assert_eq!(decline.reason_text, "budget committed elsewhere");
    assert_eq!(decline.match_status, pb::MatchStatus::Declined as i32);
    assert_eq!(decline.actor_role, pb::Role::Provider as i32);
    let agreed = &all.decisions[6];
    assert_eq!(agreed.answer, pb::DecisionAnswer::Accept as i32);
    assert_eq!(agreed.match_status, pb::MatchStatus::Agreed as i32);

    // A later policy does not rewrite what was recorded.
    let mut admin = server.admin().await;
    let p = admin
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await
        .expect("policy")
        .into_inner()
        .policy
        .expect("policy");
    admin
        .admin
        .update_matching_policy(pb::UpdateMatchingPolicyRequest {
            policy: Some(pb::MatchingPolicy {
                thematic_weight: p.thematic_weight - 0.1,
                specificity_weight: p.specificity_weight + 0.1,
                ..p
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["thematic_weight".into(), "specificity_weight".into()],
            }),
        })
        .await
        .expect("update policy");
    assert_eq!(all_decisions(&server).await, all);

    // Time filter: nothing before the first decision, everything from it.
    let t0 = view.decision_time.expect("time");
    let before = admin
        .admin
        .list_decisions(pb::ListDecisionsRequest {
            end_time: Some(t0),
            ..Default::default()
        })
        .await
        .expect("before")
        .into_inner();
    assert!(before.decisions.is_empty());
    let since = admin
        .admin
        .list_decisions(pb::ListDecisionsRequest {
            start_time: Some(t0),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("since")
        .into_inner();
    assert_eq!(since.decisions.len(), all.decisions.len());
    let e = bm
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: need_id.clone(),
            ..Default::default()
        })
        .await;
    assert!(e.is_ok());
    let mut b = server.clients(Some(&bkey)).await;
    let e = b
        .admin
        .list_decisions(pb::ListDecisionsRequest::default())
        .await
        .expect_err("brokers do not read decisions");
    assert_eq!(e.code(), Code::PermissionDenied);
}

// ------------------------------------------------------------------ tune-weights

/// The weights the simulated brokers decide by (the gates stay those in force).
const TRUTH: [f64; 9] = [0.20, 0.16, 0.06, 0.12, 0.12, 0.04, 0.12, 0.06, 0.12];
/// Largest distance between a fitted and a true weight tolerated: the tolerance of
/// `crates/matching/tests/tune.rs` (weights).
const WEIGHT_TOLERANCE: f64 = 0.02;
/// Largest change of a penalty tolerated (the decisions are made under the penalties in
/// force, so the fit should leave them close): the penalty tolerance of the same test.
const PENALTY_TOLERANCE: f64 = 0.05;

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("small")
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn subset<T: Clone>(&mut self, xs: &[T], min: usize) -> Vec<T> {
        loop {
            let s: Vec<T> = xs.iter().filter(|_| self.below(2) == 0).cloned().collect();
            if s.len() >= min {
                return s;
            }
        }
    }
}

const EXPORT_SUBS: [pb::SubArea; 7] = [
    pb::SubArea::ExportLicensing,
    pb::SubArea::ControlLists,
    pb::SubArea::TransitTransshipment,
    pb::SubArea::EndUserControls,
    pb::SubArea::FundsServicesControls,
    pb::SubArea::IndustryOutreach,
    pb::SubArea::EnforcementPenalties,
];
const OTHER_SUBS: [pb::SubArea; 3] = [
    pb::SubArea::CustomsBorderTraining,
    pb::SubArea::LegislativeDrafting,
    pb::SubArea::DetectionEquipment,
];
const KINDS: [pb::AssistanceKind; 4] = [
    pb::AssistanceKind::Training,
    pb::AssistanceKind::ExpertMission,
    pb::AssistanceKind::Equipment,
    pb::AssistanceKind::LegislativeAdvice,
];
const DOMAINS: [pb::WeaponDomain; 3] = [
    pb::WeaponDomain::Nuclear,
    pb::WeaponDomain::Chemical,
    pb::WeaponDomain::Biological,
];
const STATES: [&str; 4] = ["KEN", "SEN", "GHA", "NGA"];

fn codes<T: Copy + Into<i32>>(xs: &[T]) -> Vec<i32> {
    xs.iter().map(|x| (*x).into()).collect()
}

/// An offer with every attribute drawn at random, so that each factor varies.
fn random_offer(rng: &mut Rng, i: usize) -> pb::Offer {
    let mut subs = rng.subset(&EXPORT_SUBS, 1);
    if rng.below(3) == 0 {
        subs.push(*rng.pick(&OTHER_SUBS));
    }
    let scope = match rng.below(4) {
        0 => pb::GeoScope {
            countries: rng
                .subset(&STATES, 1)
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            ..Default::default()
        },
        1 => pb::GeoScope {
            subregions: vec![rng.pick(&["Eastern Africa", "Western Africa"]).to_string()],
            ..Default::default()
        },
        2 => pb::GeoScope {
            regions: vec!["Africa".into()],
            ..Default::default()
        },
        _ => pb::GeoScope {
            global: true,
            ..Default::default()
        },
    };
    let modes = match rng.below(3) {
        0 => vec![pb::FundingMode::SingleDonor],
        1 => vec![pb::FundingMode::JointlyFunded],
        _ => vec![pb::FundingMode::SingleDonor, pb::FundingMode::JointlyFunded],
    };
    let languages: Vec<String> = match rng.below(5) {
        0 => vec!["en".into()],
        1 => vec!["fr".into()],
        2 => vec!["en".into(), "fr".into()],
        3 => vec!["es".into()],
        _ => Vec::new(),
    };
    let domains = match rng.below(4) {
        0 => Vec::new(),
        _ => rng.subset(&DOMAINS, 1),
    };
    let from_month = 1 + rng.below(6);
    let until_month = 6 + rng.below(7);
    pb::Offer {
        programme_name: format!("Programme {i}"),
        description: "Export control assistance".into(),
        areas: if rng.below(4) == 0 {
            vec![pb::ThematicArea::ExportTransshipment as i32]
        } else {
            Vec::new()
        },
        sub_areas: codes(&subs),
        weapon_domains: codes(&domains),
        assistance_kinds: codes(&rng.subset(&KINDS, 1)),
        scope: Some(scope),
        funding_modes: codes(&modes),
        languages,
        budget_ceiling: match rng.below(4) {
            0 => None,
            _ => usd(i64::try_from(1 + rng.below(40)).expect("small") * 2_500_000),
        },
        valid_from: format!("2027-{from_month:02}-01"),
        valid_until: if until_month > 12 {
            "2028-06-30".into()
        } else {
            format!("2027-{until_month:02}-28")
        },
        ..offer("random")
    }
}

/// A need with its attributes drawn at random.
fn random_need(rng: &mut Rng, i: usize) -> (String, pb::Need) {
    let state = *rng.pick(&STATES);
    let subs = rng.subset(&EXPORT_SUBS, 2);
    let preferred = *rng.pick(&[pb::FundingMode::SingleDonor, pb::FundingMode::JointlyFunded]);
    let languages: Vec<String> = match rng.below(3) {
        0 => vec!["en".into()],
        1 => vec!["fr".into(), "en".into()],
        _ => vec!["fr".into()],
    };
    let domains = match rng.below(3) {
        0 => Vec::new(),
        _ => rng.subset(&DOMAINS, 1),
    };
    let n = pb::Need {
        title: format!("Need {i}"),
        area: pb::ThematicArea::ExportTransshipment as i32,
        sub_areas: codes(&subs[..subs.len().min(4)]),
        weapon_domains: codes(&domains),
        assistance_kinds: codes(&rng.subset(&KINDS, 1)),
        accepted_funding_modes: codes(&[
            pb::FundingMode::SingleDonor,
            pb::FundingMode::JointlyFunded,
        ]),
        preferred_funding_mode: preferred as i32,
        estimated_budget: usd(i64::try_from(2 + rng.below(30)).expect("small") * 2_500_000),
        wanted_from: "2027-01-01".into(),
        needed_by: "2027-12-31".into(),
        languages,
        ..need("random")
    };
    (state.to_owned(), n)
}

/// The score the simulated brokers judge by: the gates' multipliers as shown, times the
/// true weights on the factor values shown.
fn truth_score(c: &pb::OfferCandidate, names: &[&str]) -> f64 {
    let mut sum = 0.0;
    let mut gates = 1.0;
    for f in &c.factors {
        if let Some(i) = names.iter().position(|n| *n == f.name) {
            sum += TRUTH[i] * f.value;
        } else {
            gates *= f.value;
        }
    }
    gates * sum
}

const FACTOR_NAMES: [&str; 9] = [
    "thematic",
    "geography",
    "funding",
    "budget",
    "assistance",
    "timing",
    "language",
    "domain",
    "specificity",
];

/// Brokers view each need's candidates and propose the two the true weights rank first;
/// both sides accept the first, the second stays proposed. Returns how many needs got a
/// proposal.
async fn decide(
    bm: &mut Matcher,
    requesters: &mut std::collections::HashMap<String, Matcher>,
    providers: &mut [Matcher],
    needs: &[String],
) -> usize {
    let mut proposed = 0;
    for need_id in needs {
        let shown = bm
            .find_offers_for_need(pb::FindOffersForNeedRequest {
                need_id: need_id.clone(),
                page_size: 50,
                ..Default::default()
            })
            .await
            .expect("find")
            .into_inner()
            .candidates;
        if shown.len() < 3 {
            continue;
        }
        let mut order: Vec<&pb::OfferCandidate> = shown.iter().collect();
        order.sort_by(|a, b| {
            truth_score(b, &FACTOR_NAMES).total_cmp(&truth_score(a, &FACTOR_NAMES))
        });
        for (k, c) in order.iter().take(2).enumerate() {
            let m = propose(bm, need_id, &c.offer_id).await;
            if k == 0 {
                accept(requesters, providers, &m, &c.provider_party_id).await;
            }
        }
        proposed += 1;
    }
    proposed
}

async fn propose(bm: &mut Matcher, need_id: &str, offer_id: &str) -> pb::Match {
    for mode in [pb::FundingMode::SingleDonor, pb::FundingMode::JointlyFunded] {
        match bm
            .create_match(pb::CreateMatchRequest {
                need_id: need_id.to_owned(),
                funding_mode: mode as i32,
                contributions: vec![pb::Contribution {
                    offer_id: offer_id.to_owned(),
                    in_kind: "two expert missions".into(),
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
        {
            Ok(r) => return r.into_inner().r#match.expect("match"),
            Err(e) if support::reason(&e) == "FUNDING_MODE_MISMATCH" => continue,
            Err(e) => panic!("propose: {e:?}"),
        }
    }
    panic!("no funding mode fits {offer_id}");
}

async fn accept(
    requesters: &mut std::collections::HashMap<String, Matcher>,
    providers: &mut [Matcher],
    m: &pb::Match,
    provider_party: &str,
) {
    let requester = requesters
        .get_mut(&m.requester_party_id)
        .expect("requester key");
    requester
        .accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("requester accepts");
    let i = PROVIDERS
        .iter()
        .position(|p| format!("state-{p}") == provider_party)
        .expect("provider");
    providers[i]
        .accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("provider accepts");
}

const PROVIDERS: [&str; 3] = ["FRA", "DEU", "JPN"];

/// The client binary with an admin key file and its own config directory.
struct Cli {
    server: String,
    home: tempfile::TempDir,
    key: PathBuf,
}

impl Cli {
    fn new(server: &TestServer) -> Cli {
        let home = tempfile::tempdir().expect("tempdir");
        let key = home.path().join("admin.key");
        std::fs::write(&key, format!("{}\n", server.admin_key)).expect("key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        Cli {
            server: format!("http://{}", server.addr),
            home,
            key,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("CLEARINGHOUSE_SERVER", &self.server)
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("CLEARINGHOUSE_API_KEY_FILE", &self.key)
            .env("NO_COLOR", "1")
            .env_remove("CLEARINGHOUSE_API_KEY")
            .env_remove("CLEARINGHOUSE_PROFILE")
            .env_remove("CLEARINGHOUSE_OUTPUT")
            .env_remove("CLEARINGHOUSE_CLIENT_CONFIG")
            .stdin(Stdio::null());
        c
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut c = self.command(args);
        let out = tokio::time::timeout(
            GUARD,
            tokio::task::spawn_blocking(move || c.output().expect("run the client")),
        )
        .await
        .expect("the client finishes within the guard time")
        .expect("join");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn path(&self) -> &Path {
        self.home.path()
    }
}

async fn policy(server: &TestServer) -> pb::MatchingPolicy {
    server
        .admin()
        .await
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await
        .expect("policy")
        .into_inner()
        .policy
        .expect("policy")
}

fn setting(v: &Value, name: &str, which: &str) -> f64 {
    v["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s[which].as_f64())
        .unwrap_or_else(|| panic!("{name}.{which} in {v}"))
}

/// Captures `args` as the terminal shows them, through tmux (when installed).
fn terminal_capture(cli: &Cli, args: &[&str]) -> Option<String> {
    let has_tmux = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tmux {
        eprintln!("tmux not installed: terminal capture skipped");
        return None;
    }
    let socket = cli.path().join("tmux.sock");
    let done = cli.path().join("done");
    let script = cli.path().join("run.sh");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport CLEARINGHOUSE_SERVER='{}' XDG_CONFIG_HOME='{}' CLEARINGHOUSE_API_KEY_FILE='{}'\n'{}' {} ; touch '{}'\nexec sleep 600\n",
            cli.server,
            cli.path().display(),
            cli.key.display(),
            BIN,
            quoted.join(" "),
            done.display()
        ),
    )
    .expect("script");
    let s = socket.to_str().expect("utf-8");
    let ok = Command::new("tmux")
        .args(["-S", s, "new-session", "-d", "-x", "120", "-y", "40", "sh"])
        .arg(&script)
        .status()
        .is_ok_and(|st| st.success());
    assert!(ok, "tmux starts");
    let start = std::time::Instant::now();
    while !done.exists() {
        assert!(start.elapsed() < GUARD, "the client finishes in tmux");
        std::thread::yield_now();
    }
    let out = Command::new("tmux")
        .args(["-S", s, "capture-pane", "-p", "-t", "0"])
        .output()
        .expect("capture");
    let _ = Command::new("tmux").args(["-S", s, "kill-server"]).status();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tune_weights_recovers_the_weights_brokers_decided_by_and_applies_only_when_asked() {
    let (server, _dir) = support::start().await;
    let cli = Cli::new(&server);
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let mut bm = server.matcher(&bkey).await;
    let mut requesters = std::collections::HashMap::new();
    let mut requester_clients = std::collections::HashMap::new();
    for s in STATES {
        let key = server.key(pb::Role::Requester, &format!("state-{s}")).await;
        requesters.insert(format!("state-{s}"), server.matcher(&key).await);
        requester_clients.insert(s.to_owned(), server.clients(Some(&key)).await);
    }
    let mut providers = Vec::new();
    let mut provider_clients = Vec::new();
    for p in PROVIDERS {
        let key = server.key(pb::Role::Provider, &format!("state-{p}")).await;
        providers.push(server.matcher(&key).await);
        provider_clients.push(server.clients(Some(&key)).await);
    }
    let mut rng = Rng(0x1540_2026);
    for i in 0..60 {
        let o = random_offer(&mut rng, i);
        let p = i % PROVIDERS.len();
        active_offer(&mut provider_clients[p], o).await;
    }
    let mut needs = Vec::new();
    for i in 0..NEEDS {
        let (state, n) = random_need(&mut rng, i);
        let r = requester_clients.get_mut(&state).expect("requester");
        needs.push(circulated_need(r, &mut broker, n).await);
    }

    // A few decisions are refused with the reason; nothing changes.
    let before = policy(&server).await;
    decide(&mut bm, &mut requesters, &mut providers, &needs[..3]).await;
    let (code, _, err) = cli.run(&["admin", "tune-weights"]).await;
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("too few decisions to fit"), "{err}");

    let proposed = decide(&mut bm, &mut requesters, &mut providers, &needs[3..]).await;
    assert!(proposed >= NEEDS * 9 / 10, "{proposed} needs got proposals");

    let (code, out, err) = cli
        .run(&["admin", "tune-weights", "--output", "json"])
        .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    eprintln!("{out}");
    for (name, want) in FACTOR_NAMES.iter().zip(TRUTH) {
        let got = setting(&v, name, "proposed");
        assert!(
            (got - want).abs() <= WEIGHT_TOLERANCE,
            "{name}: fitted {got:.3}, true {want:.3}"
        );
    }
    for (name, cur) in [
        ("missing_kinds_penalty", before.missing_kinds_penalty),
        (
            "no_common_language_penalty",
            before.no_common_language_penalty,
        ),
        (
            "single_donor_shortfall_penalty",
            before.single_donor_shortfall_penalty,
        ),
    ] {
        let got = setting(&v, name, "proposed");
        assert!(
            (got - cur).abs() <= PENALTY_TOLERANCE,
            "{name}: {got:.3} vs {cur:.3}"
        );
    }
    assert!(
        v["proposedHeldOut"]["ndcg"].as_f64() > v["currentHeldOut"]["ndcg"].as_f64(),
        "{v}"
    );
    assert_eq!(v["etag"], before.etag.as_str());
    assert_eq!(
        policy(&server).await,
        before,
        "nothing changes without --apply"
    );

    // The table, as a terminal shows it.
    let (code, table, _) = cli.run(&["admin", "tune-weights"]).await;
    assert_eq!(code, 0);
    for word in [
        "SETTING",
        "CURRENT",
        "PROPOSED",
        "thematic",
        "NDCG@5",
        "pairwise accuracy",
    ] {
        assert!(table.contains(word), "{word} in {table}");
    }
    if let Some(screen) = terminal_capture(&cli, &["admin", "tune-weights"]) {
        eprintln!("{screen}");
        assert!(screen.contains("PROPOSED") && screen.contains("single_donor_shortfall_penalty"));
    }

    // --apply without a terminal needs --yes; with it, the proposal is the policy.
    let (code, _, err) = cli.run(&["admin", "tune-weights", "--apply"]).await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(policy(&server).await, before);
    let (code, _, err) = cli
        .run(&["admin", "tune-weights", "--apply", "--yes"])
        .await;
    assert_eq!(code, 0, "{err}");
    let after = policy(&server).await;
    assert_ne!(after.etag, before.etag);
    for (name, got) in [
        ("thematic", after.thematic_weight),
        ("geography", after.geography_weight),
        ("funding", after.funding_weight),
        ("budget", after.budget_weight),
        ("assistance", after.assistance_weight),
        ("timing", after.timing_weight),
        ("language", after.language_weight),
        ("domain", after.domain_weight),
        ("specificity", after.specificity_weight),
    ] {
        let want = setting(&v, name, "proposed");
        assert!(
            (got - want).abs() < 1e-9,
            "{name}: applied {got}, proposed {want}"
        );
    }
    assert_eq!(
        (after.top_k, after.exact_consortium_max),
        (before.top_k, before.exact_consortium_max)
    );
}

/// Needs in the generated history.
const NEEDS: usize = 80;
