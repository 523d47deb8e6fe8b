//! Authenticated ingest against the real server: publisher tokens bound to
//! sources, per-source rate limits with a retry hint, TLS with a generated
//! certificate, and mTLS for publishers (consoles need no certificate).

mod common;

use common::*;
use dualwarn::cli::ClientTls;
use dualwarn::cli::record::{AlertRecord, SubjectRecord};
use dualwarn::cli::send::{SendOptions, send};
use dualwarn::config::{PublisherAccess, RateLimit, TlsConfig};
use dualwarn::proto;
use dualwarn::proto::alert_ingest_client::AlertIngestClient;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::Code;
use tonic::transport::Channel;

const TELECOM_TOKEN: &str = "telecom-publisher-token-01";
const BANK_TOKEN: &str = "bank-publisher-token-0002";

fn publishers() -> Vec<PublisherAccess> {
    vec![
        PublisherAccess {
            name: "移动".into(),
            token: TELECOM_TOKEN.into(),
            sources: vec!["test-telecom".into()],
        },
        PublisherAccess {
            name: "工行".into(),
            token: BANK_TOKEN.into(),
            sources: vec!["test-bank".into()],
        },
    ]
}

fn batch(seq: u64, alerts: Vec<proto::Alert>) -> proto::AlertBatch {
    proto::AlertBatch {
        sequence: seq,
        alerts,
    }
}

