//! TLS with a private certificate authority: a KooDrive behind a corporate CA is reachable with
//! `--ca-file` or a profile's `ca_file`, and refused (as a network failure that says why, tried
//! once) without; a self-signed certificate made the usual way (marked CA:TRUE, as `openssl req
//! -x509` makes it) is trusted when given with `--ca-file`, as curl and Python trust it, but
//! still not when it has expired or names another host; a CA file without a certificate is
//! refused; plain HTTP goes only to this machine unless a profile allows it.
//!
//! The TLS side is a terminator on 127.0.0.1 with a certificate made for the test, in front of
//! the real local server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::cli::Cli;
use crate::support::spawn_server;

/// A TLS terminator on 127.0.0.1 presenting `certificate` (with its `key`) and forwarding to
/// `backend`; returns the port it listens on and the count of connections it was offered.
async fn serve_tls(
    backend: SocketAddr,
    certificate: &rcgen::Certificate,
    key: &KeyPair,
) -> (u16, Arc<AtomicUsize>) {
    let config =
        ServerConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let offered = Arc::new(AtomicUsize::new(0));
    let count = offered.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
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
    (port, offered)
}

/// A CA (its PEM) and a TLS terminator for `localhost` with a certificate it signed, forwarding
/// to `backend`; returns the port it listens on.
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
    let (port, _) = serve_tls(backend, &server_cert, &server_key).await;
    (ca.pem(), port)
}

/// A self-signed certificate for `name` made as `openssl req -x509` makes one (CA:TRUE), valid
/// from `not_before` to `not_after`, with its key.
fn self_signed_ca_true(
    name: &str,
    not_before: (i32, u8, u8),
    not_after: (i32, u8, u8),
) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
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

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_ca_true_certificate_is_trusted_pinned_but_only_while_valid_and_for_its_name() {
    let server = spawn_server().await;
    let cli = Cli::for_server("https://localhost:1");
    let pin = |name: &str, pem: &str| {
        let path = cli.dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_string()
    };
    let list = |port: u16, ca_file: String| {
        let cli = Cli::for_server(&format!("https://localhost:{port}"));
        async move {
            cli.run(&["--ca-file", &ca_file, "record", "list", "-m", "100"])
                .await
        }
    };

    let (valid, key) = self_signed_ca_true("localhost", (2020, 1, 1), (2099, 1, 1));
    let (port, _) = serve_tls(server.server.addr(), &valid, &key).await;
    list(port, pin("valid.pem", &valid.pem())).await.ok();

    let (expired, key) = self_signed_ca_true("localhost", (2020, 1, 1), (2021, 1, 1));
    let (port, _) = serve_tls(server.server.addr(), &expired, &key).await;
    let refused = list(port, pin("expired.pem", &expired.pem())).await;
    refused.code(6);
    assert!(refused.stderr.contains("expired"), "{}", refused.stderr);

    let (elsewhere, key) = self_signed_ca_true("drive.example.com", (2020, 1, 1), (2099, 1, 1));
    let (port, _) = serve_tls(server.server.addr(), &elsewhere, &key).await;
    let refused = list(port, pin("elsewhere.pem", &elsewhere.pem())).await;
    refused.code(6);
    assert!(
        refused
            .stderr
            .contains("for drive.example.com but not for localhost"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_certificate_is_said_in_words_and_tried_once() {
    let server = spawn_server().await;
    let (certificate, key) = self_signed_ca_true("localhost", (2020, 1, 1), (2099, 1, 1));
    let (port, offered) = serve_tls(server.server.addr(), &certificate, &key).await;
    let cli = Cli::for_server(&format!("https://localhost:{port}"));
    let refused = cli.run(&["record", "list", "-m", "100"]).await;
    refused.code(6);
    assert!(
        refused.stderr.contains("--ca-file"),
        "what to do: {}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("Error(") && !refused.stderr.contains("trying again"),
        "words, no retries: {}",
        refused.stderr
    );
    assert_eq!(
        offered.load(Ordering::SeqCst),
        1,
        "one attempt: {}",
        refused.stderr
    );
}

#[tokio::test]
async fn a_ca_file_without_a_certificate_is_refused() {
    let cli = Cli::for_server("https://localhost:1");
    let key = cli.dir.path().join("key.pem");
    std::fs::write(&key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let empty = cli.dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    for file in [key, empty] {
        let run = cli
            .run(&["--ca-file", file.to_str().unwrap(), "record", "list"])
            .await;
        run.code(2);
        assert!(run.stderr.contains("holds no certificate"), "{}", run.stderr);
    }
}
