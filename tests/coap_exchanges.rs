//! CoAP requests over a real UDP socket: publishing (CON and NON), duplicates answered once,
//! every error code, block-wise bodies both ways, and datagrams that are no CoAP at all.

mod coap_support;
mod common;

use adapters::message::{ContentType, Protocol};
use coap_lite::{CoapOption, MessageClass, MessageType, RequestType, ResponseType};
use coap_support::{QUIET, World, block, block_value, code, request, response, uint};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmable_publish_is_acknowledged_with_changed_and_reaches_the_bus() {
    let w = World::start().await;
    let mut bus = w.bus().await;
    let mut client = w.client().await;
    let mut packet = request(
        MessageType::Confirmable,
        RequestType::Post,
        &w.path(&w.ch, "room/1", &w.a.key),
        77,
        &[1, 2],
    );
    packet.add_option(CoapOption::ContentFormat, vec![110]);
    packet.payload = br#"[{"n":"t","v":1}]"#.to_vec();
    let answer = client.call(&packet).await;
    assert_eq!(answer.header.get_type(), MessageType::Acknowledgement);
    assert_eq!(answer.header.message_id, 77);
    assert_eq!(answer.get_token(), [1, 2]);
    assert_eq!(code(&answer), response(ResponseType::Changed));
    let message = bus.next().await.expect("published");
    assert_eq!(message.protocol, Protocol::Coap);
    assert_eq!(message.content_type, Some(ContentType::SenmlJson));
    assert_eq!(
        message.subtopic.as_ref().map(|s| s.as_str()),
        Some("room.1")
    );
    assert_eq!(message.publisher.0.to_string(), w.a.id);

    // NON: a NON answer with a fresh message id and the request's token.
    let mut packet = request(
        MessageType::NonConfirmable,
        RequestType::Post,
        &w.path(&w.ch, "", &w.b.key),
        client.mid(),
        &[9],
    );
    packet.payload = b"non".to_vec();
    let answer = client.call(&packet).await;
    assert_eq!(answer.header.get_type(), MessageType::NonConfirmable);
    assert_eq!(
        (answer.get_token(), code(&answer)),
        (&[9][..], response(ResponseType::Changed))
    );
    assert_eq!(&bus.next().await.expect("published").payload[..], b"non");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_is_answered_with_the_same_response_and_published_once() {
    let w = World::start().await;
    let mut bus = w.bus().await;
    let client = w.client().await;
    for (kind, mid) in [
        (MessageType::Confirmable, 4242),
        (MessageType::NonConfirmable, 5252),
    ] {
        let mut packet = request(
            kind,
            RequestType::Post,
            &w.path(&w.ch, "", &w.a.key),
            mid,
            &[5],
        );
        packet.payload = b"once".to_vec();
        let first = client.call(&packet).await;
        let again = client.call(&packet).await;
        assert_eq!(
            first, again,
            "{kind:?}: the duplicate gets the original response"
        );
        assert_eq!(code(&first), response(ResponseType::Changed));
        assert_eq!(&bus.next().await.unwrap().payload[..], b"once");
        // Another message id from the same endpoint is a new request.
        let mut fresh = packet.clone();
        fresh.header.message_id = mid + 1;
        client.call(&fresh).await;
        assert_eq!(&bus.next().await.unwrap().payload[..], b"once");
        // The same id from another endpoint is a new request too.
        w.client().await.call(&packet).await;
        assert_eq!(&bus.next().await.unwrap().payload[..], b"once");
        let more = tokio::time::timeout(QUIET, bus.next()).await;
        assert!(more.is_err(), "{kind:?}: published once per request");
    }
    assert_eq!(w.stats().duplicates, 2);
    assert_eq!(w.stats().publishes, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_has_its_code() {
    let w = World::start_with(|c| c.max_payload = 64, |_| {}).await;
    let mut client = w.client().await;
    let ch = w.ch.clone();
    let unknown = uuid::Uuid::new_v4();
    let cases: Vec<(&str, RequestType, String, Vec<u8>, ResponseType)> = vec![
        (
            "no key",
            RequestType::Post,
            format!("channels/{ch}/messages"),
            b"x".to_vec(),
            ResponseType::Unauthorized,
        ),
        (
            "wrong key",
            RequestType::Post,
            w.path(&ch, "", "nope"),
            b"x".to_vec(),
            ResponseType::Unauthorized,
        ),
        (
            "authorization= works",
            RequestType::Post,
            format!("channels/{ch}/messages?authorization={}", w.a.key),
            b"x".to_vec(),
            ResponseType::Changed,
        ),
        (
            "not connected",
            RequestType::Post,
            w.path(&ch, "", &w.c.key),
            b"x".to_vec(),
            ResponseType::Forbidden,
        ),
        (
            "unconnected channel",
            RequestType::Post,
            w.path(&w.other, "", &w.a.key),
            b"x".to_vec(),
            ResponseType::Forbidden,
        ),
        (
            "no such channel",
            RequestType::Post,
            w.path(&unknown.to_string(), "", &w.a.key),
            b"x".to_vec(),
            ResponseType::Forbidden,
        ),
        (
            "wrong path",
            RequestType::Post,
            format!("things/{ch}?auth={}", w.a.key),
            b"x".to_vec(),
            ResponseType::NotFound,
        ),
        (
            "no messages",
            RequestType::Post,
            format!("channels/{ch}?auth={}", w.a.key),
            b"x".to_vec(),
            ResponseType::NotFound,
        ),
        (
            "wrong method",
            RequestType::Put,
            w.path(&ch, "", &w.a.key),
            b"x".to_vec(),
            ResponseType::MethodNotAllowed,
        ),
        (
            "delete",
            RequestType::Delete,
            w.path(&ch, "", &w.a.key),
            vec![],
            ResponseType::MethodNotAllowed,
        ),
        (
            "malformed channel",
            RequestType::Post,
            w.path("a*b", "", &w.a.key),
            b"x".to_vec(),
            ResponseType::BadRequest,
        ),
        (
            "wildcard subtopic",
            RequestType::Post,
            w.path(&ch, "a/*", &w.a.key),
            b"x".to_vec(),
            ResponseType::BadRequest,
        ),
        (
            "GET without Observe",
            RequestType::Get,
            w.path(&ch, "", &w.a.key),
            vec![],
            ResponseType::BadRequest,
        ),
        (
            "too large",
            RequestType::Post,
            w.path(&ch, "", &w.a.key),
            vec![1; 65],
            ResponseType::RequestEntityTooLarge,
        ),
        (
            "largest",
            RequestType::Post,
            w.path(&ch, "", &w.a.key),
            vec![1; 64],
            ResponseType::Changed,
        ),
    ];
    let mut failures = Vec::new();
    for (case, method, path, payload, expected) in cases {
        let mut packet = request(MessageType::Confirmable, method, &path, client.mid(), &[3]);
        packet.payload = payload;
        let answer = client.call(&packet).await;
        if code(&answer) != response(expected) {
            failures.push(format!(
                "{case}: {:?}, expected {expected:?}",
                code(&answer)
            ));
        }
        if expected == ResponseType::RequestEntityTooLarge {
            assert_eq!(
                uint(&answer, CoapOption::Size1),
                Some(64),
                "4.13 says the limit"
            );
        }
    }
    // An unknown critical option is 4.02; a Content-Format nobody can name is 4.15.
    let mut packet = request(
        MessageType::Confirmable,
        RequestType::Post,
        &w.path(&ch, "", &w.a.key),
        client.mid(),
        &[],
    );
    packet.add_option(CoapOption::Unknown(2049), vec![1]);
    assert_eq!(
        code(&client.call(&packet).await),
        response(ResponseType::BadOption)
    );
    let mut packet = request(
        MessageType::Confirmable,
        RequestType::Post,
        &w.path(&ch, "", &w.a.key),
        client.mid(),
        &[],
    );
    packet.add_option(CoapOption::ContentFormat, vec![0x27, 0x0f]);
    assert_eq!(
        code(&client.call(&packet).await),
        response(ResponseType::UnsupportedContentFormat)
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(w.stats().refused >= 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_never_stops_the_loop_and_a_malformed_con_gets_a_reset() {
    let w = World::start().await;
    let mut client = w.client().await;
    // Not CoAP version 1, or non-confirmable and malformed: ignored, no answer.
    let garbage: [&[u8]; 7] = [
        b"",
        b"\x00",
        b"\x00GET / HTTP/1.1\r\n",
        &[0x50, 0x01, 0, 1, 0xff],
        &[0x58, 0x01, 0, 1],
        &[0x50, 0x02, 0, 1, 0xd0],
        &[0xff; 40],
    ];
    for datagram in garbage {
        client.send_raw(datagram).await;
    }
    client.nothing_more().await;
    // A confirmable message whose options do not parse: RST with its message id.
    client.send_raw(&[0x40, 0x02, 0x12, 0x34, 0xe0]).await;
    let reset = client.recv().await;
    assert_eq!(
        (reset.header.get_type(), reset.header.message_id),
        (MessageType::Reset, 0x1234)
    );
    // A CoAP ping: RST.
    client
        .send(&coap_support::empty(MessageType::Confirmable, 99))
        .await;
    assert_eq!(client.recv().await.header.get_type(), MessageType::Reset);
    assert_eq!(
        code(
            &client
                .post(&w.path(&w.ch, "", &w.a.key), b"still here")
                .await
        ),
        response(ResponseType::Changed)
    );
    assert!(w.stats().malformed >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block1_body_is_reassembled_and_published_once() {
    let w = World::start_with(|c| c.max_payload = 3000, |_| {}).await;
    let mut bus = w.bus().await;
    let mut client = w.client().await;
    let body: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
    let path = w.path(&w.ch, "big", &w.a.key);
    for (num, chunk) in body.chunks(1024).enumerate() {
        let more = (num + 1) * 1024 < body.len();
        let mut packet = request(
            MessageType::Confirmable,
            RequestType::Post,
            &path,
            client.mid(),
            &[num as u8],
        );
        packet.add_option(CoapOption::Block1, block_value(num as u32, more, 6));
        packet.payload = chunk.to_vec();
        let answer = client.call(&packet).await;
        let expected = if more {
            ResponseType::Continue
        } else {
            ResponseType::Changed
        };
        assert_eq!(code(&answer), response(expected), "block {num}");
        assert_eq!(
            block(&answer, CoapOption::Block1),
            Some((num as u32, more, 1024))
        );
    }
    let message = bus.next().await.expect("published");
    assert_eq!(&message.payload[..], &body[..]);
    assert_eq!(w.stats().publishes, 1);

    // A block out of sequence: 4.08. A body over the limit: 4.13 at the block that passes it.
    let mut packet = request(
        MessageType::Confirmable,
        RequestType::Post,
        &path,
        client.mid(),
        &[],
    );
    packet.add_option(CoapOption::Block1, block_value(1, true, 6));
    packet.payload = vec![0; 1024];
    assert_eq!(
        code(&client.call(&packet).await),
        MessageClass::Response(ResponseType::RequestEntityIncomplete)
    );
    for num in 0..3 {
        let mut packet = request(
            MessageType::Confirmable,
            RequestType::Post,
            &path,
            client.mid(),
            &[],
        );
        packet.add_option(CoapOption::Block1, block_value(num, true, 6));
        packet.payload = vec![0; 1024];
        let expected = if num < 2 {
            ResponseType::Continue
        } else {
            ResponseType::RequestEntityTooLarge
        };
        assert_eq!(
            code(&client.call(&packet).await),
            response(expected),
            "block {num}"
        );
    }
    // An unauthorized client is refused at the first block, before anything is buffered.
    let mut packet = request(
        MessageType::Confirmable,
        RequestType::Post,
        &w.path(&w.ch, "", &w.c.key),
        client.mid(),
        &[],
    );
    packet.add_option(CoapOption::Block1, block_value(0, true, 6));
    packet.payload = vec![0; 1024];
    assert_eq!(
        code(&client.call(&packet).await),
        response(ResponseType::Forbidden)
    );
}