fn alerts(prefix: &str, n: usize, salt: u32) -> Vec<proto::Alert> {
    let dir = directory();
    persons(&dir, "5201", n, salt)
        .iter()
        .enumerate()
        .map(|(i, p)| call_alert(&format!("{prefix}-{i}"), p, "13900000000"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_needs_a_token_bound_to_the_alerts_source() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.ingest.publishers = publishers();
    let server = Server::start_with(cfg).await;
    let mut ingest = server.ingest().await;

    // No token, and an unknown one: refused before anything is read.
    let e = ingest
        .submit(batch(1, alerts("a", 1, 1)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("publisher token"), "{}", e.message());
    let e = ingest
        .submit(with_token(
            batch(1, alerts("a", 1, 1)),
            "not-a-token-of-anyone",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let stream = tokio_stream::iter(vec![batch(1, alerts("a", 1, 1))]);
    let e = ingest.publish(stream).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");

    // The bank's token may not publish the telecom's alerts: each is
    // refused with the field named, the bank's own alert passes.
    let dir = directory();
    let p = &persons(&dir, "5201", 1, 9)[0];
    let mut mixed = alerts("t", 2, 2);
    mixed.push(transfer_alert("b-1", p, "6222020012341234", 10_000));
    let ack = ingest
        .submit(with_token(batch(2, mixed), BANK_TOKEN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.accepted, 1, "{ack:?}");
    assert_eq!(ack.rejections.len(), 2, "{ack:?}");
    for r in &ack.rejections {
        assert_eq!(r.field, "source", "{r:?}");
        assert!(r.reason.contains("test-telecom"), "{r:?}");
    }

    // The right token, over a stream.
    let stream = tokio_stream::iter(vec![batch(3, alerts("t", 2, 2))]);
    let mut acks = ingest
        .publish(with_token(stream, TELECOM_TOKEN))
        .await
        .unwrap()
        .into_inner();
    let ack = acks.message().await.unwrap().unwrap();
    assert_eq!((ack.accepted, ack.rejections.len()), (2, 0), "{ack:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_over_its_rate_gets_resource_exhausted_and_a_retry_hint() {
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.ingest.rate_limits = vec![RateLimit {
        source: "test-telecom".into(),
        per_second: 1,
        burst: Some(20),
    }];
    let server = Server::start_with(cfg).await;
    let mut ingest = server.ingest().await;
    let ack = submit(&mut ingest, 1, alerts("r", 20, 3)).await;
    assert_eq!(ack.accepted, 20);
    let over = batch(2, alerts("s", 5, 4));
    let e = ingest.submit(over.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    let hint = retry_after_ms(&e).expect("a retry-after-ms hint");
    // 5 alerts at 1 per second, minus what refilled meanwhile.
    assert!((3_000..=5_000).contains(&hint), "{hint}");
    assert!(e.message().contains("batch 2") && e.message().contains("test-telecom"));
    // Another source is not limited; the refused batch left no trace.
    let dir = directory();
    let p = &persons(&dir, "5201", 1, 5)[0];
    let ack = submit(&mut ingest, 3, vec![transfer_alert("x", p, "6222", 1)]).await;
    assert_eq!(ack.accepted, 1);
    let mut console = server.console().await;
    let before = all_tasks(&mut console, "").await.len();
    assert!(ingest.submit(over).await.is_err());
    assert_eq!(all_tasks(&mut console, "").await.len(), before);
    // A batch larger than the burst can never pass: not a retry.
    let e = ingest
        .submit(batch(4, alerts("big", 21, 6)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    server.stop().await;
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA, a server certificate for localhost and 127.0.0.1, and a
    /// publisher's client certificate, all signed by the CA.
    fn generate() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf = |names: Vec<String>, file: &str| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            std::fs::write(dir.path().join(format!("{file}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{file}.key")), key.serialize_pem()).unwrap();
        };
        leaf(vec!["localhost".into(), "127.0.0.1".into()], "server");
        leaf(vec!["publisher.example".into()], "client");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, file: &str) -> std::path::PathBuf {
        self.dir.path().join(file)
    }

    fn client(&self, with_cert: bool) -> ClientTls {
        ClientTls {
            ca: Some(self.path("ca.pem")),
            cert: with_cert.then(|| self.path("client.pem")),
            key: with_cert.then(|| self.path("client.key")),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_generated_certificate_and_mtls_for_publishers() {
    let pki = Pki::generate();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config(data.path());
    cfg.tls = Some(TlsConfig {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        client_ca: Some(pki.path("ca.pem")),
    });
    let server = Server::start_with(cfg).await;
    let url = format!("https://localhost:{}", server.addr.port());

    // Plain text to a TLS port does not get through.
    let plain = AlertIngestClient::connect(server.url.clone()).await;
    if let Ok(mut c) = plain {
        assert!(c.submit(batch(1, alerts("p", 1, 7))).await.is_err());
    }

    // A console over TLS needs no client certificate.
    let channel: Channel = dualwarn::cli::channel(&url, &pki.client(false))
        .await
        .unwrap();
    let mut console = TaskConsoleClient::new(channel.clone());
    assert!(all_tasks(&mut console, "").await.is_empty());
    // A publisher without one is refused.
    let e = AlertIngestClient::new(channel)
        .submit(batch(1, alerts("p", 1, 7)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(
        e.message().contains("client certificate"),
        "{}",
        e.message()
    );

    // `dualwarn send` with the CA and a client certificate.
    let file = data.path().join("alerts.jsonl");
    let lines: Vec<String> = alerts("m", 3, 8)
        .iter()
        .map(|a| {
            let s = a.subject.clone().unwrap();
            let r = AlertRecord {
                source: a.source.clone(),
                source_id: a.source_id.clone(),
                source_kind: "telecom".into(),
                occurred_at_ms: a.occurred_at_ms,
                subject: SubjectRecord {
                    phone: s.phone,
                    division_code: s.division_code,
                    grid_id: s.grid_id,
                    ..SubjectRecord::default()
                },
                ..AlertRecord::default()
            };
            serde_json::to_string(&r).unwrap()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let opts = SendOptions {
        addr: url.clone(),
        batch: 2,
        show_rejections: 5,
        progress: false,
        token: None,
        tls: pki.client(true),
    };
    let input = tokio::io::BufReader::new(tokio::fs::File::open(&file).await.unwrap());
    let summary = send(&opts, input).await.unwrap();
    assert_eq!((summary.sent, summary.accepted), (3, 3), "{summary:?}");
    server.stop().await;
}
