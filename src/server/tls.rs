//! TLS on the listener: the rustls server configuration built from the PEM files of
//! `[tls]`, with the ring provider given explicitly (so no process-wide provider has to
//! be chosen), ALPN offering `h2` and `http/1.1`, and — with `client_ca` — client
//! certificates verified against that CA, required or optional.
//!
//! Every file problem is an error naming the file: unreadable, not PEM, holding no
//! certificate or key, a key that does not belong to the certificate, a CA certificate
//! that cannot be a trust anchor.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self, RootCertStore, ServerConfig,
        crypto::CryptoProvider,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
        server::WebPkiClientVerifier,
    },
};

use crate::config::{ClientAuth, Tls};

/// ALPN protocols the server offers, preferred first: gRPC needs HTTP/2; HTTP/1.1 is
/// offered for HTTP clients of the same port.
pub const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} {}: {source}", path.display())]
    Read {
        /// Which setting (`certificate chain`, `key`, `client CA`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not PEM, or holds nothing of the kind expected.
    #[error("the TLS {what} {} {problem}", path.display())]
    Content {
        /// Which setting.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the combination (e.g. a key that does not match the certificate).
    #[error("the TLS key {} does not fit the certificate chain {}: {detail}", key.display(), cert.display())]
    Mismatch {
        /// The certificate chain file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// The settings are incomplete (validation should have caught it first).
    #[error("TLS is half-configured: {0}")]
    Incomplete(&'static str),
    /// rustls refused to build a configuration.
    #[error("cannot configure TLS: {0}")]
    Config(String),
}

/// The provider every TLS configuration of the server uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The acceptor for `settings`, or `None` when TLS is off.
pub fn acceptor(settings: &Tls) -> Result<Option<TlsAcceptor>, TlsError> {
    let (cert, key) = match (&settings.cert, &settings.key) {
        (None, None) if settings.client_ca.is_some() => {
            return Err(TlsError::Incomplete(
                "client_ca is set without cert and key",
            ));
        }
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(TlsError::Incomplete("cert is set without key")),
        (None, Some(_)) => return Err(TlsError::Incomplete("key is set without cert")),
        (Some(c), Some(k)) => (c, k),
    };
    let chain = read_certs(cert, "certificate chain")?;
    let private = read_key(key)?;
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &settings.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs(ca, "client CA")? {
                roots.add(c).map_err(|e| TlsError::Content {
                    what: "client CA",
                    path: ca.clone(),
                    problem: format!("holds a certificate that cannot be a trust anchor: {e}"),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match settings.client_auth.unwrap_or(ClientAuth::Required) {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            }
            .build()
            .map_err(|e| TlsError::Config(format!("client CA {}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::Mismatch {
            cert: cert.clone(),
            key: key.clone(),
            detail: e.to_string(),
        })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Every certificate of a PEM file, in order; at least one.
fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Content {
            what,
            path: path.to_owned(),
            problem: format!("is not valid PEM: {}", pem_problem(&e)),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Content {
            what,
            path: path.to_owned(),
            problem: "holds no PEM certificate (BEGIN CERTIFICATE)".to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path, "key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Content {
        what: "key",
        path: path.to_owned(),
        problem: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "holds no PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
                    .to_owned()
            }
            other => format!("is not valid PEM: {}", pem_problem(&other)),
        },
    })
}

/// A PEM error in words (the library's own text shows markers as byte lists).
fn pem_problem(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => format!(
            "no line \"{}\" closes a section",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { line } => format!(
            "a malformed section start \"{}\"",
            String::from_utf8_lossy(line)
        ),
        Error::Base64Decode(d) => format!("a section is not base64 ({d})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn pair() -> (String, String) {
        let cert =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("generate");
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    fn refusal(settings: &Tls) -> String {
        match acceptor(settings) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{settings:?} must be refused"),
        }
    }

    #[test]
    fn no_certificate_and_no_key_means_plain_text() {
        assert!(acceptor(&Tls::default()).expect("no TLS").is_none());
    }

    #[test]
    fn a_matching_certificate_and_key_give_an_acceptor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = pair();
        let settings = Tls {
            cert: Some(write(dir.path(), "cert.pem", &cert)),
            key: Some(write(dir.path(), "key.pem", &key)),
            client_ca: Some(write(dir.path(), "ca.pem", &cert)),
            client_auth: Some(ClientAuth::Optional),
        };
        assert!(acceptor(&settings).expect("valid").is_some());
    }

    #[test]
    fn each_file_problem_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = pair();
        let (other_cert, _) = pair();
        let cert_file = write(dir.path(), "cert.pem", &cert);
        let key_file = write(dir.path(), "key.pem", &key);
        let garbage = write(dir.path(), "garbage.pem", "not a certificate at all\n");
        let missing = dir.path().join("missing.pem");
        let other = write(dir.path(), "other.pem", &other_cert);
        let cases = [
            (
                missing.clone(),
                key_file.clone(),
                "cannot read the TLS certificate chain",
            ),
            (
                garbage.clone(),
                key_file.clone(),
                "holds no PEM certificate",
            ),
            (
                cert_file.clone(),
                garbage.clone(),
                "holds no PEM private key",
            ),
            (
                cert_file.clone(),
                cert_file.clone(),
                "holds no PEM private key",
            ),
            (
                other.clone(),
                key_file.clone(),
                "does not fit the certificate chain",
            ),
        ];
        for (c, k, expected) in cases {
            let settings = Tls {
                cert: Some(c.clone()),
                key: Some(k.clone()),
                ..Tls::default()
            };
            let err = refusal(&settings);
            assert!(err.contains(expected), "{err}");
            let named = if expected.contains("private key") {
                &k
            } else {
                &c
            };
            assert!(
                err.contains(&named.display().to_string()),
                "{err} names {}",
                named.display()
            );
        }
        let settings = Tls {
            cert: Some(cert_file),
            key: Some(key_file),
            client_ca: Some(missing.clone()),
            client_auth: None,
        };
        let err = refusal(&settings);
        assert!(err.contains("cannot read the TLS client CA"), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }
}
