//! What the PostgreSQL engine promises beyond the conformance suite, against real
//! servers: scans over byte ranges (0xFF edges, limits, the transaction's own writes),
//! isolation of uncommitted writes, re-running a body after a serialization failure,
//! schema versions, durability settings, losing and regaining the database, dropping the
//! engine on an async worker, TLS, and a dedicated connection for LISTEN.

mod support;

use std::{
    collections::BTreeMap,
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
    process::Command,
    sync::{Arc, mpsc},
    time::Duration,
};

use postgres::fallible_iterator::FallibleIterator;
use proptest::{prelude::*, test_runner::TestRunner};

use clearinghouse_domain::Need;
use clearinghouse_storage::{
    Engine, Error, PostgresEngine, PostgresOptions, Store,
    engine::{Entry, TxOps},
};
use support::{fixtures::*, fresh_pg_options, meta, pg_server::PgServer};

const TREE: &str = "test/bytes";

fn open(opts: &PostgresOptions) -> PostgresEngine {
    PostgresEngine::open(opts).expect("open")
}

/// Runs `f` in a transaction and rolls it back, returning what `f` returned.
fn in_rolled_back_tx<T>(engine: &PostgresEngine, f: impl Fn(&mut dyn TxOps) -> T) -> T {
    let mut out = None;
    let r = engine.transact(&mut |tx: &mut dyn TxOps| {
        out = Some(f(tx));
        Err(Error::Rejected)
    });
    assert!(matches!(r, Err(Error::Rejected)), "{r:?}");
    out.expect("body ran")
}

fn window(
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    prefix: &[u8],
    from: &[u8],
    limit: usize,
) -> Vec<Entry> {
    model
        .iter()
        .filter(|(k, _)| k.starts_with(prefix) && k.as_slice() >= from)
        .take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn byte_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0xFE), Just(0xFF)],
        0..4,
    )
}

#[derive(Debug, Clone)]
struct Query {
    prefix: Vec<u8>,
    from: Vec<u8>,
    limit: usize,
}

fn query() -> impl Strategy<Value = Query> {
    (
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(0xFE), Just(0xFF)],
            0..3,
        ),
        byte_key(),
        0usize..6,
    )
        .prop_map(|(prefix, from, limit)| Query {
            prefix,
            from,
            limit,
        })
}

/// Committed keys, then a transaction's own puts and removes over them: every prefix
/// scan (keys around 0x00 and 0xFF, any start, any limit) and every point read agree with
/// an ordered map, inside the transaction (committed state plus its own writes) and
/// outside it (committed state only).
#[test]
fn scans_agree_with_an_ordered_map_inside_and_outside_transactions() {
    let engine = open(&fresh_pg_options());
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 40,
        ..ProptestConfig::default()
    });
    let strategy = (
        proptest::collection::btree_map(byte_key(), any::<u8>(), 0..12),
        proptest::collection::vec((byte_key(), proptest::option::of(any::<u8>())), 0..10),
        proptest::collection::vec(query(), 1..8),
    );
    runner
        .run(&strategy, |(committed, own, queries)| {
            let committed: BTreeMap<Vec<u8>, Vec<u8>> =
                committed.into_iter().map(|(k, v)| (k, vec![v])).collect();
            engine
                .transact(&mut |tx: &mut dyn TxOps| {
                    for (k, _) in tx.scan(TREE, &[], &[], usize::MAX)? {
                        tx.remove(TREE, &k)?;
                    }
                    for (k, v) in &committed {
                        tx.put(TREE, k, v)?;
                    }
                    Ok(())
                })
                .expect("reset");
            let mut mine = committed.clone();
            for (k, v) in &own {
                match v {
                    Some(v) => mine.insert(k.clone(), vec![*v]),
                    None => mine.remove(k),
                };
            }
            let (inside, points) = in_rolled_back_tx(&engine, |tx| {
                for (k, v) in &own {
                    match v {
                        Some(v) => tx.put(TREE, k, &[*v]).expect("put"),
                        None => tx.remove(TREE, k).expect("remove"),
                    }
                }
                let scans: Vec<Vec<Entry>> = queries
                    .iter()
                    .map(|q| tx.scan(TREE, &q.prefix, &q.from, q.limit).expect("scan"))
                    .collect();
                let points: Vec<Option<Vec<u8>>> = queries
                    .iter()
                    .map(|q| tx.get(TREE, &q.from).expect("get"))
                    .collect();
                (scans, points)
            });
            for (q, got) in queries.iter().zip(&inside) {
                prop_assert_eq!(
                    got,
                    &window(&mine, &q.prefix, &q.from, q.limit),
                    "inside {:?}",
                    q
                );
            }
            for (q, got) in queries.iter().zip(&points) {
                prop_assert_eq!(got, &mine.get(&q.from).cloned(), "get {:?}", q);
            }
            for q in &queries {
                let got = engine
                    .scan(TREE, &q.prefix, &q.from, q.limit)
                    .expect("scan");
                prop_assert_eq!(
                    got,
                    window(&committed, &q.prefix, &q.from, q.limit),
                    "outside {:?}",
                    q
                );
                prop_assert_eq!(
                    engine.get(TREE, &q.from).expect("get"),
                    committed.get(&q.from).cloned()
                );
            }
            Ok(())
        })
        .expect("scans");
}

