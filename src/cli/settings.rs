//! Where the client's settings come from, strongest first: flags, `CLEARINGHOUSE_*`
//! environment variables, then a named profile of the client config file
//! (`$XDG_CONFIG_HOME/clearinghouse/client.toml`, else `~/.config/clearinghouse/client.toml`,
//! or the file named by `CLEARINGHOUSE_CLIENT_CONFIG`).
//!
//! ```toml
//! default_profile = "broker"
//!
//! [profiles.broker]
//! server = "https://clearinghouse.example.org:50051"
//! api_key_file = "broker.key"   # relative to this file's directory
//! output = "table"
//! ca_cert = "ca.pem"            # trust this CA instead of the system's roots
//! client_cert = "broker.pem"    # mutual TLS: certificate and key, both or neither
//! client_key = "broker-key.pem"
//! ```
//!
//! The API key itself never comes from a flag (it would land in shell history): only
//! from a file or `CLEARINGHOUSE_API_KEY`. TLS files are PEM; they need an `https://`
//! server address.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::failure::CliError;

/// Help heading of the connection and output flags.
const CONNECTION: &str = "Connection and output";

/// Default server address.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Output format of a client subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A table for people, fitted to the terminal.
    Table,
    /// The proto3 JSON mapping of the response.
    Json,
    /// CSV with a header row (lists; one row for a single resource).
    Csv,
}

/// Connection and output flags shared by every client subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientArgs {
    /// Server address [default: http://127.0.0.1:50051].
    #[arg(
        long,
        global = true,
        env = "CLEARINGHOUSE_SERVER",
        value_name = "URL",
        help_heading = CONNECTION
    )]
    pub server: Option<String>,
    /// File holding the API key (e.g. <data-dir>/bootstrap-admin.key). Without it the key
    /// comes from CLEARINGHOUSE_API_KEY, CLEARINGHOUSE_API_KEY_FILE, or the profile.
    #[arg(long, global = true, value_name = "FILE", help_heading = CONNECTION)]
    pub api_key_file: Option<PathBuf>,
    /// Named profile of the client config file (server, key file, output).
    #[arg(
        long,
        global = true,
        env = "CLEARINGHOUSE_PROFILE",
        value_name = "NAME",
        help_heading = CONNECTION
    )]
    pub profile: Option<String>,
    /// Output format [default: table].
    #[arg(
        long,
        short = 'o',
        global = true,
        env = "CLEARINGHOUSE_OUTPUT",
        value_enum,
        value_name = "FORMAT",
        help_heading = CONNECTION
    )]
    pub output: Option<Format>,
    /// CA certificate(s) to trust for an https:// server, instead of the system's roots
    /// (PEM).
    #[arg(
        long,
        global = true,
        env = "CLEARINGHOUSE_CA_CERT",
        value_name = "FILE",
        help_heading = CONNECTION
    )]
    pub ca_cert: Option<PathBuf>,
    /// Client certificate for mutual TLS (PEM); needs --client-key.
    #[arg(
        long,
        global = true,
        env = "CLEARINGHOUSE_CLIENT_CERT",
        value_name = "FILE",
        help_heading = CONNECTION
    )]
    pub client_cert: Option<PathBuf>,
    /// Private key of the client certificate (PEM); needs --client-cert.
    #[arg(
        long,
        global = true,
        env = "CLEARINGHOUSE_CLIENT_KEY",
        value_name = "FILE",
        help_heading = CONNECTION
    )]
    pub client_key: Option<PathBuf>,
}

/// One profile of the client config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Server address.
    pub server: Option<String>,
    /// File holding the API key; relative paths are relative to the config file.
    pub api_key_file: Option<PathBuf>,
    /// Default output format.
    pub output: Option<Format>,
    /// CA certificate(s) to trust for TLS; relative to the config file.
    pub ca_cert: Option<PathBuf>,
    /// Client certificate for mutual TLS; relative to the config file.
    pub client_cert: Option<PathBuf>,
    /// Private key of the client certificate; relative to the config file.
    pub client_key: Option<PathBuf>,
}

/// The client config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// Profile used when none is named.
    pub default_profile: Option<String>,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
}

/// Settings after every source was consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Server address.
    pub server: String,
    /// Where the key comes from, if anywhere.
    pub key: Option<KeySource>,
    /// Output format.
    pub output: Format,
    /// TLS files, when the server is `https://`.
    pub tls: TlsFiles,
}

/// The client's TLS files (PEM).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate(s) to trust instead of the system's roots.
    pub ca_cert: Option<PathBuf>,
    /// Client certificate and its key, for mutual TLS.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// Whether any TLS file is set.
    pub fn any(&self) -> bool {
        self.ca_cert.is_some() || self.identity.is_some()
    }
}

