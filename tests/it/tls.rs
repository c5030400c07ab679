//! TLS end to end, with certificates generated here (`rcgen`): a TLS server refuses a
//! plain-text client and is refused by a client trusting another CA; under mutual TLS a
//! certificate from another CA (or none) is refused and one from the client CA works,
//! over the generated gRPC client and over the real `clearinghouse` binary; a certificate
//! naming a principal admits only that principal's key; half-configured TLS and
//! unreadable files stop the server at start with a message naming the problem.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use clearinghouse::{
    config::{ClientAuth, Config, Tls},
    pb,
    server::RunOptions,
};

use crate::support::Bearer;

const BIN: &str = env!("CARGO_BIN_EXE_clearinghouse");
const GUARD: Duration = Duration::from_secs(60);

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
struct Pair {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn issue(&self, params: CertificateParams) -> Pair {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    fn server(&self) -> Pair {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A client certificate, naming `principal` in a SAN URI when given.
    fn client(&self, principal: Option<&str>) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "ministry client");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if let Some(p) = principal {
            let uri = format!("urn:clearinghouse:principal:{p}");
            params.subject_alt_names = vec![SanType::URI(uri.try_into().expect("ia5 uri"))];
        }
        self.issue(params)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// How the server's TLS is set up in a test.
struct Setup {
    server_ca: Ca,
    client_ca: Option<(Ca, ClientAuth)>,
}

/// A server with TLS on `127.0.0.1:0`, its files in its own temp dir.
struct TlsServer {
    addr: SocketAddr,
    admin_key: String,
    ca_pem: String,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Where a client's trust and identity come from.
struct ClientSide<'a> {
    ca_pem: &'a str,
    identity: Option<&'a Pair>,
}

async fn tls_channel(addr: SocketAddr, side: &ClientSide<'_>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(side.ca_pem))
        .domain_name("localhost");
    if let Some(id) = side.identity {
        tls = tls.identity(Identity::from_pem(&id.cert, &id.key));
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)
        .map_err(|e| chain(&e))?
        .connect_timeout(GUARD)
        .connect()
        .await
        .map_err(|e| chain(&e))
}

/// Every message of an error chain, joined.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

async fn health(ch: Channel) -> Result<(), tonic::Status> {
    tonic_health::pb::health_client::HealthClient::new(ch)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|_| ())
}

/// Lists parties with `key`; returns how many came back.
async fn list_parties(ch: Channel, key: &str) -> Result<usize, tonic::Status> {
    pb::party_service_client::PartyServiceClient::with_interceptor(ch, Bearer(Some(key.to_owned())))
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .map(|r| r.into_inner().parties.len())
}

fn tls_config(dir: &Path, setup: &Setup) -> Tls {
    let server = setup.server_ca.server();
    Tls {
        cert: Some(write(dir, "server.pem", &server.cert)),
        key: Some(write(dir, "server.key", &server.key)),
        client_ca: setup
            .client_ca
            .as_ref()
            .map(|(ca, _)| write(dir, "clients-ca.pem", &ca.pem())),
        client_auth: setup.client_ca.as_ref().map(|(_, a)| *a),
    }
}

impl TlsServer {
    /// Starts the server and waits until it answers a health check over TLS (with a
    /// certificate from the client CA when there is one).
    async fn start(setup: &Setup) -> TlsServer {
        Self::start_configured(setup, |_| {}).await
    }

    /// [`TlsServer::start`] with settings changed by `adjust`.
    async fn start_configured(setup: &Setup, adjust: impl FnOnce(&mut Config)) -> TlsServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config {
            listen: addr,
            data_dir: dir.path().join("data"),
            cache_capacity_mib: 16,
            tls: tls_config(dir.path(), setup),
            ..Config::default()
        };
        adjust(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(clearinghouse::server::run_with(
            config,
            listener,
            async {
                let _ = rx.await;
            },
            RunOptions::default(),
        ));
        let ca_pem = setup.server_ca.pem();
        let client = setup.client_ca.as_ref().map(|(ca, _)| ca.client(None));
        let ch = tls_channel(
            addr,
            &ClientSide {
                ca_pem: &ca_pem,
                identity: client.as_ref(),
            },
        )
        .await
        .expect("a trusting client connects");
        health(ch).await.expect("health over TLS");
        let admin_key = std::fs::read_to_string(dir.path().join("data/bootstrap-admin.key"))
            .expect("bootstrap key")
            .trim()
            .to_owned();
        TlsServer {
            addr,
            admin_key,
            ca_pem,
            _dir: dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server result");
        }
    }
}

#[tokio::test]
async fn a_plain_text_client_is_refused_by_a_tls_server() {
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: None,
    };
    let server = TlsServer::start(&setup).await;
    let plain = Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect_timeout(GUARD)
        .connect()
        .await;
    let refused = match plain {
        Err(_) => true,
        Ok(ch) => health(ch).await.is_err(),
    };
    assert!(refused, "a plain-text client is not served");
    // The same server serves a client that speaks TLS and trusts its CA.
    let ch = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &server.ca_pem,
            identity: None,
        },
    )
    .await
    .expect("TLS client");
    assert!(list_parties(ch, &server.admin_key).await.expect("list") > 0);
    server.stop().await;
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused() {
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: None,
    };
    let server = TlsServer::start(&setup).await;
    let stranger = Ca::new("someone else's CA");
    let err = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &stranger.pem(),
            identity: None,
        },
    )
    .await
    .expect_err("the server's certificate is not trusted");
    assert!(
        err.contains("certificate") || err.contains("UnknownIssuer"),
        "the error says why: {err}"
    );
    server.stop().await;
}

