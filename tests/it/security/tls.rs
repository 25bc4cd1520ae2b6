//! TLS with a private certificate authority: a KooDrive behind a corporate CA is reachable with
//! `--ca-file` or a profile's `ca_file`, and refused (as a network failure that says why)
//! without; plain HTTP goes only to this machine unless a profile allows it.
//!
//! The TLS side is a terminator on 127.0.0.1 with a certificate for `localhost` signed by a CA
//! made for the test, in front of the real local server.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::cli::Cli;
use crate::support::spawn_server;

/// A CA (its PEM) and a TLS terminator for `localhost` forwarding to `backend`; returns the
/// port it listens on.
async fn tls_front(backend: SocketAddr) -> (String, u16) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "koobackup test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(server_cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (ca.pem(), port)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_is_trusted_when_given_and_refused_otherwise() {
    let server = spawn_server().await;
    let (ca_pem, port) = tls_front(server.server.addr()).await;
    let base_url = format!("https://localhost:{port}");
    let cli = Cli::for_server(&base_url);
    let ca_file = cli.dir.path().join("corporate-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let ca_arg = ca_file.to_str().unwrap();

    let refused = cli.run(&["record", "list", "-m", "100"]).await;
    assert_eq!(refused.code, 6, "{refused:?}");
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "{}",
        refused.stderr
    );

    cli.run(&["--ca-file", ca_arg, "record", "list", "-m", "100"])
        .await
        .ok();
    let created = cli
        .run(&["--ca-file", ca_arg, "lock", "create", "-m", "100", "-q"])
        .await;
    let lock_id = created.ok().stdout_trimmed().to_string();
    cli.run(&["--ca-file", ca_arg, "lock", "release", &lock_id])
        .await
        .ok();

    // The same from a profile.
    let profile = Cli::isolated().env("PROFILE_TOKEN", "alice-token");
    profile.write_config(&format!(
        "default_profile = \"corp\"\n[profiles.corp]\nbase_url = \"{base_url}\"\nuser_id = \"alice\"\n\
         token = {{ env = \"PROFILE_TOKEN\" }}\nca_file = \"{ca_arg}\"\n"
    ));
    profile.run(&["record", "list", "-m", "100"]).await.ok();

    let unreadable = cli
        .run(&["--ca-file", "/nonexistent/ca.pem", "record", "list"])
        .await;
    assert_ne!(unreadable.code, 0);
    assert!(
        unreadable.stderr.contains("/nonexistent/ca.pem"),
        "{}",
        unreadable.stderr
    );
}

#[tokio::test]
async fn plain_http_goes_to_this_machine_only_unless_a_profile_allows_it() {
    // 192.0.2.0/24 is reserved for documentation: nothing answers there, so a refusal must come
    // before any connection attempt.
    let cli = Cli::for_server("http://192.0.2.7:8080");
    let refused = cli.run(&["record", "list", "--timeout", "2"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("https") || refused.stderr.contains("http://"),
        "{}",
        refused.stderr
    );

    let allowed = Cli::isolated().env("PROFILE_TOKEN", "t");
    allowed.write_config(
        "default_profile = \"lan\"\n[profiles.lan]\nbase_url = \"http://192.0.2.7:8080\"\nuser_id = \"u\"\n\
         token = { env = \"PROFILE_TOKEN\" }\nallow_insecure_http = true\n",
    );
    let tried = allowed.run(&["record", "list", "--timeout", "1"]).await;
    assert_eq!(tried.code, 6, "allowed, so it tried to connect: {tried:?}");
}