#[test]
fn reads_outside_a_transaction_never_see_its_uncommitted_writes() {
    let engine = Arc::new(open(&fresh_pg_options()));
    let (ready_tx, ready_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let writer = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            engine.transact(&mut |tx: &mut dyn TxOps| {
                tx.put(TREE, b"k", b"v")?;
                ready_tx.send(()).expect("ready");
                go_rx.recv().expect("go");
                Ok(())
            })
        })
    };
    ready_rx.recv().expect("writer inside its transaction");
    assert_eq!(engine.get(TREE, b"k").expect("get"), None);
    assert!(engine.scan(TREE, b"", b"", 10).expect("scan").is_empty());
    go_tx.send(()).expect("go");
    writer.join().expect("writer").expect("commit");
    assert_eq!(engine.get(TREE, b"k").expect("get"), Some(b"v".to_vec()));
}

fn read_counter(tx: &mut dyn TxOps) -> Result<u8, Error> {
    Ok(tx.get(TREE, b"n")?.map_or(0, |v| v[0]))
}

/// Two transactions read the same counter; the first commits its increment, the second
/// then fails to serialize at its write and runs again on a fresh snapshot, so both
/// increments count.
#[test]
fn a_serialization_failure_runs_the_body_again_on_a_fresh_snapshot() {
    let engine = Arc::new(open(&fresh_pg_options()));
    let (read_tx, read_rx) = mpsc::channel();
    let (committed_tx, committed_rx) = mpsc::channel::<()>();
    let second = {
        let engine = Arc::clone(&engine);
        std::thread::spawn(move || {
            let mut runs = 0;
            engine
                .transact(&mut |tx: &mut dyn TxOps| {
                    runs += 1;
                    let n = read_counter(tx)?;
                    if runs == 1 {
                        read_tx.send(()).expect("read");
                        committed_rx.recv().expect("first committed");
                    }
                    tx.put(TREE, b"n", &[n + 1])
                })
                .expect("second commits");
            runs
        })
    };
    read_rx.recv().expect("second has read");
    engine
        .transact(&mut |tx: &mut dyn TxOps| {
            let n = read_counter(tx)?;
            tx.put(TREE, b"n", &[n + 1])
        })
        .expect("first commits");
    committed_tx.send(()).expect("signal");
    let runs = second.join().expect("second");
    assert_eq!(runs, 2, "the second body ran again");
    assert!(engine.conflicts() >= 1);
    assert_eq!(engine.get(TREE, b"n").expect("get"), Some(vec![2]));
}

/// Eight threads increment one counter: every increment counts, and transactions that
/// kept losing the race finished under the writer lock.
#[test]
fn after_repeated_conflicts_a_transaction_takes_the_writer_lock_and_finishes() {
    let engine = Arc::new(open(&PostgresOptions {
        optimistic_attempts: 1,
        ..fresh_pg_options()
    }));
    let (threads, per) = (8u8, 10u8);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let engine = Arc::clone(&engine);
            std::thread::spawn(move || {
                for _ in 0..per {
                    engine
                        .transact(&mut |tx: &mut dyn TxOps| {
                            let n = read_counter(tx)?;
                            tx.put(TREE, b"n", &[n + 1])
                        })
                        .expect("increment");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(
        engine.get(TREE, b"n").expect("get"),
        Some(vec![threads * per])
    );
    assert!(engine.conflicts() > 0, "the increments really raced");
    assert!(
        engine.exclusive_attempts() > 0,
        "losers took the writer lock"
    );
}

#[test]
fn a_panicking_body_does_not_return_its_open_transaction_to_the_pool() {
    let opts = PostgresOptions {
        max_connections: 1,
        min_idle_connections: 1,
        ..fresh_pg_options()
    };
    let engine = open(&opts);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        engine.transact(&mut |tx: &mut dyn TxOps| {
            tx.get(TREE, b"k")?; // takes the transaction's snapshot
            panic!("body fails");
        })
    }));
    assert!(panicked.is_err());
    // Written after that snapshot was taken: a later transaction must see it.
    let mut client = engine.dedicated_client().expect("client");
    client
        .execute(
            &format!("INSERT INTO \"{}\".kv VALUES ($1, $2, $3)", opts.schema),
            &[&TREE, &b"k".as_slice(), &b"v".as_slice()],
        )
        .expect("insert");
    let seen = in_rolled_back_tx(&engine, |tx| tx.get(TREE, b"k").expect("get"));
    assert_eq!(seen, Some(b"v".to_vec()));
}