/// Where the API key is read from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file.
    File(PathBuf),
    /// The `CLEARINGHOUSE_API_KEY` variable (the key itself, never printed).
    Env(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "File({})", p.display()),
            KeySource::Env(_) => f.write_str("Env(<redacted>)"),
        }
    }
}

impl KeySource {
    /// Reads the key (trimmed); a warning goes to stderr when a key file is readable by
    /// others.
    pub fn read(&self) -> Result<String, CliError> {
        let key = match self {
            KeySource::Env(k) => k.trim().to_owned(),
            KeySource::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    CliError::NoKey(format!("cannot read the key file {}: {e}", p.display()))
                })?;
                warn_if_shared(p);
                text.trim().to_owned()
            }
        };
        if key.is_empty() {
            return Err(CliError::NoKey(match self {
                KeySource::File(p) => format!("the key file {} is empty", p.display()),
                KeySource::Env(_) => "CLEARINGHOUSE_API_KEY is empty".to_owned(),
            }));
        }
        Ok(key)
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: the key file {} is readable by others; run: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// The client config file's path: `CLEARINGHOUSE_CLIENT_CONFIG`, else under
/// `XDG_CONFIG_HOME`, else under `~/.config`.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env("CLEARINGHOUSE_CLIENT_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| dirs::home_dir().map(|h| h.join(".config")))?;
    Some(base.join("clearinghouse").join("client.toml"))
}

/// Reads the config file; a missing file is an empty config.
pub fn load_config(path: &Path) -> Result<ConfigFile, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| CliError::usage(format!("{}: {}", path.display(), e.message()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(CliError::Io(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Resolves the settings from the flags, the environment (`env`) and the config file at
/// `path` (if any).
pub fn resolve(
    args: &ClientArgs,
    env: &dyn Fn(&str) -> Option<String>,
    path: Option<&Path>,
) -> Result<Settings, CliError> {
    let config = match path {
        Some(p) => load_config(p)?,
        None => ConfigFile::default(),
    };
    let profile_name = args.profile.clone().or(config.default_profile.clone());
    let profile = match &profile_name {
        None => Profile::default(),
        Some(name) => config.profiles.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
            CliError::usage(format!(
                "no profile '{name}' in {}{}",
                path.map_or("the client config".to_owned(), |p| p.display().to_string()),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (profiles: {})", known.join(", "))
                }
            ))
        })?,
    };
    let base = path.and_then(Path::parent).unwrap_or(Path::new("."));
    let from_profile = |p: &Option<PathBuf>| p.as_ref().map(|f| expand(f, base));
    let ca_cert = args
        .ca_cert
        .clone()
        .or_else(|| from_profile(&profile.ca_cert));
    let client_cert = args
        .client_cert
        .clone()
        .or_else(|| from_profile(&profile.client_cert));
    let client_key = args
        .client_key
        .clone()
        .or_else(|| from_profile(&profile.client_key));
    let identity = match (client_cert, client_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(CliError::usage(
                "a client certificate needs its key: add --client-key (or client_key in the profile)",
            ));
        }
        (None, Some(_)) => {
            return Err(CliError::usage(
                "a client key needs its certificate: add --client-cert (or client_cert in the profile)",
            ));
        }
    };
    let tls = TlsFiles { ca_cert, identity };
    let key = if let Some(f) = &args.api_key_file {
        Some(KeySource::File(f.clone()))
    } else if let Some(k) = env("CLEARINGHOUSE_API_KEY").filter(|k| !k.is_empty()) {
        Some(KeySource::Env(k))
    } else if let Some(f) = env("CLEARINGHOUSE_API_KEY_FILE").filter(|f| !f.is_empty()) {
        Some(KeySource::File(PathBuf::from(f)))
    } else {
        profile
            .api_key_file
            .as_ref()
            .map(|f| KeySource::File(expand(f, base)))
    };
    let server = args
        .server
        .clone()
        .or(profile.server)
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    if tls.any() && !server.starts_with("https://") {
        return Err(CliError::usage(format!(
            "TLS files are set but the server {server} is not https://; use an https:// address"
        )));
    }
    Ok(Settings {
        server,
        key,
        output: args.output.or(profile.output).unwrap_or(Format::Table),
        tls,
    })
}

