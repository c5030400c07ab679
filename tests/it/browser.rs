//! The console in a real browser: headless Chromium driven over WebDriver (chromedriver on
//! a free port, a fresh profile). Each role signs in; a need goes from draft to an agreed
//! match by typing into the forms and pressing their buttons; what a role must not see
//! (confidential needs, contacts) is checked absent from the HTML it is shown; and a
//! screenshot of each main page is saved under `target/console-screenshots/`.
//!
//! The console sends no script and its CSP forbids any, so everything here works as it
//! would with JavaScript off: forms post and the server redirects.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use clearinghouse::pb;

use crate::support::{self, active_offer, circulated_need, need, offer};

/// chromedriver, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver on a free port and waits for its "started" line.
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver)");
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let started = lines.any(|l| l.is_ok_and(|l| l.contains("started successfully")));
        assert!(started, "chromedriver did not start");
        // Keep reading (and dropping) its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the screenshots go.
fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

struct Browser {
    c: Client,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(driver: &Driver, base: String) -> Browser {
        let profile = tempfile::tempdir().expect("profile");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        // Element look-ups wait for the next page: a click that submits a form returns
        // as its navigation starts.
        caps.insert("timeouts".into(), serde_json::json!({ "implicit": 15_000 }));
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,1800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let c = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session");
        Browser {
            c,
            base,
            _profile: profile,
        }
    }

    async fn go(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    async fn source(&self) -> String {
        self.c.source().await.expect("source")
    }

    async fn path(&self) -> String {
        self.c.current_url().await.expect("url").path().to_owned()
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(shots_dir().join(format!("{name}.png")), png).expect("write png");
    }

    async fn type_in(&self, id: &str, text: &str) {
        let e = self
            .c
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("field {id}"));
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    async fn tick(&self, name: &str, value: &str) {
        let css = format!("input[name='{name}'][value='{value}']");
        self.c
            .find(Locator::Css(&css))
            .await
            .unwrap_or_else(|_| panic!("choice {css}"))
            .click()
            .await
            .expect("tick");
    }

    async fn choose(&self, id: &str, value: &str) {
        self.c
            .find(Locator::Id(id))
            .await
            .expect("select")
            .select_by_value(value)
            .await
            .expect("choose");
    }

    /// Presses the button labelled `label`, then waits until the page shows `then` (text
    /// of the next page, found through the driver's implicit wait).
    async fn press(&self, label: &str, then: &str) {
        let xpath = format!("//button[normalize-space()='{label}']");
        self.c
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("button {label}"))
            .click()
            .await
            .expect("press");
        self.expect(then).await;
    }

    /// Waits until an element's own text contains `text`.
    async fn expect(&self, text: &str) {
        let xpath = format!("//*[contains(text(), \"{text}\")]");
        if self.c.find(Locator::XPath(&xpath)).await.is_err() {
            panic!("the page never showed {text:?}: {}", self.source().await);
        }
    }

    /// Opens the `<details>` whose summary reads `label`.
    async fn open_details(&self, label: &str) {
        let xpath = format!("//summary[normalize-space()='{label}']");
        self.c
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|_| panic!("details {label}"))
            .click()
            .await
            .expect("open");
    }

    async fn follow(&self, text: &str, then: &str) {
        self.c
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|_| panic!("link {text}"))
            .click()
            .await
            .expect("follow");
        self.expect(then).await;
    }

    async fn sign_in(&self, key: &str) {
        self.go("/console/sign-in").await;
        self.type_in("api_key", key).await;
        self.press("Sign in", "Signed in as").await;
    }

    async fn sign_out(&self) {
        self.press("Sign out", "You have signed out").await;
    }
}