#[test]
fn a_schema_newer_than_the_build_is_refused() {
    let opts = fresh_pg_options();
    let engine = open(&opts);
    let mut client = engine.dedicated_client().expect("client");
    drop(engine);
    client
        .execute(
            &format!(
                "INSERT INTO \"{}\".schema_version (version) VALUES ($1)",
                opts.schema
            ),
            &[&(clearinghouse_storage::engine::postgres::ENGINE_SCHEMA_VERSION + 1)],
        )
        .expect("pretend a newer build migrated");
    let err = PostgresEngine::open(&opts).expect_err("refused");
    assert!(err.to_string().contains("newer than this build"), "{err}");
}

#[test]
fn reopening_applies_each_migration_once() {
    let opts = fresh_pg_options();
    drop(open(&opts));
    let engine = open(&opts);
    let mut client = engine.dedicated_client().expect("client");
    let versions: Vec<i32> = client
        .query(
            &format!(
                "SELECT version FROM \"{}\".schema_version ORDER BY version",
                opts.schema
            ),
            &[],
        )
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: Vec<i32> =
        (1..=clearinghouse_storage::engine::postgres::ENGINE_SCHEMA_VERSION).collect();
    assert_eq!(versions, want);
}

#[test]
fn synchronous_commit_is_on_even_where_the_database_turns_it_off() {
    let base = fresh_pg_options();
    let db = format!("sc_{}", base.schema);
    let admin = open(&base);
    let mut client = admin.dedicated_client().expect("client");
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .expect("create database");
    client
        .batch_execute(&format!("ALTER DATABASE {db} SET synchronous_commit = off"))
        .expect("synchronous_commit off by default");
    let opts = PostgresOptions {
        url: PgServer::shared().url(&db),
        ..base
    };
    let engine = open(&opts);
    assert!(engine.commits_are_durable());
    let mut c = engine.dedicated_client().expect("client");
    let setting: String = c
        .query_one("SHOW synchronous_commit", &[])
        .expect("show")
        .get(0);
    assert_eq!(setting, "on");
    // And a plain connection to that database does get the database's default.
    let mut plain = postgres::Client::connect(&PgServer::shared().url(&db), postgres::NoTls)
        .expect("plain client");
    let plain_setting: String = plain
        .query_one("SHOW synchronous_commit", &[])
        .expect("show")
        .get(0);
    assert_eq!(plain_setting, "off");
}

#[test]
fn a_server_without_fsync_is_refused() {
    let mut server = PgServer::init();
    server.set("fsync", "off");
    server.start();
    let err =
        PostgresEngine::open(&PostgresOptions::new(server.url("postgres"))).expect_err("refused");
    assert!(err.to_string().contains("fsync is off"), "{err}");
}

#[test]
fn check_writable_fails_while_the_database_is_down_and_recovers_when_it_returns() {
    let server = PgServer::init();
    server.start();
    let opts = PostgresOptions {
        probe_interval: Duration::ZERO,
        acquire_timeout: Duration::from_secs(2),
        ..PostgresOptions::new(server.url("postgres"))
    };
    let engine = Arc::new(open(&opts));
    let store = Store::with_engine(Arc::clone(&engine) as Arc<dyn Engine>).expect("store");
    let ken = state("KEN");
    store
        .create(need("N1", &ken, "before"), &meta("c"))
        .expect("create");
    assert!(store.is_writable());

    server.stop();
    assert!(!store.is_writable(), "the database is down");
    let err = store
        .create(need("N2", &ken, "during"), &meta("c"))
        .expect_err("no database");
    assert!(err.to_string().contains("unreachable"), "{err}");

    server.start();
    assert!(store.is_writable(), "back without a restart");
    store
        .create(need("N3", &ken, "after"), &meta("c"))
        .expect("create after the restart");
    assert!(store.get::<Need>("N1").expect("get").is_some());
    assert!(store.get::<Need>("N2").expect("get").is_none());
}

