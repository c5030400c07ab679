//! The client end to end: the real `clearinghouse` binary against a real server on
//! `127.0.0.1:0`: keys, imports (twice, and refused whole), a match proposed and agreed,
//! a live `match watch`, JSON field names, updates, profiles and the exit codes.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use clearinghouse::pb;
use serde_json::Value;

use crate::support::{self, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_clearinghouse");
const GUARD: Duration = Duration::from_secs(60);

fn sample(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// What a run printed and how it ended.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "failed: {self:?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// The client binary pointed at one server, with its own empty config directory.
struct Client {
    server: String,
    home: tempfile::TempDir,
}

impl Client {
    fn new(server: &TestServer) -> Client {
        Client {
            server: format!("http://{}", server.addr),
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Writes `key` to a 0600 file and returns its path.
    fn key_file(&self, name: &str, key: &str) -> PathBuf {
        let path = self.home.path().join(name);
        std::fs::write(&path, format!("{key}\n")).expect("write key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        path
    }

    fn command(&self, key: Option<&Path>, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("CLEARINGHOUSE_SERVER", &self.server)
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("CLEARINGHOUSE_API_KEY")
            .env_remove("CLEARINGHOUSE_API_KEY_FILE")
            .env_remove("CLEARINGHOUSE_PROFILE")
            .env_remove("CLEARINGHOUSE_OUTPUT")
            .env_remove("CLEARINGHOUSE_CLIENT_CONFIG")
            .stdin(Stdio::null());
        if let Some(k) = key {
            c.env("CLEARINGHOUSE_API_KEY_FILE", k);
        }
        c
    }

    /// Runs the binary with `key` (a key file) and `args`, off the async runtime.
    async fn run(&self, key: Option<&Path>, args: &[&str]) -> Run {
        let mut c = self.command(key, args);
        let out = tokio::time::timeout(
            GUARD,
            tokio::task::spawn_blocking(move || c.output().expect("run the client")),
        )
        .await
        .expect("the client finishes within the guard time")
        .expect("join");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Creates a key through `admin key create --key-file` and returns the file.
    async fn new_key(&self, admin: &Path, file: &str, args: &[&str]) -> PathBuf {
        let path = self.home.path().join(file);
        let p = path.to_str().expect("utf-8 path").to_owned();
        let mut all = vec!["admin", "key", "create", "--key-file", p.as_str()];
        all.extend_from_slice(args);
        self.run(Some(admin), &all).await.ok();
        path
    }
}

/// A started server, its client, and the admin and broker key files.
async fn setup() -> (TestServer, tempfile::TempDir, Client, PathBuf, PathBuf) {
    let (server, dir) = support::start().await;
    let cli = Client::new(&server);
    let admin = cli.key_file("admin.key", &server.admin_key);
    let broker = cli
        .new_key(
            &admin,
            "broker.key",
            &["--name", "1540 expert", "--role", "broker"],
        )
        .await;
    (server, dir, cli, admin, broker)
}

async fn need_count(server: &TestServer) -> usize {
    let mut admin = server.admin().await;
    admin
        .needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list needs")
        .into_inner()
        .needs
        .len()
}

#[tokio::test]
async fn admin_key_create_writes_a_private_key_file_that_the_client_then_uses() {
    let (_server, _dir, cli, admin, _broker) = setup().await;
    let kenya = cli
        .new_key(
            &admin,
            "kenya.key",
            &[
                "--name",
                "Kenya, Permanent Mission",
                "--role",
                "requester",
                "--party",
                "state-KEN",
            ],
        )
        .await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kenya)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = cli
        .run(Some(&admin), &["admin", "key", "list", "-o", "csv"])
        .await
        .ok();
    assert!(
        listed.stdout.contains(",REQUESTER,state-KEN,"),
        "{listed:?}"
    );
    let me = cli
        .run(Some(&kenya), &["party", "get", "state-KEN", "-o", "json"])
        .await
        .ok();
    assert_eq!(me.json()["party"]["countryCode"], "KEN");
    // Without --key-file the key alone is on stdout, ready for a file or a variable.
    let printed = cli
        .run(
            Some(&admin),
            &[
                "admin", "key", "create", "--name", "Analyst", "--role", "analyst",
            ],
        )
        .await
        .ok();
    assert!(printed.stdout.trim().starts_with("chk_"), "{printed:?}");
    assert_eq!(printed.stdout.trim().lines().count(), 1);
}

#[tokio::test]
async fn importing_a_sample_twice_creates_each_row_once_and_counts_the_rest_as_existing() {
    let (server, _dir, cli, _admin, broker) = setup().await;
    let needs = sample("needs.csv");
    let first = cli
        .run(Some(&broker), &["import", "needs", &needs])
        .await
        .ok();
    assert!(
        first
            .stdout
            .contains("needs: created 32, already existed 0, failed 0"),
        "{first:?}"
    );
    assert!(first.stderr.contains("progress: 32/32 rows"), "{first:?}");
    let again = cli
        .run(Some(&broker), &["import", "needs", &needs])
        .await
        .ok();
    assert!(
        again
            .stdout
            .contains("needs: created 0, already existed 32, failed 0"),
        "{again:?}"
    );
    assert_eq!(need_count(&server).await, 32);

    // The JSON sample of the same needs creates nothing either; its offers arrive active.
    let same = cli
        .run(
            Some(&broker),
            &["import", "needs", &sample("needs.json"), "-o", "json"],
        )
        .await
        .ok();
    assert_eq!(same.json()["alreadyExisted"], 32);
    let offers = cli
        .run(
            Some(&broker),
            &["import", "offers", &sample("offers.json"), "--activate"],
        )
        .await
        .ok();
    assert!(offers.stdout.contains("offers: created 26"), "{offers:?}");
    let active = cli
        .run(
            Some(&broker),
            &["offer", "list", "--status", "active", "--all", "-o", "json"],
        )
        .await
        .ok();
    assert_eq!(active.json()["offers"].as_array().map(Vec::len), Some(26));
}

#[tokio::test]
async fn a_file_with_bad_rows_is_refused_whole_with_every_bad_row_listed_and_nothing_sent() {
    let (server, _dir, cli, _admin, broker) = setup().await;
    let text = std::fs::read_to_string(sample("needs.csv")).expect("sample");
    let mut lines: Vec<String> = text.lines().take(5).map(str::to_owned).collect();
    // Line 3: a sub-area of another area. Line 4: no title and a negative budget.
    lines[2] = lines[2].replacen("DETECTION_EQUIPMENT", "INSIDER_THREAT", 1);
    lines[3] = lines[3]
        .replacen("Drafting of a strategic trade control law", "", 1)
        .replacen("USD 120000", "USD -5", 1);
    let file = cli.home.path().join("bad.csv");
    std::fs::write(&file, lines.join("\n")).expect("write");

    let run = cli
        .run(
            Some(&broker),
            &["import", "needs", file.to_str().expect("path")],
        )
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
    assert!(
        run.stderr
            .contains("2 of 4 row(s) are invalid; nothing was sent"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("line 3 (KEN-2026-02): sub_areas[0]: INSIDER_THREAT"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("line 4 (UGA-2026-01): title: is required"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("line 4 (UGA-2026-01): estimated_budget:"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("line 2") && !run.stderr.contains("line 5"),
        "{run:?}"
    );
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(need_count(&server).await, 0);
}

/// Reads everything a child prints until it exits (it stops after `--count`).
#[tokio::test]
async fn a_folder_of_request_texts_becomes_one_draft_need_per_area_once_and_a_bad_text_stops_it_all()
 {
    let (server, _dir, cli, _admin, broker) = setup().await;
    let folder = sample("requests");

    // --dry-run reads every text through the server and creates nothing.
    let dry = cli
        .run(Some(&broker), &["import", "needs", &folder, "--dry-run"])
        .await
        .ok();
    assert!(
        dry.stderr
            .contains("3 text(s) read into 5 valid need(s); nothing was created"),
        "{dry:?}"
    );
    assert_eq!(need_count(&server).await, 0);

    let first = cli
        .run(Some(&broker), &["import", "needs", &folder, "--submit"])
        .await
        .ok();
    assert!(
        first
            .stdout
            .contains("needs: created 5, already existed 0, failed 0"),
        "{first:?}"
    );
    let again = cli
        .run(Some(&broker), &["import", "needs", &folder])
        .await
        .ok();
    assert!(
        again
            .stdout
            .contains("needs: created 0, already existed 5, failed 0"),
        "{again:?}"
    );
    let listed = cli
        .run(Some(&broker), &["need", "list", "--all", "-o", "json"])
        .await
        .ok();
    let needs = listed.json()["needs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(needs.len(), 5, "{listed:?}");
    let mut kenya: Vec<(String, String)> = needs
        .iter()
        .filter(|n| n["requesterPartyId"] == "state-KEN")
        .map(|n| {
            (
                n["externalId"].as_str().unwrap_or_default().to_owned(),
                n["area"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    kenya.sort();
    assert_eq!(
        kenya.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        [
            "kenya-note-verbale.txt#1",
            "kenya-note-verbale.txt#2",
            "kenya-note-verbale.txt#3"
        ],
        "{listed:?}"
    );
    assert!(
        kenya
            .iter()
            .any(|(_, area)| area == "THEMATIC_AREA_BORDER_LAW_ENFORCEMENT"),
        "{kenya:?}"
    );
    assert!(
        needs.iter().all(|n| n["status"] == "NEED_STATUS_SUBMITTED"),
        "{listed:?}"
    );

    // A folder with a good text beside an unreadable, an empty, a stateless and an
    // off-topic one is refused whole, each problem named by its file.
    let bad = cli.home.path().join("texts");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::copy(sample("requests/jamaica-email.txt"), bad.join("a-good.txt")).expect("copy");
    std::fs::write(bad.join("b-binary.txt"), [0xff, 0xfe, 0x00]).expect("write");
    std::fs::write(bad.join("c-empty.txt"), "  \n").expect("write");
    std::fs::write(
        bad.join("d-no-state.txt"),
        "We request a training course for customs officers on detecting radioactive material at our borders.",
    )
    .expect("write");
    std::fs::write(
        bad.join("e-weather.txt"),
        "Hello, how are you? We like the weather.",
    )
    .expect("write");
    std::fs::write(bad.join("notes.md"), "not read: only .txt files are").expect("write");
    let run = cli
        .run(
            Some(&broker),
            &["import", "needs", bad.to_str().expect("path")],
        )
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    for expected in [
        "4 of 5 row(s) are invalid; nothing was sent",
        "b-binary.txt: is not UTF-8 text",
        "c-empty.txt: is empty",
        "d-no-state.txt: names no requesting State; pass --requester PARTY_ID",
        "e-weather.txt: asks for nothing the reader recognizes",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {run:?}");
    }
    assert!(!run.stderr.contains("a-good.txt"), "{run:?}");
    assert_eq!(need_count(&server).await, 5);

    // --requester names the party of texts that name none; offers refuse folders.
    let named = cli
        .run(
            Some(&broker),
            &[
                "import",
                "needs",
                bad.to_str().expect("path"),
                "--requester",
                "state-GHA",
                "--dry-run",
            ],
        )
        .await;
    assert!(!named.stderr.contains("d-no-state.txt"), "{named:?}");
    let offers = cli.run(Some(&broker), &["import", "offers", &folder]).await;
    assert_eq!(offers.code, 2, "{offers:?}");
    assert!(offers.stderr.contains("read into needs only"), "{offers:?}");
}

async fn read_to_end(mut child: std::process::Child) -> String {
    let mut out = child.stdout.take().expect("piped stdout");
    let reader = tokio::task::spawn_blocking(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).expect("read");
        s
    });
    match tokio::time::timeout(GUARD, reader).await {
        Ok(s) => {
            let _ = child.wait();
            s.expect("join")
        }
        Err(_) => {
            let _ = child.kill();
            panic!("match watch did not print its events within the guard time");
        }
    }
}

#[tokio::test]
async fn a_match_is_proposed_and_agreed_through_the_client_while_watch_prints_its_events() {
    let (_server, _dir, cli, admin, broker) = setup().await;
    let kenya = cli
        .new_key(
            &admin,
            "kenya.key",
            &[
                "--name",
                "Kenya",
                "--role",
                "requester",
                "--party",
                "state-KEN",
            ],
        )
        .await;
    let eu = cli
        .new_key(
            &admin,
            "eu.key",
            &[
                "--name", "EU P2P", "--role", "provider", "--party", "org-eu",
            ],
        )
        .await;
    cli.run(
        Some(&admin),
        &[
            "admin", "rates", "set", "--base", "USD", "EUR=1.08", "GBP=1.27",
        ],
    )
    .await
    .ok();
    cli.run(
        Some(&broker),
        &["import", "offers", &sample("offers.csv"), "--activate"],
    )
    .await
    .ok();
    cli.run(
        Some(&kenya),
        &["import", "needs", &sample("needs.csv"), "--submit"],
    )
    .await;
    let listed = cli
        .run(
            Some(&kenya),
            &["need", "list", "--status", "submitted", "-o", "json"],
        )
        .await
        .ok()
        .json();
    let need = listed["needs"]
        .as_array()
        .expect("needs")
        .iter()
        .find(|n| n["externalId"] == "KEN-2026-01")
        .expect("the Kenyan need")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    cli.run(Some(&broker), &["need", "authenticate", &need])
        .await
        .ok();
    let circulated = cli
        .run(Some(&broker), &["need", "circulate", &need])
        .await
        .ok();
    assert!(
        circulated.stdout.contains("now CIRCULATED"),
        "{circulated:?}"
    );

    let candidates = cli
        .run(Some(&broker), &["match", "candidates", &need, "-o", "json"])
        .await
        .ok()
        .json();
    let ranked = candidates["candidates"].as_array().expect("candidates");
    assert!(
        ranked
            .iter()
            // Nine factors, then the three gates.
            .all(|c| c["factors"].as_array().is_some_and(|f| f.len() == 12))
    );
    let eu_offer = ranked
        .iter()
        .find(|c| c["providerPartyId"] == "org-eu")
        .unwrap_or_else(|| panic!("the EU programme is a candidate: {candidates}"));
    let offer = eu_offer["offerId"].as_str().expect("offer id").to_owned();
    let table = cli
        .run(Some(&broker), &["match", "candidates", &need])
        .await
        .ok();
    assert!(table.stdout.contains("thematic"), "{table:?}");
    assert!(table.stdout.contains(&offer), "{table:?}");

    let mut watch = cli.command(
        Some(&broker),
        &["match", "watch", "--count", "3", "-o", "json"],
    );
    let watcher = watch.stdout(Stdio::piped()).spawn().expect("spawn watch");

    let proposed = cli
        .run(
            Some(&broker),
            &[
                "match",
                "propose",
                &need,
                "--offer",
                &format!("{offer}=EUR 230000"),
                "-o",
                "json",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!(proposed["match"]["status"], "MATCH_STATUS_PROPOSED");
    let id = proposed["match"]["id"]
        .as_str()
        .expect("match id")
        .to_owned();
    let by_requester = cli.run(Some(&kenya), &["match", "accept", &id]).await.ok();
    assert!(
        by_requester.stdout.contains("now ACCEPTED_BY_REQUESTER"),
        "{by_requester:?}"
    );
    let by_provider = cli.run(Some(&eu), &["match", "accept", &id]).await.ok();
    assert!(by_provider.stdout.contains("now AGREED"), "{by_provider:?}");

    let events: Vec<Value> = read_to_end(watcher)
        .await
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        vec!["match.create", "match.accept", "match.accept"]
    );
    assert!(events.iter().all(|e| e["matchId"] == id.as_str()));
    let first = events[0]["sequence"]
        .as_str()
        .expect("int64 as a string")
        .to_owned();

    // Resuming after the first event delivers the two that followed it.
    let resumed = cli
        .run(
            Some(&broker),
            &[
                "match", "watch", "--after", &first, "--count", "2", "-o", "csv",
            ],
        )
        .await
        .ok();
    let rows: Vec<&str> = resumed.stdout.lines().collect();
    assert_eq!(
        rows[0],
        "sequence,event_time,action,match_id,status,need_id"
    );
    assert_eq!(rows.len(), 3, "{resumed:?}");
    assert!(rows[1].contains(",match.accept,") && rows[2].contains(",match.accept,"));

    let agreed = cli.run(Some(&kenya), &["match", "get", &id]).await.ok();
    assert!(agreed.stdout.contains("AGREED"), "{agreed:?}");
    assert!(agreed.stdout.contains("EUR 230,000"), "{agreed:?}");
}

#[tokio::test]
async fn json_output_is_the_proto3_mapping_with_the_api_field_names() {
    let (_server, _dir, cli, _admin, broker) = setup().await;
    cli.run(Some(&broker), &["import", "needs", &sample("needs.csv")])
        .await
        .ok();
    let list = cli
        .run(
            Some(&broker),
            &["need", "list", "--party", "state-KEN", "-o", "json"],
        )
        .await
        .ok()
        .json();
    let n = &list["needs"][0];
    assert_eq!(n["requesterPartyId"], "state-KEN");
    assert!(
        n["area"]
            .as_str()
            .is_some_and(|a| a.starts_with("THEMATIC_AREA_"))
    );
    assert_eq!(n["status"], "NEED_STATUS_DRAFT");
    assert!(
        n["estimatedBudget"]["minorUnits"].is_string(),
        "int64 as a string: {n}"
    );
    assert!(n.get("requester_party_id").is_none());
    let id = n["id"].as_str().expect("id");
    let got = cli
        .run(Some(&broker), &["need", "get", id, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(got["need"]["id"], id);
    assert!(
        got["need"]["createTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
}

#[tokio::test]
async fn updates_send_only_the_flags_given_reading_the_etag_first() {
    let (_server, _dir, cli, _admin, broker) = setup().await;
    cli.run(Some(&broker), &["import", "needs", &sample("needs.csv")])
        .await
        .ok();
    let list = cli
        .run(
            Some(&broker),
            &["need", "list", "--party", "state-UGA", "-o", "json"],
        )
        .await
        .ok()
        .json();
    let before = list["needs"][0].clone();
    let id = before["id"].as_str().expect("id").to_owned();
    let updated = cli
        .run(
            Some(&broker),
            &[
                "need",
                "update",
                &id,
                "--needed-by",
                "2028-03-31",
                "--contact-phone",
                "+256 41 000 000",
                "-o",
                "json",
            ],
        )
        .await
        .ok()
        .json();
    let after = &updated["need"];
    assert_eq!(after["neededBy"], "2028-03-31");
    assert_eq!(after["contact"]["phone"], "+256 41 000 000");
    assert_eq!(
        after["contact"]["email"], before["contact"]["email"],
        "contact merged"
    );
    assert_eq!(after["title"], before["title"]);
    assert_eq!(after["etag"], "2");

    // An etag that is no longer current is a conflict.
    let stale = cli
        .run(
            Some(&broker),
            &["need", "update", &id, "--priority", "low", "--etag", "1"],
        )
        .await;
    assert_eq!(stale.code, 5, "{stale:?}");
    assert!(
        stale.stderr.contains("changed since you read it"),
        "{stale:?}"
    );
    assert!(stale.stderr.contains("\nhint: "), "{stale:?}");
}

#[tokio::test]
async fn exit_codes_follow_the_documented_table() {
    let (_server, _dir, cli, admin, broker) = setup().await;
    let kenya = cli
        .new_key(
            &admin,
            "kenya.key",
            &[
                "--name",
                "Kenya",
                "--role",
                "requester",
                "--party",
                "state-KEN",
            ],
        )
        .await;

    let missing = cli
        .run(
            Some(&broker),
            &["need", "get", "01JNOSUCHNEED000000000000000"],
        )
        .await;
    assert_eq!(missing.code, 3, "{missing:?}");
    assert_eq!(
        missing.stderr,
        "error: need 01JNOSUCHNEED000000000000000 not found\n"
    );

    let denied = cli.run(Some(&kenya), &["admin", "key", "list"]).await;
    assert_eq!(denied.code, 4, "{denied:?}");
    let no_key = cli.run(None, &["party", "list"]).await;
    assert_eq!(no_key.code, 4, "{no_key:?}");
    assert!(no_key.stderr.contains("hint: "), "{no_key:?}");
    let bad_key = cli.key_file("bad.key", "chk_nobody_0000");
    let refused = cli.run(Some(&bad_key), &["party", "list"]).await;
    assert_eq!(refused.code, 4, "{refused:?}");

    // A conflict: circulating before the consent window has passed.
    cli.run(
        Some(&kenya),
        &["import", "needs", &sample("needs.csv"), "--submit"],
    )
    .await;
    let own = cli
        .run(Some(&kenya), &["need", "list", "-o", "json"])
        .await
        .ok()
        .json();
    let id = own["needs"][0]["id"].as_str().expect("id").to_owned();
    cli.run(
        Some(&kenya),
        &["need", "update", &id, "--publication-consent", "pending"],
    )
    .await
    .ok();
    cli.run(Some(&broker), &["need", "authenticate", &id])
        .await
        .ok();
    let early = cli.run(Some(&broker), &["need", "circulate", &id]).await;
    assert_eq!(early.code, 5, "{early:?}");
    assert_eq!(early.stderr.lines().count(), 1, "one line: {early:?}");

    let usage = cli
        .run(Some(&broker), &["need", "list", "--no-such-flag"])
        .await;
    assert_eq!(usage.code, 2, "{usage:?}");
    let bad_enum = cli
        .run(Some(&broker), &["need", "list", "--status", "pending"])
        .await;
    assert_eq!(bad_enum.code, 2, "{bad_enum:?}");
    let invalid = cli
        .run(
            Some(&broker),
            &[
                "need",
                "create",
                "--requester-party-id",
                "state-KEN",
                "--area",
                "physical-protection",
                "--sub-areas",
                "control-lists",
            ],
        )
        .await;
    assert_eq!(invalid.code, 2, "{invalid:?}");
    assert!(
        invalid.stderr.starts_with("error: invalid need: "),
        "{invalid:?}"
    );
    assert!(invalid.stderr.contains("title: is required"), "{invalid:?}");
    assert!(invalid.stderr.contains("\n  sub_areas[0]: "), "{invalid:?}");
    assert!(!invalid.stderr.contains("Status {"), "{invalid:?}");

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down = cli
        .run(
            Some(&broker),
            &[
                "party",
                "list",
                "--server",
                &format!("http://127.0.0.1:{port}"),
            ],
        )
        .await;
    assert_eq!(down.code, 6, "{down:?}");
    assert!(
        down.stderr.starts_with("error: cannot connect to"),
        "{down:?}"
    );
}

#[tokio::test]
async fn destructive_actions_need_yes_when_there_is_no_terminal() {
    let (_server, _dir, cli, _admin, broker) = setup().await;
    cli.run(Some(&broker), &["import", "offers", &sample("offers.csv")])
        .await
        .ok();
    let list = cli
        .run(
            Some(&broker),
            &["offer", "list", "--limit", "1", "-o", "json"],
        )
        .await
        .ok()
        .json();
    let id = list["offers"][0]["id"].as_str().expect("id").to_owned();
    let refused = cli
        .run(
            Some(&broker),
            &["offer", "withdraw", &id, "--reason", "Programme ended"],
        )
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("pass --yes"), "{refused:?}");
    let still = cli
        .run(Some(&broker), &["offer", "get", &id, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(still["offer"]["status"], "OFFER_STATUS_DRAFT");
    let done = cli
        .run(
            Some(&broker),
            &[
                "offer",
                "withdraw",
                &id,
                "--reason",
                "Programme ended",
                "--yes",
            ],
        )
        .await
        .ok();
    assert!(done.stdout.contains("now WITHDRAWN"), "{done:?}");
}

#[tokio::test]
async fn a_profile_in_the_config_directory_supplies_server_key_and_output() {
    let (_server, _dir, cli, _admin, broker) = setup().await;
    let dir = cli.home.path().join("clearinghouse");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("client.toml"),
        format!(
            "[profiles.committee]\nserver = \"{}\"\napi_key_file = \"{}\"\noutput = \"csv\"\n",
            cli.server,
            broker.display()
        ),
    )
    .expect("config");
    let mut c = cli.command(
        None,
        &["party", "list", "--profile", "committee", "--limit", "3"],
    );
    c.env_remove("CLEARINGHOUSE_SERVER");
    let out = tokio::task::spawn_blocking(move || c.output().expect("run"))
        .await
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.starts_with("id,kind,short_name,display_name"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 4);
}

#[tokio::test]
async fn completions_print_a_script_naming_the_subcommands() {
    let out = tokio::task::spawn_blocking(|| {
        Command::new(BIN)
            .args(["completions", "bash"])
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("_clearinghouse()"), "{script}");
    for sub in ["import", "candidates", "why-not", "watch"] {
        assert!(script.contains(sub), "{sub} missing");
    }
}

/// A working group's and a broker's tools: every report in every format, the brief as one
/// HTML file, the worklist, the exports, and a note verbale read into drafts that are
/// then created.
#[tokio::test]
async fn reports_in_every_format_the_worklist_and_need_suggest_work_from_the_binary() {
    let (_server, _dir, cli, admin, broker) = setup().await;
    let analyst = cli
        .new_key(
            &admin,
            "analyst.key",
            &["--name", "GP 1540 group", "--role", "analyst"],
        )
        .await;
    cli.run(
        Some(&broker),
        &["import", "needs", &sample("needs.csv"), "--submit"],
    )
    .await
    .ok();
    cli.run(
        Some(&broker),
        &["import", "offers", &sample("offers.csv"), "--activate"],
    )
    .await
    .ok();
    for report in ["coverage", "ageing", "matches", "portfolio", "pipeline"] {
        for format in ["table", "csv", "json", "html"] {
            let out = cli
                .run(Some(&analyst), &["report", report, "--format", format])
                .await
                .ok();
            match format {
                "json" => assert!(
                    out.json()["meta"]["report"].is_string(),
                    "{report}: {out:?}"
                ),
                "html" => assert!(
                    out.stdout.starts_with("<!DOCTYPE html>"),
                    "{report}: {out:?}"
                ),
                "csv" => assert!(out.stdout.lines().count() >= 2, "{report}: {out:?}"),
                _ => assert!(!out.stdout.trim().is_empty(), "{report}: {out:?}"),
            }
        }
    }
    let brief = cli.home.path().join("brief.html");
    let b = brief.to_str().expect("utf-8").to_owned();
    cli.run(Some(&analyst), &["report", "brief", "--to", &b])
        .await
        .ok();
    let html = std::fs::read_to_string(&brief).expect("brief written");
    assert!(
        html.matches("<svg").count() >= 4,
        "the brief has its charts"
    );
    // The worklist is a broker's: the submitted needs wait for authentication.
    let w = cli
        .run(Some(&broker), &["worklist", "--format", "json"])
        .await
        .ok();
    assert_eq!(
        w.json()["awaitingAuthentication"]["total"].as_u64(),
        Some(32),
        "{w:?}"
    );
    let denied = cli.run(Some(&analyst), &["worklist"]).await;
    assert_eq!(denied.code, 4, "{denied:?}");
    let rows = cli
        .run(Some(&broker), &["report", "export-matches"])
        .await
        .ok();
    assert!(rows.stdout.starts_with("match_id,"), "{rows:?}");

    // A note verbale in French becomes drafts, marked and then created.
    let note = cli.home.path().join("note.txt");
    std::fs::write(
        &note,
        "La Mission permanente de la République du Sénégal auprès de l'Organisation des Nations Unies présente ses compliments au Président du Comité 1540 et sollicite une assistance dans les domaines suivants :\n\
         1. Élaboration d'une loi sur le contrôle des exportations des biens à double usage, y compris une liste de contrôle nationale.\n\
         2. Formation des agents des douanes à la détection des matières nucléaires et radioactives au port de Dakar.\n",
    )
    .expect("note");
    let n = note.to_str().expect("utf-8").to_owned();
    let read = cli.run(Some(&broker), &["need", "suggest", &n]).await.ok();
    assert!(
        read.stdout
            .contains("2 draft need(s); language fr; requesting State SEN"),
        "{read:?}"
    );
    assert!(read.stdout.contains("[["), "evidence is marked: {read:?}");
    let made = cli
        .run(Some(&broker), &["need", "suggest", &n, "--create", "--yes"])
        .await
        .ok();
    assert_eq!(made.stderr.matches("created ").count(), 2, "{made:?}");
}