#[tokio::test]
async fn under_mutual_tls_only_a_certificate_from_the_client_ca_is_served() {
    let client_ca = Ca::new("clients CA");
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: Some((client_ca, ClientAuth::Required)),
    };
    let server = TlsServer::start(&setup).await;
    let stranger = Ca::new("someone else's CA").client(None);
    let (client_ca, _) = setup.client_ca.as_ref().expect("client CA");
    let good = client_ca.client(None);
    for (what, identity) in [
        ("a certificate from another CA", Some(&stranger)),
        ("no certificate", None),
    ] {
        let side = ClientSide {
            ca_pem: &server.ca_pem,
            identity,
        };
        // rustls clients finish their side of TLS 1.3 before the server has checked the
        // certificate: the refusal shows on the connection or on the first call.
        let refused = match tls_channel(server.addr, &side).await {
            Err(_) => true,
            Ok(ch) => list_parties(ch, &server.admin_key).await.is_err(),
        };
        assert!(refused, "{what} is refused");
    }
    let ch = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &server.ca_pem,
            identity: Some(&good),
        },
    )
    .await
    .expect("a certificate from the client CA connects");
    assert!(list_parties(ch, &server.admin_key).await.expect("served") > 0);
    server.stop().await;
}

#[tokio::test]
async fn with_optional_client_auth_a_client_without_a_certificate_is_served_on_its_key() {
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: Some((Ca::new("clients CA"), ClientAuth::Optional)),
    };
    let server = TlsServer::start(&setup).await;
    let ch = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &server.ca_pem,
            identity: None,
        },
    )
    .await
    .expect("no certificate is fine");
    assert!(list_parties(ch, &server.admin_key).await.expect("served") > 0);
    let stranger = Ca::new("someone else's CA").client(None);
    let side = ClientSide {
        ca_pem: &server.ca_pem,
        identity: Some(&stranger),
    };
    let refused = match tls_channel(server.addr, &side).await {
        Err(_) => true,
        Ok(ch) => list_parties(ch, &server.admin_key).await.is_err(),
    };
    assert!(
        refused,
        "a certificate that does not verify is still refused"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_naming_a_principal_admits_only_that_principals_key() {
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: Some((Ca::new("clients CA"), ClientAuth::Required)),
    };
    let server = TlsServer::start(&setup).await;
    let (client_ca, _) = setup.client_ca.as_ref().expect("client CA");
    let admin_cert = client_ca.client(None);
    let admin_ch = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &server.ca_pem,
            identity: Some(&admin_cert),
        },
    )
    .await
    .expect("connect");
    let created = pb::admin_service_client::AdminServiceClient::with_interceptor(
        admin_ch,
        Bearer(Some(server.admin_key.clone())),
    )
    .create_principal(pb::CreatePrincipalRequest {
        principal: Some(pb::Principal {
            display_name: "Mission of Ghana".to_owned(),
            role: pb::Role::Requester as i32,
            party_id: "state-GHA".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .expect("create principal")
    .into_inner();
    let id = created.principal.expect("principal").id;
    let bound = client_ca.client(Some(&id));
    let ch = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &server.ca_pem,
            identity: Some(&bound),
        },
    )
    .await
    .expect("connect");
    assert!(
        list_parties(ch.clone(), &created.api_key)
            .await
            .expect("the named principal's key is served")
            > 0
    );
    let refused = list_parties(ch, &server.admin_key)
        .await
        .expect_err("another principal's key is refused on this certificate");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("client certificate"),
        "{}",
        refused.message()
    );
    server.stop().await;
}