const REQUEST_TEXT: &str = "The Permanent Mission of the Republic of Kenya presents its compliments \
to the 1540 Committee and requests assistance with export control: training of licensing \
officers on the national control list, and support to draft regulations on transit and \
trans-shipment, by March 2027.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_walks_the_console_in_chromium_and_sees_only_what_it_may() {
    let (server, _dir) = support::start().await;
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let akey = server.key(pb::Role::Analyst, "").await;
    let mut o = offer("French export control outreach");
    o.budget_ceiling = Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: 500_000_000,
    });
    let mut fra = server.clients(Some(&pkey)).await;
    active_offer(&mut fra, o).await;
    // A confidential need with a contact, circulated, which only the Committee and Kenya see.
    let mut ken = server.clients(Some(&rkey)).await;
    let mut broker = server.clients(Some(&bkey)).await;
    let mut secret = need("Confidential reactor security upgrade");
    secret.visibility = pb::Visibility::CommitteeOnly as i32;
    secret.contact = Some(pb::ContactPoint {
        name: "Hidden Person".into(),
        email: "hidden.person@example.org".into(),
        ..Default::default()
    });
    circulated_need(&mut ken, &mut broker, secret).await;

    let driver = tokio::task::spawn_blocking(Driver::start)
        .await
        .expect("driver");
    let b = Browser::open(&driver, format!("http://{}", server.addr)).await;

    // The requesting State: records a need, submits it, gives consent; reads a request.
    b.sign_in(&rkey).await;
    assert_eq!(b.path().await, "/console/needs");
    b.follow("Record a need", "What is needed").await;
    b.type_in("title", "Licensing officer training").await;
    b.type_in(
        "description",
        "Training for licensing officers on the national control list",
    )
    .await;
    b.choose("area", "EXPORT_TRANSSHIPMENT").await;
    b.tick("sub_areas", "EXPORT_TRANSSHIPMENT.CONTROL_LISTS")
        .await;
    b.tick("assistance_kinds", "TRAINING").await;
    b.tick("accepted_funding_modes", "SINGLE_DONOR").await;
    b.type_in("estimated_budget_currency", "USD").await;
    b.type_in("estimated_budget_amount", "120,000").await;
    b.type_in("contact_email", "desk.officer@example.org").await;
    b.shot("need-form").await;
    b.press("Save as draft", "Need recorded as a draft").await;
    let need_path = b.path().await;
    assert!(need_path.starts_with("/console/needs/"), "{need_path}");
    b.shot("need-draft").await;
    b.press("Submit to the Committee", "Need submitted to the Committee")
        .await;
    b.open_details("Publication consent").await;
    b.tick("consent", "GRANTED").await;
    b.press("Continue", "Check your answers").await;
    b.shot("check-your-answers-consent").await;
    b.press("Confirm the answer", "Publication consent recorded")
        .await;
    b.go("/console/intake").await;
    b.type_in("text", REQUEST_TEXT).await;
    b.press("Read the text", "Drafts read from the text").await;
    let drafts = b.source().await;
    assert!(
        drafts.contains("<mark>"),
        "evidence is marked in the text: {drafts}"
    );
    b.shot("intake-drafts").await;
    b.sign_out().await;

    // The broker: worklist, authenticate, circulate, candidates, propose after checking.
    b.sign_in(&bkey).await;
    assert_eq!(b.path().await, "/console/worklist");
    assert!(b.source().await.contains("Licensing officer training"));
    b.shot("broker-worklist").await;
    b.go(&need_path).await;
    b.press("Authenticate", "Need authenticated").await;
    b.press("Circulate to providers", "Need circulated to providers")
        .await;
    let page = b.source().await;
    assert!(page.contains("Need circulated to providers"), "circulated");
    assert!(
        page.contains("French export control outreach"),
        "a ranked candidate"
    );
    assert!(
        page.contains("desk.officer@example.org"),
        "the Committee sees the contact"
    );
    b.shot("need-candidates").await;
    b.follow("Propose a match with this offer", "Amount pledged")
        .await;
    b.type_in("amount_0", "120000").await;
    b.press("Continue", "Check your answers before proposing this match")
        .await;
    b.shot("check-your-answers-propose").await;
    b.press("Propose the match", "Match proposed").await;
    let match_path = b.path().await;
    assert!(
        match_path.starts_with("/console/matches/"),
        "{match_path}: {}",
        b.source().await
    );
    b.go("/console/plan").await;
    b.shot("allocation-plan").await;
    b.go("/console/reports/coverage").await;
    assert!(b.source().await.contains("<svg"), "the chart is drawn");
    b.shot("report-coverage").await;
    b.sign_out().await;

    // Each side accepts after checking its answer; the provider's view holds no contact.
    for (key, name) in [(&rkey, "requester"), (&pkey, "provider")] {
        b.sign_in(key).await;
        b.go(&match_path).await;
        b.press(
            "Accept this match",
            "Check your answers before accepting this match",
        )
        .await;
        b.press("Accept the match", "Match accepted").await;
        let page = b.source().await;
        assert!(page.contains("Match accepted"), "{name}");
        if name == "provider" {
            assert!(page.contains("Agreed"), "both sides accepted");
            b.shot("match-agreed").await;
            let mut seen = page;
            for path in ["/console/offers", "/console/matches", need_path.as_str()] {
                b.go(path).await;
                seen.push_str(&b.source().await);
            }
            b.shot("provider-offers").await;
            assert!(
                !seen.contains("desk.officer@example.org"),
                "no contact for providers"
            );
            assert!(
                !seen.contains("Confidential reactor"),
                "no confidential need for providers"
            );
        }
        b.sign_out().await;
    }

    // The analyst: reports only, confidential needs as counts.
    b.sign_in(&akey).await;
    assert_eq!(b.path().await, "/console/reports");
    let mut seen = String::new();
    for path in [
        "/console/reports/coverage",
        "/console/reports/ageing",
        "/console/reports/matches",
    ] {
        b.go(path).await;
        seen.push_str(&b.source().await);
    }
    b.shot("analyst-report").await;
    assert!(!seen.contains("Confidential reactor") && !seen.contains("hidden.person@example.org"));
    b.go("/console/needs/new").await;
    assert!(b.source().await.contains("Your role may not use this page"));
    b.sign_out().await;

    let mut matcher = server.matcher(&bkey).await;
    let id = match_path.rsplit('/').next().unwrap_or_default().to_owned();
    let m = matcher
        .get_match(pb::GetMatchRequest { id })
        .await
        .expect("match")
        .into_inner()
        .r#match
        .expect("match");
    assert_eq!(m.status, pb::MatchStatus::Agreed as i32);
    b.c.close().await.expect("close the browser");
}
