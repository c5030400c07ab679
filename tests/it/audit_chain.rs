//! The tamper-evident audit trail end to end: `clearinghouse admin verify-audit` (the real
//! binary) recomputes the chain from what `ListAuditEntries` returns; an entry edited in
//! the database while the service is down makes it fail at exactly that entry.

use std::{path::Path, process::Output, sync::Arc};

use clearinghouse::pb;
use clearinghouse_storage::{
    Engine,
    engine::sled::{SledEngine, SledOptions},
    keys,
    records::{self, AuditRecordV2},
    trees,
};

use crate::support::{self, TestServer, need};

async fn verify_audit(server: &TestServer, dir: &Path) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_clearinghouse"));
    cmd.args(["admin", "--server", &format!("http://{}", server.addr)])
        .arg("--api-key-file")
        .arg(dir.join(clearinghouse::app::seed::BOOTSTRAP_KEY_FILE))
        .arg("verify-audit")
        .env_remove("CLEARINGHOUSE_API_KEY")
        .env_remove("CLEARINGHOUSE_SERVER");
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("task")
        .expect("run clearinghouse")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Changes the action of audit entry `sequence` in the stored bytes, keeping its hashes.
fn edit_action_offline(dir: &Path, sequence: u64, action: &str) {
    let engine = SledEngine::open(
        dir,
        &SledOptions {
            cache_capacity_bytes: 16 * 1024 * 1024,
            sync_fault: None,
        },
    )
    .expect("open the engine");
    let engine: Arc<dyn Engine> = Arc::new(engine);
    engine
        .transact(&mut |tx| {
            let key = keys::seq_key(sequence);
            let bytes = tx.get(trees::AUDIT, &key)?.expect("the entry exists");
            let (_, mut rec): (u8, AuditRecordV2) = records::decode("audit", &bytes)?;
            rec.action = action.to_owned();
            tx.put(trees::AUDIT, &key, &records::encode(records::V2, &rec)?)
        })
        .expect("edit");
    engine.sync().expect("sync");
}

#[tokio::test]
async fn verify_audit_passes_on_a_clean_trail_and_fails_at_an_entry_edited_offline() {
    let (server, dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let n = ken
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(need(&format!("Need {i}"))),
                request_id: String::new(),
            })
            .await
            .expect("create")
            .into_inner()
            .need
            .expect("need");
        ids.push(n.id);
    }
    ken.needs
        .submit_need(pb::SubmitNeedRequest {
            id: ids[1].clone(),
            etag: String::new(),
        })
        .await
        .expect("submit");
    let ok = verify_audit(&server, dir.path()).await;
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let out = text(&ok.stdout);
    assert!(out.contains("the hash chain is intact"), "{out}");

    // The submission's entry: found through the API, edited in the database.
    let mut admin = server.admin().await;
    let victim = admin
        .admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            page_size: 10,
            resource_id: ids[1].clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries
        .into_iter()
        .find(|e| e.action == "need.submit")
        .expect("the submission is audited");
    assert_eq!(victim.hash.len(), 64);
    server.stop().await;
    edit_action_offline(dir.path(), victim.sequence, "need.withdraw");

    let server = TestServer::start_in(dir.path()).await;
    let bad = verify_audit(&server, dir.path()).await;
    assert!(!bad.status.success(), "a broken chain fails the command");
    // One error line on stderr names where the chain breaks and why.
    let err = text(&bad.stderr);
    assert!(
        err.contains(&format!(
            "verified {} audit entries; the chain breaks at entry {}",
            victim.sequence - 1,
            victim.sequence
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("audit entry {} has hash", victim.sequence)),
        "{err}"
    );
    server.stop().await;
}
