//! TLS to the database with rustls (ring provider, no system library): the roots are
//! the PEM file of [`PostgresOptions::tls_ca_file`] or the system's store. Whether TLS
//! is used at all is the connection string's `sslmode` (`disable`, `prefer`,
//! `require`); when it is used, the certificate and the host name are verified.

use std::sync::Arc;

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::options::PostgresOptions;
use crate::error::Error;

/// The TLS connector of every connection.
pub(crate) type Tls = MakeRustlsConnect;

/// Builds the connector. With `sslmode=disable` no root is loaded (and none is needed).
pub(crate) fn connector(opts: &PostgresOptions, tls_used: bool) -> Result<Tls, Error> {
    let mut roots = RootCertStore::empty();
    if tls_used {
        match &opts.tls_ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(|e| {
                        Error::Engine(format!("cannot read TLS roots {}: {e}", path.display()))
                    })?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(Error::Engine(format!(
                        "no usable certificate in TLS roots {}",
                        path.display()
                    )));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Engine(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
