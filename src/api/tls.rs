//! Whom the client trusts over TLS, and certificate failures in words.
//!
//! Without a CA file the client trusts the operating system's certificate authorities (reqwest's
//! own setup). With one (`--ca-file`, a profile's `ca_file`) it trusts those and every
//! certificate in the file, which must hold at least one. A certificate of the file that the
//! server presents as its own is trusted for the names it carries even when it is marked as a
//! CA: that is how `openssl req -x509` makes a self-signed certificate, and curl and Python
//! accept it pinned that way too. Its validity period and names are still checked.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A TLS setup that trusts the operating system's authorities and the certificates of
/// `ca_file`; the error says, in words, why the file cannot be used.
pub fn config_with_ca_file(ca_file: &Path) -> Result<rustls::ClientConfig, String> {
    let pem =
        std::fs::read(ca_file).map_err(|e| format!("cannot read the CA file {}: {e}", ca_file.display()))?;
    let pinned: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "the CA file {} is not a readable PEM file ({e})",
                ca_file.display()
            )
        })?;
    if pinned.is_empty() {
        return Err(format!(
            "the CA file {} holds no certificate (no -----BEGIN CERTIFICATE----- block); give \
             the PEM file of the certificate authority, or of the server's self-signed certificate",
            ca_file.display()
        ));
    }
    let mut roots = RootCertStore::empty();
    // The system store as reqwest reads it: certificates it cannot parse are skipped.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    for certificate in &pinned {
        roots.add(certificate.clone()).map_err(|e| {
            format!(
                "the CA file {} holds a certificate that cannot be used ({e})",
                ca_file.display()
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot set up certificate checks: {e}"))?;
    let verifier = Arc::new(PinnedOrChained { webpki, pinned });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The usual chain check, and beside it the certificates of the CA file taken as the server's
/// own.
#[derive(Debug)]
struct PinnedOrChained {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for PinnedOrChained {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // The chain check refuses a CA certificate as the server's own before it looks at
            // the names, and after the validity period (webpki checks that first, which the
            // expired-certificate test relies on): exactly that refusal, of a certificate the
            // operator gave, is lifted, and the names are checked here instead.
            Err(error) if is_ca_used_as_end_entity(&error) && self.pinned.iter().any(|c| c == end_entity) => {
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

fn is_ca_used_as_end_entity(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
    )
}

/// The certificate failure inside `error`, in words with what to do, or `None` when the failure
/// was not about the server's certificate.
pub fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(rustls::Error::InvalidCertificate(problem)) = error.downcast_ref::<rustls::Error>() {
            return Some(describe(problem));
        }
        // An I/O error passes on its inner error's source, not the inner error itself (and
        // hyper wraps the TLS error in two of them): step inside it instead.
        current = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// A name as webpki lists a certificate's names, `DnsName("drive.example.com")`, without its
/// wrapping: `drive.example.com`.
fn bare_name(listed: &str) -> &str {
    listed
        .split_once("(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .unwrap_or(listed)
}

const GIVE_CA_FILE: &str = "if the server uses a private certificate authority or a self-signed \
                            certificate, give that certificate's PEM file with --ca-file (or the \
                            profile's ca_file)";

fn describe(problem: &CertificateError) -> String {
    match problem {
        CertificateError::UnknownIssuer => format!(
            "its certificate is not signed by a certificate authority this machine trusts; {GIVE_CA_FILE}"
        ),
        CertificateError::NotValidForNameContext { expected, presented } => format!(
            "its certificate is for {} but not for {}; check the base URL's host name",
            if presented.is_empty() {
                "no host name".to_string()
            } else {
                presented
                    .iter()
                    .map(|name| bare_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            expected.to_str()
        ),
        CertificateError::NotValidForName => {
            "its certificate is not for this host name; check the base URL's host name".into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "its certificate has expired; the server must renew it (or check this machine's clock)".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "its certificate is not valid yet; check this machine's clock".into()
        }
        CertificateError::Revoked => "its certificate has been revoked".into(),
        CertificateError::BadSignature => "its certificate's signature is not valid".into(),
        CertificateError::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            "it presents a certificate authority's certificate as its own (a self-signed \
             certificate made with CA:TRUE); to trust it, give that very certificate with \
             --ca-file (or the profile's ca_file)"
                .into()
        }
        other => format!("its certificate was refused ({other})"),
    }
}