/// Every pooled connection dies with a server restart; the next statements and
/// transactions move on to new connections by themselves.
#[test]
fn after_a_server_restart_work_moves_to_new_connections() {
    let server = PgServer::init();
    server.start();
    // A pool of exactly three, all opened before the restart: a bigger pool can still be
    // opening connections for the workers below when the server comes back, and one of
    // those, alive, may be handed out first.
    let opts = PostgresOptions {
        probe_interval: Duration::from_secs(3600),
        max_connections: 3,
        min_idle_connections: 3,
        ..PostgresOptions::new(server.url("postgres"))
    };
    let engine = Arc::new(open(&opts));
    // Three transactions open at once leave three connections in the pool.
    let threads = 3;
    let (inside_tx, inside_rx) = mpsc::channel();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (go_tx, go_rx) = mpsc::channel::<()>();
            let (engine, inside_tx) = (Arc::clone(&engine), inside_tx.clone());
            let handle = std::thread::spawn(move || {
                engine.transact(&mut |tx: &mut dyn TxOps| {
                    tx.put(TREE, &[t], b"v")?;
                    inside_tx.send(()).expect("inside");
                    go_rx.recv().expect("go");
                    Ok(())
                })
            });
            (go_tx, handle)
        })
        .collect();
    for _ in 0..threads {
        inside_rx.recv().expect("all three inside at once");
    }
    for (go, _) in &workers {
        go.send(()).expect("go");
    }
    for (_, handle) in workers {
        handle.join().expect("worker").expect("commit");
    }

    server.stop();
    server.start();
    engine
        .transact(&mut |tx: &mut dyn TxOps| tx.put(TREE, b"after", b"v"))
        .expect("a transaction after the restart");
    assert_eq!(
        engine.get(TREE, b"after").expect("get"),
        Some(b"v".to_vec())
    );
    assert!(
        engine.reconnects() >= 1,
        "dead pooled connections were replaced"
    );
    assert_eq!(engine.scan(TREE, b"", b"", 10).expect("scan").len(), 4);
}

