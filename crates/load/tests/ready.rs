//! The `ready` workload against the real server started in this test process: it
//! reports the first SERVING answer, and on a fresh store (no circulated need) asks for
//! no candidates.

use std::time::Duration;

use clearinghouse_load::{ready, self_server::SelfServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_reports_the_first_serving_answer_of_a_running_server() {
    let server = SelfServer::start().await.expect("server");
    let r = ready::run(&server.url, &server.admin_key, Duration::from_secs(30))
        .await
        .expect("serving");
    assert!(r.attempts >= 1);
    assert!(r.serving_after_ms >= 0.0);
    assert_eq!(r.need_id, None, "a fresh store has no circulated need");
    assert_eq!(r.candidates, 0);
    server.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_gives_up_on_a_server_that_never_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = ready::run(&url, "unused", Duration::from_millis(200))
        .await
        .expect_err("nothing serves there");
    assert!(err.to_string().contains("not SERVING"), "{err}");
}