/// Reads `socket` until the server closes it (end of stream or reset).
async fn closed_by_server(mut socket: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    tokio::time::timeout(GUARD, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the socket");
}

#[tokio::test]
async fn the_tls_handshake_counts_against_the_handshake_timeout() {
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: None,
    };
    let server = TlsServer::start_configured(&setup, |c| {
        c.connections.handshake_timeout_ms = 300;
    })
    .await;
    // Silent after connecting; then the first bytes of a TLS record and no more.
    let silent = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    closed_by_server(silent).await;
    let mut partial = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut partial, &[0x16, 0x03, 0x01, 0x02])
        .await
        .expect("write");
    closed_by_server(partial).await;
    // A real client is served all along.
    let ch = tls_channel(
        server.addr,
        &ClientSide {
            ca_pem: &server.ca_pem,
            identity: None,
        },
    )
    .await
    .expect("connect");
    assert!(list_parties(ch, &server.admin_key).await.expect("served") > 0);
    server.stop().await;
}

/// Runs the client binary with `args` and `envs`, off the runtime.
async fn run_cli(args: Vec<String>, envs: Vec<(&'static str, PathBuf)>) -> (i32, String, String) {
    let mut c = Command::new(BIN);
    c.args(&args)
        .env("NO_COLOR", "1")
        .env_remove("CLEARINGHOUSE_SERVER")
        .env_remove("CLEARINGHOUSE_API_KEY")
        .env_remove("CLEARINGHOUSE_API_KEY_FILE")
        .env_remove("CLEARINGHOUSE_PROFILE")
        .env_remove("CLEARINGHOUSE_OUTPUT")
        .env_remove("CLEARINGHOUSE_CLIENT_CONFIG")
        .env_remove("CLEARINGHOUSE_CA_CERT")
        .env_remove("CLEARINGHOUSE_CLIENT_CERT")
        .env_remove("CLEARINGHOUSE_CLIENT_KEY")
        .stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
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

#[tokio::test]
async fn the_client_binary_speaks_mutual_tls_from_flags_and_from_a_profile() {
    let client_ca = Ca::new("clients CA");
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: Some((client_ca, ClientAuth::Required)),
    };
    let server = TlsServer::start(&setup).await;
    let (client_ca, _) = setup.client_ca.as_ref().expect("client CA");
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let me = client_ca.client(None);
    let ca = write(h, "ca.pem", &server.ca_pem);
    let cert = write(h, "me.pem", &me.cert);
    let key = write(h, "me.key", &me.key);
    let api_key = write(h, "admin.key", &format!("{}\n", server.admin_key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&api_key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let url = format!("https://{}", server.addr);
    let s = |p: &Path| p.display().to_string();
    let envs = || {
        vec![
            ("XDG_CONFIG_HOME", h.to_owned()),
            ("CLEARINGHOUSE_API_KEY_FILE", api_key.clone()),
        ]
    };
    let flags = |with_cert: bool| {
        let mut a = vec![
            "party".to_owned(),
            "list".to_owned(),
            "-o".to_owned(),
            "json".to_owned(),
            "--server".to_owned(),
            url.clone(),
            "--ca-cert".to_owned(),
            s(&ca),
        ];
        if with_cert {
            a.extend(["--client-cert".to_owned(), s(&cert)]);
            a.extend(["--client-key".to_owned(), s(&key)]);
        }
        a
    };

    let (code, stdout, stderr) = run_cli(flags(true), envs()).await;
    assert_eq!(code, 0, "served with flags: {stderr}");
    assert!(stdout.contains("\"state-AFG\""), "{stdout}");

    let (code, _, stderr) = run_cli(flags(false), envs()).await;
    // Whether the client reads the server's alert or finds the connection closed first
    // is a matter of timing; either way it is the "unavailable" exit code.
    assert_eq!(code, 6, "refused without a client certificate: {stderr}");
    assert!(stderr.starts_with("error: "), "one error line: {stderr}");

    // The same from a profile, with paths relative to the config file.
    let dir = h.join("clearinghouse");
    std::fs::create_dir_all(&dir).expect("config dir");
    for (from, name) in [(&ca, "ca.pem"), (&cert, "me.pem"), (&key, "me.key")] {
        std::fs::copy(from, dir.join(name)).expect("copy");
    }
    std::fs::write(
        dir.join("client.toml"),
        format!(
            "default_profile = \"secure\"\n[profiles.secure]\nserver = \"{url}\"\nca_cert = \"ca.pem\"\nclient_cert = \"me.pem\"\nclient_key = \"me.key\"\noutput = \"json\"\n"
        ),
    )
    .expect("client.toml");
    let (code, stdout, stderr) = run_cli(vec!["party".into(), "list".into()], envs()).await;
    assert_eq!(code, 0, "served from the profile: {stderr}");
    assert!(stdout.contains("\"state-AFG\""), "{stdout}");
    server.stop().await;
}

/// Runs `clearinghouse serve` with `config` (TOML) and returns its exit code and stderr.
async fn serve_once(dir: &Path, config: &str) -> (i32, String) {
    let cfg = write(dir, "config.toml", config);
    let mut c = Command::new(BIN);
    c.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("CLEARINGHOUSE_TLS_CERT")
        .env_remove("CLEARINGHOUSE_TLS_KEY")
        .env_remove("CLEARINGHOUSE_TLS_CLIENT_CA")
        .env_remove("CLEARINGHOUSE_TLS_CLIENT_AUTH")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let out = tokio::time::timeout(
        GUARD,
        tokio::task::spawn_blocking(move || c.output().expect("run the server")),
    )
    .await
    .expect("the server stops by itself within the guard time")
    .expect("join");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn half_configured_tls_stops_the_server_at_start_naming_the_missing_half() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pair = Ca::new("server CA").server();
    let cert = write(dir.path(), "server.pem", &pair.cert);
    let key = write(dir.path(), "server.key", &pair.key);
    let cases = [
        (
            format!("[tls]\ncert = \"{}\"\n", cert.display()),
            "tls.cert is set without tls.key",
        ),
        (
            format!("[tls]\nkey = \"{}\"\n", key.display()),
            "tls.key is set without tls.cert",
        ),
        (
            format!("[tls]\nclient_ca = \"{}\"\n", cert.display()),
            "tls.client_ca is set without tls.cert",
        ),
    ];
    for (config, expected) in cases {
        let (code, stderr) = serve_once(dir.path(), &config).await;
        assert_ne!(code, 0, "{config}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(
            !dir.path().join("data").exists(),
            "nothing is created before the refusal"
        );
    }
}

#[tokio::test]
async fn unreadable_or_unparseable_tls_files_stop_the_server_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pair = Ca::new("server CA").server();
    let cert = write(dir.path(), "server.pem", &pair.cert);
    let key = write(dir.path(), "server.key", &pair.key);
    let missing = dir.path().join("missing.key");
    let garbage = write(dir.path(), "garbage.pem", "this is no PEM file\n");
    let broken = write(dir.path(), "broken.pem", &pair.cert[..pair.cert.len() / 2]);
    let cases = [
        (&cert, &missing, &missing, "cannot read the TLS key"),
        (&garbage, &key, &garbage, "holds no PEM certificate"),
        (&broken, &key, &broken, "is not valid PEM"),
        (&cert, &garbage, &garbage, "holds no PEM private key"),
    ];
    for (c, k, named, expected) in cases {
        let config = format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            c.display(),
            k.display()
        );
        let (code, stderr) = serve_once(dir.path(), &config).await;
        assert_ne!(code, 0, "{config}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(
            stderr.contains(&named.display().to_string()),
            "names {}: {stderr}",
            named.display()
        );
    }
}

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts and at once stops a server on `listener` with `tls`, returning the lines
/// logged on this thread while it started (the warning is logged before anything is
/// spawned).
async fn startup_lines(listener: TcpListener, tls: Tls) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let config = Config {
        listen: listener.local_addr().expect("addr"),
        data_dir: dir.path().join("data"),
        cache_capacity_mib: 16,
        tls,
        ..Config::default()
    };
    clearinghouse::server::run_with(config, listener, async {}, RunOptions::default())
        .await
        .expect("starts and stops");
    let text = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("utf-8");
    text.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn listening_beyond_loopback_without_tls_logs_one_warning() {
    let warned = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("WARN") && l.contains("without TLS"))
            .count()
    };
    let open = TcpListener::bind("0.0.0.0:0").await.expect("bind");
    let lines = startup_lines(open, Tls::default()).await;
    assert_eq!(warned(&lines), 1, "{lines:#?}");

    let loopback = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    assert_eq!(warned(&startup_lines(loopback, Tls::default()).await), 0);

    let dir = tempfile::tempdir().expect("tempdir");
    let setup = Setup {
        server_ca: Ca::new("server CA"),
        client_ca: None,
    };
    let with_tls = TcpListener::bind("0.0.0.0:0").await.expect("bind");
    let lines = startup_lines(with_tls, tls_config(dir.path(), &setup)).await;
    assert_eq!(warned(&lines), 0, "{lines:#?}");
}