/// The server's health check runs on an async worker; asking the database from there
/// must neither panic nor fail.
#[test]
fn check_writable_can_be_asked_from_an_async_task() {
    let engine = Arc::new(open(&PostgresOptions {
        probe_interval: Duration::ZERO,
        ..fresh_pg_options()
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let task = {
        let engine = Arc::clone(&engine);
        runtime.spawn(async move { engine.check_writable() })
    };
    runtime.block_on(task).expect("no panic").expect("writable");
}

/// The last handle on the engine may go on an async worker (a server's task ending
/// after the database restarted). Closing a pooled connection runs the client's own
/// runtime, which panics there, so the engine must close its pool elsewhere.
#[test]
fn the_engine_can_be_dropped_on_an_async_worker_after_the_database_restarted() {
    let server = PgServer::init();
    server.start();
    let engine = open(&PostgresOptions {
        probe_interval: Duration::from_secs(3600),
        max_connections: 2,
        min_idle_connections: 2,
        ..PostgresOptions::new(server.url("postgres"))
    });
    engine
        .transact(&mut |tx: &mut dyn TxOps| tx.put(TREE, b"k", b"v"))
        .expect("commit");
    server.stop();
    server.start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let task = runtime.spawn(async move { drop(engine) });
    runtime
        .block_on(task)
        .expect("dropping the engine on a worker does not panic");
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A root certificate, and a certificate for 127.0.0.1 it signs (a self-signed CA
/// certificate cannot serve as the server's own: the verifier refuses a CA used as an
/// end entity).
fn make_certificates(dir: &Path) {
    let run = |cmd: &str| openssl(&cmd.split_whitespace().collect::<Vec<_>>(), dir);
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
    run(&format!(
        "req -x509 {ec} -subj /CN=root -keyout ca.key -out ca.crt"
    ));
    run(&format!(
        "req -new {ec} -subj /CN=127.0.0.1 -keyout server.key -out server.csr"
    ));
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("extensions");
    run(
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
         -extfile server.ext -out server.crt",
    );
}

/// A server with a certificate for 127.0.0.1: with `sslmode=require` and its root
/// trusted, the session is encrypted; with the system's roots the
/// certificate is refused; with `sslmode=disable` the session is plain.
#[test]
fn tls_is_used_and_verified_when_the_url_requires_it() {
    let mut server = PgServer::init();
    let dir = server.root().to_path_buf();
    make_certificates(&dir);
    for f in ["server.key", "server.crt"] {
        server.give(&dir.join(f));
    }
    server.set("ssl", "on");
    server.set("ssl_cert_file", &dir.join("server.crt").to_string_lossy());
    server.set("ssl_key_file", &dir.join("server.key").to_string_lossy());
    server.listen_tcp();
    server.start();

    let ssl_in_use = |opts: &PostgresOptions| -> bool {
        let engine = open(opts);
        let mut c = engine.dedicated_client().expect("client");
        c.query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("pg_stat_ssl")
        .get(0)
    };
    let trusted = PostgresOptions {
        tls_ca_file: Some(dir.join("ca.crt")),
        ..PostgresOptions::new(server.tcp_url("postgres", "require"))
    };
    assert!(ssl_in_use(&trusted));
    let plain = PostgresOptions::new(server.tcp_url("postgres", "disable"));
    assert!(!ssl_in_use(&plain));
    let untrusted = PostgresOptions::new(server.tcp_url("postgres", "require"));
    let err = PostgresEngine::open(&untrusted).expect_err("self-signed certificate refused");
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

/// The change feed of later replicas: a dedicated connection LISTENs and receives what
/// another session NOTIFYs on commit.
#[test]
fn a_dedicated_connection_receives_notifications() {
    let engine = open(&fresh_pg_options());
    let mut listener = engine.dedicated_client().expect("listener");
    listener.batch_execute("LISTEN audit_feed").expect("listen");
    let mut sender = engine.dedicated_client().expect("sender");
    sender
        .batch_execute("BEGIN; SELECT pg_notify('audit_feed', '42'); COMMIT")
        .expect("notify");
    let mut notes = listener.notifications();
    let got = notes
        .timeout_iter(Duration::from_secs(30))
        .next()
        .expect("notification")
        .expect("arrives within the timeout");
    assert_eq!((got.channel(), got.payload()), ("audit_feed", "42"));
}

#[test]
fn commits_are_durable_and_counted_and_size_on_disk_grows() {
    let engine = open(&fresh_pg_options());
    assert_eq!(engine.name(), "postgres");
    assert!(engine.commits_are_durable());
    assert!(engine.path().is_none());
    let before = engine.size_on_disk().expect("size");
    assert!(before > 0);
    // Incompressible values (PostgreSQL compresses repetitive ones).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x.to_le_bytes()
    };
    for i in 0u32..200 {
        let value: Vec<u8> = (0..512).flat_map(|_| noise()).collect();
        engine
            .transact(&mut |tx: &mut dyn TxOps| tx.put(TREE, &i.to_be_bytes(), &value))
            .expect("write");
    }
    engine.sync().expect("sync");
    assert_eq!(engine.stats().tickets, 200);
    assert!(engine.size_on_disk().expect("size") > before + 400_000);
}

/// The change feed: a transaction that appends to the audit trail notifies the engine's
/// feed channel when it commits; one that does not write the audit trail stays silent.
#[test]
fn commits_that_write_audit_entries_notify_the_feed_channel() {
    let engine = Arc::new(open(&fresh_pg_options()));
    let store = Store::with_engine(Arc::clone(&engine) as Arc<dyn Engine>).expect("store");
    let mut listener = engine.dedicated_client().expect("listener");
    listener
        .batch_execute(&format!("LISTEN \"{}\"", engine.feed_channel()))
        .expect("listen");
    engine
        .transact(&mut |tx: &mut dyn TxOps| tx.put(TREE, b"quiet", b"no audit"))
        .expect("a write outside the audit trail");
    let audited_before = store.audit_watermark().expect("watermark");
    let party = state("KEN");
    store
        .create(need("n1", &party, "Audited"), &meta("need.create"))
        .expect("create");
    assert!(store.audit_watermark().expect("watermark") > audited_before);
    // A round trip on the listener's session: the server delivers every notification
    // committed before it ahead of its answer.
    listener.batch_execute("SELECT 1").expect("round trip");
    let mut notes = listener.notifications();
    let mut got = Vec::new();
    let mut pending = notes.iter();
    while let Some(n) = pending.next().expect("no error") {
        got.push(n.channel().to_owned());
    }
    assert_eq!(
        got,
        vec![engine.feed_channel().to_owned()],
        "one notification for the audited commit, none for the other"
    );
}
