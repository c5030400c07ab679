//! The fatal-fsync path end to end: once a storage sync fails, the write in flight never
//! returns OK, later writes are refused, the server stops itself with an error, and
//! everything acknowledged before survives a restart.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tonic::Code;

use clearinghouse::{pb, server::RunOptions};
use clearinghouse_storage::SyncFault;

use crate::support::{TestServer, need};

#[derive(Debug, Default)]
struct Switch(AtomicBool);

impl SyncFault for Switch {
    fn before_sync(&self) -> io::Result<()> {
        if self.0.load(Ordering::SeqCst) {
            Err(io::Error::other("injected fsync failure"))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_failed_fsync_fails_the_write_stops_the_server_and_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fault = Arc::new(Switch::default());
    let server = TestServer::start_with(
        dir.path(),
        RunOptions {
            sync_fault: Some(fault.clone()),
            ..RunOptions::default()
        },
    )
    .await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let mut ken = server.clients(Some(&key)).await;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let n = ken
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(need(&format!("kept {i}"))),
                request_id: String::new(),
            })
            .await
            .expect("durable write");
        acknowledged.push(n.into_inner().need.expect("need"));
    }

    fault.0.store(true, Ordering::SeqCst);
    let failed = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("in flight")),
            request_id: String::new(),
        })
        .await
        .expect_err("never OK");
    assert_eq!(failed.code(), Code::Unavailable, "{failed:?}");
    // Later writes are refused (or the server is already gone), never accepted.
    if let Err(e) = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("after")),
            request_id: String::new(),
        })
        .await
    {
        assert!(
            matches!(
                e.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled
            ),
            "{e:?}"
        );
    } else {
        panic!("a write was acknowledged after a failed fsync");
    }
    let ended = server.stopped_by_itself().await;
    let err = ended.expect_err("the server exits with an error so the next start recovers");
    assert!(err.to_string().contains("durability"), "{err:#}");

    // Restart without the fault: every acknowledged write is there, unchanged.
    let server = TestServer::start_in(dir.path()).await;
    let mut ken = server.clients(Some(&key)).await;
    for n in &acknowledged {
        let got = ken
            .needs
            .get_need(pb::GetNeedRequest { id: n.id.clone() })
            .await
            .expect("survived")
            .into_inner()
            .need
            .expect("need");
        assert_eq!(&got, n);
    }
    server.stop().await;
}
