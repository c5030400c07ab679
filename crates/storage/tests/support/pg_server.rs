//! A real PostgreSQL server for the storage tests: `initdb` into a temporary directory,
//! then `pg_ctl start` listening on a unix socket in that directory (and on 127.0.0.1
//! when asked), with `fsync` and `synchronous_commit` on. One shared server per test
//! binary ([`PgServer::shared`]); tests that stop or reconfigure a server start their
//! own. Binaries are found through `PG_BINDIR`, `pg_config --bindir`,
//! `/usr/lib/postgresql/*/bin` or `PATH`. As root, the server runs as the `postgres`
//! user (`initdb` refuses root).
//!
//! Cleanup does not depend on destructors: a sentinel shell holds a pipe from the test
//! process and, when the pipe closes (the process exited, however it ended), stops the
//! server and removes the directory.
#![allow(dead_code)]

use std::{
    env, fs,
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Mutex, OnceLock},
};

/// The user the server runs as when the tests run as root.
#[derive(Debug, Clone)]
struct Owner {
    name: String,
    uid: u32,
    gid: u32,
}

/// One PostgreSQL server in a temporary directory.
#[derive(Debug)]
pub struct PgServer {
    root: PathBuf,
    bindir: PathBuf,
    owner: Option<Owner>,
    /// TCP port on 127.0.0.1 (0: unix socket only).
    tcp_port: u16,
    settings: Vec<(String, String)>,
    sentinel: Mutex<Option<(Child, ChildStdin)>>,
}

const MISSING: &str = "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's \
     `postgresql` package (apt-get install -y postgresql) or set PG_BINDIR";

fn has_initdb(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn find_bindir() -> PathBuf {
    if let Some(d) = env::var_os("PG_BINDIR").map(PathBuf::from) {
        assert!(
            has_initdb(&d),
            "PG_BINDIR={} has no initdb/pg_ctl",
            d.display()
        );
        return d;
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&d) {
            return d;
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_initdb(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has_initdb(d))
        .unwrap_or_else(|| panic!("{MISSING}"))
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn owner() -> Option<Owner> {
    if id(&["-u"]) != Some(0) {
        return None;
    }
    let name = "postgres".to_owned();
    let (Some(uid), Some(gid)) = (id(&["-u", &name]), id(&["-g", &name])) else {
        panic!(
            "the tests run as root and initdb refuses root, but there is no `postgres` user to \
             run the server as (Debian's postgresql package creates it)"
        );
    };
    Some(Owner { name, uid, gid })
}

fn runuser() -> PathBuf {
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("runuser"))
}

/// A free TCP port on 127.0.0.1 (the listener is closed before the server binds it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Percent-encodes a socket directory for the host part of a URL.
fn url_host(path: &Path) -> String {
    path.to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl PgServer {
    /// The server every test of this binary shares, started on first use.
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            let s = PgServer::init();
            s.start();
            s
        })
    }

    /// A new cluster (`initdb`), not started yet.
    pub fn init() -> PgServer {
        let bindir = find_bindir();
        let owner = owner();
        let root = tempfile::Builder::new()
            .prefix("chpg")
            .tempdir()
            .expect("tempdir")
            .keep();
        let server = PgServer {
            root,
            bindir,
            owner,
            tcp_port: 0,
            settings: vec![
                ("fsync".into(), "on".into()),
                ("synchronous_commit".into(), "on".into()),
                ("max_connections".into(), "200".into()),
                ("shared_buffers".into(), "32MB".into()),
            ],
            sentinel: Mutex::new(None),
        };
        fs::create_dir(server.socket_dir()).expect("socket dir");
        server.give(&server.root);
        server.give(&server.socket_dir());
        server.watch();
        server.run(
            "initdb",
            &[
                "-D",
                &server.data_dir().to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        );
        server
    }

    /// Adds `name = value` to the server's settings (effective at the next start).
    pub fn set(&mut self, name: &str, value: &str) {
        self.settings.push((name.into(), value.into()));
    }

    /// Also listen on 127.0.0.1 (from the next start); returns the port.
    pub fn listen_tcp(&mut self) -> u16 {
        if self.tcp_port == 0 {
            self.tcp_port = free_port();
        }
        self.tcp_port
    }

    /// The temporary directory (owned by the server's user).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The port: of the TCP listener, and in the unix socket's name.
    fn port(&self) -> u16 {
        if self.tcp_port == 0 {
            5432
        } else {
            self.tcp_port
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.root.join("s")
    }

    /// Makes `path` the server user's (as root), so the server can read it.
    pub fn give(&self, path: &Path) {
        if let Some(o) = &self.owner {
            std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid)).expect("chown");
        }
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        match &self.owner {
            Some(o) => {
                let mut c = Command::new(runuser());
                c.args(["-u", &o.name, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            fs::read_to_string(self.root.join("log")).unwrap_or_default()
        );
    }

    /// Starts the sentinel that stops the server and removes its directory once this
    /// process's end of the pipe closes.
    fn watch(&self) {
        let mut stop: Vec<String> = Vec::new();
        if let Some(o) = &self.owner {
            stop.extend([
                runuser().to_string_lossy().into_owned(),
                "-u".into(),
                o.name.clone(),
                "--".into(),
            ]);
        }
        stop.extend([
            self.bindir.join("pg_ctl").to_string_lossy().into_owned(),
            "-D".into(),
            self.data_dir().to_string_lossy().into_owned(),
            "-m".into(),
            "immediate".into(),
            "-w".into(),
            "stop".into(),
        ]);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(
                "trap '' INT TERM HUP; cat >/dev/null; root=$1; shift; \
                 \"$@\" >/dev/null 2>&1; rm -rf \"$root\"",
            )
            .arg("pg-sentinel")
            .arg(&self.root)
            .args(&stop)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cleanup sentinel");
        let stdin = child.stdin.take().expect("sentinel stdin");
        *self.sentinel.lock().expect("sentinel") = Some((child, stdin));
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let mut opts = vec![
            format!("-k {}", self.socket_dir().display()),
            format!("-p {}", self.port()),
        ];
        if self.tcp_port == 0 {
            opts.push("-c listen_addresses=''".into());
        } else {
            opts.push("-c listen_addresses=127.0.0.1".into());
        }
        for (k, v) in &self.settings {
            opts.push(format!("-c {k}={v}"));
        }
        let log = self.root.join("log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir().to_string_lossy(),
                "-l",
                &log,
                "-w",
                "-t",
                "120",
                "-o",
                &opts.join(" "),
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: connections are closed) and waits for it.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir().to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// URL of database `db` over the unix socket, without TLS.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@{}:{}/{db}?sslmode=disable",
            url_host(&self.socket_dir()),
            self.port()
        )
    }

    /// URL of database `db` over TCP on 127.0.0.1 with `sslmode`.
    pub fn tcp_url(&self, db: &str, sslmode: &str) -> String {
        assert!(self.tcp_port != 0, "call listen_tcp before start");
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode={sslmode}",
            self.tcp_port
        )
    }
}

impl Drop for PgServer {
    /// Closes the sentinel's pipe and waits for it to stop the server and remove the
    /// directory (the shared server is never dropped: its pipe closes at exit).
    fn drop(&mut self) {
        let taken = self.sentinel.lock().map(|mut s| s.take());
        if let Ok(Some((mut child, mut stdin))) = taken {
            let _ = stdin.flush();
            drop(stdin);
            let _ = child.wait();
        }
    }
}
