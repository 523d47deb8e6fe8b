//! A full disk, for real: the real binary runs under a file-size limit
//! (`RLIMIT_FSIZE`, with SIGXFSZ ignored so that writes fail with EFBIG).
//! Batches that cannot be committed get UNAVAILABLE and health turns
//! NOT_SERVING; every acked alert stays; once the limit is lifted (space
//! returns) the engine commits again and health is SERVING, without a
//! restart.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use common::*;
use dualwarn::proto;
use dualwarn::proto::alert_ingest_client::AlertIngestClient;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Starts `dualwarn serve`, with a soft file-size limit of `fsize` bytes
/// when given.
fn spawn_limited(data: &Path, fsize: Option<u64>) -> (Child, String) {
    spawn_server_with(data, |cmd| {
        let Some(limit) = fsize else { return };
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    })
}

/// Lifts the running child's file-size limit: space has come back.
fn lift_limit(child: &Child) {
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscall on a live child we own.
    let rc = unsafe {
        libc::prlimit(
            child.id() as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &lim,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

async fn health(url: &str) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut h = HealthClient::new(channel);
    let r = h
        .check(tonic_health::pb::HealthCheckRequest {
            service: "dualwarn.v1.AlertIngest".into(),
        })
        .await
        .unwrap();
    ServingStatus::try_from(r.into_inner().status).unwrap()
}

fn batch(people: &[Person], phone: &str, n: u64) -> proto::AlertBatch {
    proto::AlertBatch {
        sequence: n,
        alerts: (0..50u64)
            .map(|k| {
                call_alert(
                    &format!("full-{n}-{k}"),
                    &people[((n * 50 + k) % people.len() as u64) as usize],
                    phone,
                )
            })
            .collect(),
    }
}

/// Sends the `acked` batches again: each is accepted whole, as duplicates.
async fn all_duplicates(
    client: &mut AlertIngestClient<tonic::transport::Channel>,
    batches: &[proto::AlertBatch],
    acked: &[u64],
    when: &str,
) {
    for n in acked {
        let ack = client
            .submit(batches[*n as usize].clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!((ack.accepted, ack.duplicates), (50, 50), "batch {n}{when}");
    }
}

fn store_size(data: &Path) -> u64 {
    std::fs::metadata(data.join("dualwarn.redb")).unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_loses_no_acked_alert_and_the_engine_recovers() {
    let data = tempfile::tempdir().unwrap();
    let dir = directory();
    let people = persons(&dir, "52", 200, 21);
    let phone = list("flagged_phones", 1).remove(0);
    // Built once: a re-send must be the same record (its event time included).
    let batches: Vec<proto::AlertBatch> = (0..400).map(|n| batch(&people, &phone, n)).collect();

    // Make the store once without a limit, so that its size is known.
    let (mut child, url) = spawn_limited(data.path(), None);
    let mut client = AlertIngestClient::connect(url).await.unwrap();
    client.submit(batches[0].clone()).await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    // Room for a little more, then the disk is "full".
    let limit = store_size(data.path()) + 2 * 1024 * 1024;
    let (mut child, url) = spawn_limited(data.path(), Some(limit));
    let mut client = AlertIngestClient::connect(url.clone()).await.unwrap();
    let mut acked = vec![0u64];
    let mut refused = Vec::new();
    for n in 1..400u64 {
        match client.submit(batches[n as usize].clone()).await {
            Ok(_) => acked.push(n),
            Err(s) => {
                assert_eq!(s.code(), tonic::Code::Unavailable, "{s:?}");
                refused.push(n);
                if refused.len() == 3 {
                    break;
                }
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "the limit of {limit} bytes was never reached"
    );
    println!(
        "file-size limit {limit} bytes: {} batches acked, then refused",
        acked.len()
    );
    assert_eq!(health(&url).await, ServingStatus::NotServing);

    lift_limit(&child);
    // The next batch commits (the store is reopened), and health comes back.
    let mut back = false;
    for _ in 0..50 {
        if client
            .submit(batches[refused[0] as usize].clone())
            .await
            .is_ok()
        {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(back, "the engine did not recover once space returned");
    assert_eq!(health(&url).await, ServingStatus::Serving);
    acked.push(refused[0]);

    // Every acked batch is stored: sent again, all of it is a duplicate.
    all_duplicates(&mut client, &batches, &acked, "").await;
    child.kill().unwrap();
    child.wait().unwrap();

    // And after a restart too.
    let (mut child, url) = spawn_limited(data.path(), None);
    let mut client = AlertIngestClient::connect(url).await.unwrap();
    all_duplicates(&mut client, &batches, &acked, " after restart").await;
    child.kill().unwrap();
    child.wait().unwrap();
}
