//! Hostile and unlucky input at the ingest edge, against the real server:
//! a reused id with other content is refused (a true re-send is a
//! duplicate), rejections are short and masked whatever field the value
//! came in, dates are checked at both ends, and a stream that breaks in the
//! middle ends in INVALID_ARGUMENT, never a clean end.

mod common;

use bytes::{Buf, BufMut};
use common::*;
use dualwarn::proto;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Status};

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_id_with_new_content_is_refused_and_a_true_resend_is_a_duplicate() {
    let server = Server::start().await;
    let dir = directory();
    let people = persons(&dir, "520102", 2, 31);
    let phones = list("flagged_phones", 1);
    let mut client = server.ingest().await;

    let first = call_alert("c-0001", &people[0], &phones[0]);
    let ack = submit(&mut client, 1, vec![first.clone()]).await;
    assert_eq!((ack.accepted, ack.pairs_created), (1, 1), "{ack:?}");

    // The same record again: a duplicate, nothing new.
    let ack = submit(&mut client, 2, vec![first.clone()]).await;
    assert_eq!((ack.accepted, ack.duplicates, ack.reused), (1, 1, 0));

    // Another person under the same id (a producer whose counter restarted).
    let other = call_alert("c-0001", &people[1], &phones[0]);
    let ack = submit(&mut client, 3, vec![other]).await;
    assert_eq!((ack.accepted, ack.duplicates, ack.reused), (0, 0, 1));
    assert_eq!(ack.rejections.len(), 1, "{ack:?}");
    let r = &ack.rejections[0];
    assert_eq!((r.index, r.field.as_str()), (0, "source_id"));
    assert!(r.reason.contains("reused with different content"), "{r:?}");

    // An id longer than the limit is refused, not cut.
    let long = "x".repeat(200);
    let ack = submit(
        &mut client,
        4,
        vec![call_alert(&long, &people[1], &phones[0])],
    )
    .await;
    assert_eq!(ack.accepted, 0);
    assert_eq!(ack.rejections[0].field, "source_id");
    assert!(ack.rejections[0].source_id.chars().count() < 60);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejections_are_short_and_mask_personal_data_in_any_field() {
    let server = Server::start().await;
    let dir = directory();
    let p = persons(&dir, "520102", 1, 32).remove(0);
    let phones = list("flagged_phones", 1);
    let mut client = server.ingest().await;

    let mut huge = call_alert("huge", &p, &phones[0]);
    huge.subject.as_mut().unwrap().division_code = "\u{1}".repeat(1 << 20);
    let mut huge_phone = call_alert("huge-phone", &p, &phones[0]);
    huge_phone.subject.as_mut().unwrap().phone = "9".repeat(1 << 20);
    let mut phone_in_division = call_alert("phone-in-division", &p, &phones[0]);
    phone_in_division.subject.as_mut().unwrap().division_code = "13912345678".into();
    let mut id_in_division = call_alert("id-in-division", &p, &phones[0]);
    id_in_division.subject.as_mut().unwrap().division_code = "52010219900101123X".into();
    let mut id_in_grid = call_alert("id-in-grid", &p, &phones[0]);
    id_in_grid.subject.as_mut().unwrap().grid_id = "520102199001011234".into();

    let ack = submit(
        &mut client,
        1,
        vec![
            huge,
            huge_phone,
            phone_in_division,
            id_in_division,
            id_in_grid,
        ],
    )
    .await;
    assert_eq!(ack.rejections.len(), 5, "{ack:?}");
    assert!(
        ack.encoded_len() < 4096,
        "ack of {} bytes",
        ack.encoded_len()
    );
    for r in &ack.rejections {
        assert!(r.reason.chars().count() <= 220, "long reason: {r:?}");
        for secret in ["13912345678", "1234567", "19900101", "99999999"] {
            assert!(!r.reason.contains(secret), "{secret} echoed: {r:?}");
        }
        assert!(!r.reason.contains('\u{1}'), "control byte echoed: {r:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dates_are_checked_at_both_ends_links_included() {
    let server = Server::start().await;
    let dir = directory();
    let p = persons(&dir, "520102", 1, 33).remove(0);
    let phones = list("flagged_phones", 1);
    let mut client = server.ingest().await;

    let mut ancient = call_alert("ancient", &p, &phones[0]);
    ancient.occurred_at_ms = 1;
    let mut last_year = call_alert("last-year", &p, &phones[0]);
    last_year.occurred_at_ms = now_ms() - 365 * 24 * 3600 * 1000;
    let mut future = call_alert("future", &p, &phones[0]);
    future.occurred_at_ms = now_ms() + 7 * 24 * 3600 * 1000;
    let mut old_link = call_alert("old-link", &p, &phones[0]);
    old_link.links = vec![proto::Link {
        kind: proto::LinkKind::Call as i32,
        from: Some(proto::Artefact {
            kind: proto::ArtefactKind::Phone as i32,
            value: phones[0].clone(),
        }),
        to: Some(proto::Artefact {
            kind: proto::ArtefactKind::Phone as i32,
            value: p.phone.clone(),
        }),
        amount_fen: 0,
        at_ms: 5,
    }];
    // Two weeks of backlog is normal.
    let mut backlog = call_alert("backlog", &p, &phones[0]);
    backlog.occurred_at_ms = now_ms() - 14 * 24 * 3600 * 1000;

    let ack = submit(
        &mut client,
        1,
        vec![ancient, last_year, future, old_link, backlog],
    )
    .await;
    let fields: Vec<(u32, &str)> = ack
        .rejections
        .iter()
        .map(|r| (r.index, r.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            (0, "occurred_at_ms"),
            (1, "occurred_at_ms"),
            (2, "occurred_at_ms"),
            (3, "links[0].at_ms")
        ]
    );
    assert_eq!(ack.accepted, 1);
    server.stop().await;
}

/// Sends frames as raw bytes, so a test can put garbage between two
/// valid batches; acks are decoded as they come.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct AckDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for AckDecoder {
    type Item = proto::PublishAck;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<proto::PublishAck>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        proto::PublishAck::decode(bytes)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = proto::PublishAck;
    type Encoder = RawEncoder;
    type Decoder = AckDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> AckDecoder {
        AckDecoder
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_broken_by_garbage_ends_in_invalid_argument_naming_the_batch() {
    let server = Server::start().await;
    let dir = directory();
    let people = persons(&dir, "520102", 2, 34);
    let phones = list("flagged_phones", 1);
    let batch = |seq: u64, p: &Person| {
        proto::AlertBatch {
            sequence: seq,
            alerts: vec![call_alert(&format!("b-{seq}"), p, &phones[0])],
        }
        .encode_to_vec()
    };
    // Field 2 (alerts) as a length-delimited run of 0xff: not an Alert.
    let garbage = vec![0x12, 0x04, 0xff, 0xff, 0xff, 0xff];
    let frames = vec![batch(1, &people[0]), garbage, batch(3, &people[1])];

    let channel = tonic::transport::Channel::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut acks = grpc
        .streaming(
            tonic::Request::new(tokio_stream::iter(frames)),
            PathAndQuery::from_static("/dualwarn.v1.AlertIngest/Publish"),
            RawCodec,
        )
        .await
        .unwrap()
        .into_inner();
    let first = acks
        .message()
        .await
        .unwrap()
        .expect("the first batch is acked");
    assert_eq!((first.sequence, first.accepted), (1, 1));
    let end = acks
        .message()
        .await
        .expect_err("a broken stream must not end cleanly");
    assert_eq!(end.code(), Code::InvalidArgument, "{end:?}");
    assert!(end.message().contains("after batch 1"), "{}", end.message());
    server.stop().await;
}
