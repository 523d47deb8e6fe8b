//! The web console on the open network: over TLS with the engine's `[tls]`
//! certificate (generated here by a test CA), a plain-text request to the
//! TLS port gets nothing, a console token of another county is refused
//! this county's tasks, and no token is refused at all.

mod common;

use std::sync::Arc;

use common::*;
use dualwarn::app;
use dualwarn::config::TlsConfig;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

const CENTRE: &str = "nanming-centre-token-tls-01";
const OTHER: &str = "yunyan-centre-token-tls-02";

/// A CA and a server certificate for localhost it signed, as PEM files.
fn pki(dir: &std::path::Path) -> Vec<u8> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    ca.der().to_vec()
}

/// One HTTP/1.1 request over TLS; the status code and the body.
async fn https(
    port: u16,
    ca_der: &[u8],
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut roots = RootCertStore::empty();
    roots.add(ca_der.to_vec().into()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = "localhost".try_into().unwrap();
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A close without TLS close_notify is fine here: the body is complete.
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_console_over_tls_refuses_another_county_and_no_token() {
    let data = tempfile::tempdir().unwrap();
    let ca = pki(data.path());
    let mut cfg = config(data.path());
    cfg.tls = Some(TlsConfig {
        cert: data.path().join("server.pem"),
        key: data.path().join("server.key"),
        client_ca: None,
    });
    cfg.admin_token = Some(ADMIN.into());
    cfg.consoles = vec![
        console("南明区反诈中心", CENTRE, "520102"),
        console("云岩区反诈中心", OTHER, "520103"),
    ];
    let shared = app::build(cfg).unwrap();
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = http.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve_with_http(shared, grpc, Some(http), async {
        let _ = stopped.await;
    }));

    // Plain text to the TLS port: no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    plain
        .write_all(b"GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        plain.read_to_end(&mut answer),
    )
    .await;
    assert!(
        !String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "plain text got an answer"
    );

    // The county's own token: who it is, and its tasks.
    let (code, body) = https(port, &ca, "GET", "/api/session", Some(CENTRE), "").await;
    assert_eq!(code, 200, "{body}");
    let session: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(session["jurisdiction"], "520102");
    assert_eq!(session["dev_mode"], false);
    let list = r#"{"jurisdiction":"520102"}"#;
    let (code, body) = https(
        port,
        &ca,
        "POST",
        "/api/console/ListTasks",
        Some(CENTRE),
        list,
    )
    .await;
    assert_eq!(code, 200, "{body}");

    // Another county's token asking for this county: refused, by code.
    let (code, body) = https(
        port,
        &ca,
        "POST",
        "/api/console/ListTasks",
        Some(OTHER),
        list,
    )
    .await;
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("PERMISSION_DENIED"), "{body}");
    // Its own events stream cannot be widened either.
    let (code, _) = https(
        port,
        &ca,
        "GET",
        "/api/events?jurisdiction=520102",
        Some(OTHER),
        "",
    )
    .await;
    assert_eq!(code, 403);
    // No token, or a wrong one: 401.
    let (code, body) = https(port, &ca, "GET", "/api/session", None, "").await;
    assert_eq!(code, 401, "{body}");
    let (code, _) = https(
        port,
        &ca,
        "POST",
        "/api/console/ListTasks",
        Some("wrong-token-000000"),
        "{}",
    )
    .await;
    assert_eq!(code, 401);
    // A bad body names what is wrong.
    let (code, body) = https(
        port,
        &ca,
        "POST",
        "/api/console/GetTask",
        Some(CENTRE),
        r#"{"task":1}"#,
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("unknown field `task`"), "{body}");

    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
}