/// `~/x` under the home directory; a relative path under `base`.
fn expand(p: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("client.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    const CONFIG: &str = r#"
default_profile = "local"

[profiles.local]
server = "http://127.0.0.1:6000"
api_key_file = "local.key"
output = "json"

[profiles.staging]
server = "http://10.0.0.5:50051"
"#;

    #[test]
    fn defaults_apply_without_flags_env_or_config() {
        let s = resolve(&ClientArgs::default(), &no_env, None).expect("settings");
        assert_eq!(s.server, DEFAULT_SERVER);
        assert_eq!(s.output, Format::Table);
        assert_eq!(s.key, None);
    }

    #[test]
    fn the_default_profile_applies_and_key_files_are_relative_to_the_config() {
        let (dir, path) = write_config(CONFIG);
        let s = resolve(&ClientArgs::default(), &no_env, Some(&path)).expect("settings");
        assert_eq!(s.server, "http://127.0.0.1:6000");
        assert_eq!(s.output, Format::Json);
        assert_eq!(s.key, Some(KeySource::File(dir.path().join("local.key"))));
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_profile() {
        let (_dir, path) = write_config(CONFIG);
        let env = |k: &str| (k == "CLEARINGHOUSE_API_KEY").then(|| "chk_env".to_owned());
        let s = resolve(&ClientArgs::default(), &env, Some(&path)).expect("settings");
        assert_eq!(s.key, Some(KeySource::Env("chk_env".into())));
        let args = ClientArgs {
            server: Some("http://flag:1".into()),
            api_key_file: Some(PathBuf::from("/flag.key")),
            output: Some(Format::Csv),
            profile: Some("staging".into()),
            ..Default::default()
        };
        let s = resolve(&args, &env, Some(&path)).expect("settings");
        assert_eq!(s.server, "http://flag:1");
        assert_eq!(s.output, Format::Csv);
        assert_eq!(s.key, Some(KeySource::File(PathBuf::from("/flag.key"))));
    }

    #[test]
    fn a_named_profile_replaces_the_default_one() {
        let (_dir, path) = write_config(CONFIG);
        let args = ClientArgs {
            profile: Some("staging".into()),
            ..Default::default()
        };
        let s = resolve(&args, &no_env, Some(&path)).expect("settings");
        assert_eq!(s.server, "http://10.0.0.5:50051");
        assert_eq!(s.output, Format::Table);
        assert_eq!(s.key, None);
    }

    #[test]
    fn an_unknown_profile_is_a_usage_error_naming_the_known_ones() {
        let (_dir, path) = write_config(CONFIG);
        let args = ClientArgs {
            profile: Some("prod".into()),
            ..Default::default()
        };
        let e = resolve(&args, &no_env, Some(&path)).expect_err("unknown");
        assert!(matches!(e, CliError::Usage(_)));
        assert!(e.to_string().contains("local, staging"), "{e}");
    }

    #[test]
    fn tls_files_come_from_the_profile_relative_to_it_and_flags_win() {
        let (dir, path) = write_config(
            "default_profile = \"p\"\n[profiles.p]\nserver = \"https://ch.example:50051\"\nca_cert = \"ca.pem\"\nclient_cert = \"me.pem\"\nclient_key = \"/keys/me.key\"\n",
        );
        let s = resolve(&ClientArgs::default(), &no_env, Some(&path)).expect("settings");
        assert_eq!(s.tls.ca_cert, Some(dir.path().join("ca.pem")));
        assert_eq!(
            s.tls.identity,
            Some((dir.path().join("me.pem"), PathBuf::from("/keys/me.key")))
        );
        let args = ClientArgs {
            ca_cert: Some(PathBuf::from("/flag/ca.pem")),
            ..Default::default()
        };
        let s = resolve(&args, &no_env, Some(&path)).expect("settings");
        assert_eq!(s.tls.ca_cert, Some(PathBuf::from("/flag/ca.pem")));
    }

    #[test]
    fn a_client_certificate_without_its_key_or_tls_files_for_plain_http_are_usage_errors() {
        let args = ClientArgs {
            server: Some("https://ch.example:50051".into()),
            client_cert: Some(PathBuf::from("me.pem")),
            ..Default::default()
        };
        let e = resolve(&args, &no_env, None).expect_err("no key");
        assert!(matches!(e, CliError::Usage(_)));
        assert!(e.to_string().contains("--client-key"), "{e}");
        let args = ClientArgs {
            server: Some("https://ch.example:50051".into()),
            client_key: Some(PathBuf::from("me.key")),
            ..Default::default()
        };
        let e = resolve(&args, &no_env, None).expect_err("no cert");
        assert!(e.to_string().contains("--client-cert"), "{e}");
        let args = ClientArgs {
            ca_cert: Some(PathBuf::from("ca.pem")),
            ..Default::default()
        };
        let e = resolve(&args, &no_env, None).expect_err("http");
        assert!(matches!(e, CliError::Usage(_)));
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn the_config_path_follows_xdg_then_home() {
        let env = |k: &str| (k == "XDG_CONFIG_HOME").then(|| "/cfg".to_owned());
        assert_eq!(
            config_path(&env),
            Some(PathBuf::from("/cfg/clearinghouse/client.toml"))
        );
        let env = |k: &str| (k == "CLEARINGHOUSE_CLIENT_CONFIG").then(|| "/x/c.toml".to_owned());
        assert_eq!(config_path(&env), Some(PathBuf::from("/x/c.toml")));
    }

    #[test]
    fn an_environment_key_is_never_shown_in_debug_output() {
        let k = KeySource::Env("chk_secret".into());
        assert!(!format!("{k:?}").contains("chk_secret"));
    }
}
