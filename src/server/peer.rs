//! What a verified client certificate says about who may use its connection.
//!
//! A certificate names a principal with a subject alternative name URI
//! `urn:clearinghouse:principal:<principal id>`. API keys stay mandatory: on a connection
//! whose certificate names principals, a call must carry the key of one of them (the
//! auth layer checks it), so a stolen key is useless without the private key of the
//! certificate. A certificate naming no principal only admits the connection.

use std::sync::Arc;

use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

/// The SAN URI prefix that names a principal.
pub const PRINCIPAL_URI_PREFIX: &str = "urn:clearinghouse:principal:";

/// The client side of a TLS connection, as calls on it see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsPeer {
    /// Whether the client presented a certificate (it was verified, or the handshake
    /// would have failed).
    pub certified: bool,
    /// Principal ids the certificate names; empty when it names none.
    pub principals: Arc<[String]>,
}

impl TlsPeer {
    /// Whether `principal` may call on this connection: always when the certificate
    /// names no principal, otherwise only when it names this one.
    pub fn admits(&self, principal: &str) -> bool {
        self.principals.is_empty() || self.principals.iter().any(|p| p == principal)
    }
}

/// The certificate could not be read after the handshake verified it.
#[derive(Debug, thiserror::Error)]
#[error("the client certificate cannot be read: {0}")]
pub struct UnreadableCertificate(String);

/// Principal ids named by the SAN URIs of a DER certificate.
pub fn principals_named(der: &[u8]) -> Result<Vec<String>, UnreadableCertificate> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| UnreadableCertificate(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| UnreadableCertificate(e.to_string()))?;
    Ok(san
        .map(|s| {
            s.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(u) => u.strip_prefix(PRINCIPAL_URI_PREFIX),
                    _ => None,
                })
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// The peer of a finished handshake, from the certificates the client presented (leaf
/// first).
pub fn from_handshake(
    certs: Option<&[impl AsRef<[u8]>]>,
) -> Result<TlsPeer, UnreadableCertificate> {
    match certs.and_then(|c| c.first()) {
        None => Ok(TlsPeer::default()),
        Some(leaf) => Ok(TlsPeer {
            certified: true,
            principals: principals_named(leaf.as_ref())?.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with(sans: &[rcgen::SanType]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = sans.to_vec();
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("sign").der().to_vec()
    }

    fn uri(s: &str) -> rcgen::SanType {
        rcgen::SanType::URI(s.try_into().expect("ia5"))
    }

    #[test]
    fn a_principal_uri_names_its_principal_and_nothing_else_does() {
        let der = cert_with(&[
            uri("urn:clearinghouse:principal:01JPRINCIPAL"),
            uri("https://example.org/not-a-principal"),
            rcgen::SanType::DnsName("client.example.org".try_into().expect("dns")),
        ]);
        assert_eq!(
            principals_named(&der).expect("readable"),
            vec!["01JPRINCIPAL".to_owned()]
        );
        assert!(
            principals_named(&cert_with(&[uri("urn:clearinghouse:principal:")]))
                .expect("readable")
                .is_empty(),
            "an empty id names nobody"
        );
        assert!(principals_named(b"not DER").is_err());
    }

    #[test]
    fn a_certificate_naming_principals_admits_only_them() {
        let bound = from_handshake(Some(&[cert_with(&[uri(
            "urn:clearinghouse:principal:alice",
        )])]))
        .expect("peer");
        assert!(bound.certified);
        assert!(bound.admits("alice"));
        assert!(!bound.admits("bob"));
        let unbound = from_handshake(Some(&[cert_with(&[])])).expect("peer");
        assert!(unbound.certified && unbound.admits("bob"));
        let none = from_handshake(None::<&[Vec<u8>]>).expect("peer");
        assert!(!none.certified && none.admits("bob"));
    }
}
