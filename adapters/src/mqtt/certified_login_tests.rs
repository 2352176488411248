//! The rewritten CONNECT is checked by decoding it with the codec the broker uses.

use bytes::BytesMut;
use proptest::prelude::*;
use rmqtt_codec::{v3, v5};
use tokio_util::codec::Decoder;
use uuid::Uuid;

use super::*;
use domain::ids::ThingId;

const THING: &str = "6f1c0e9e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";
const KEY: &str = "device-key";
const PINGREQ: [u8; 2] = [0xc0, 0x00];

fn login() -> CertifiedLogin {
    let device = DeviceCertificate {
        thing: ThingId(Uuid::parse_str(THING).unwrap()),
        key: KEY.into(),
    };
    CertifiedLogin::new(device, 64 * 1024)
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A CONNECT as a client would send it; `level` 4 (3.1.1) or 5.
fn connect(level: u8, will: bool, username: Option<&str>, password: Option<&str>) -> Vec<u8> {
    let mut flags = 0x02; // clean start
    let mut body = Vec::new();
    string(&mut body, b"MQTT");
    body.push(level);
    flags |= if will { WILL_FLAG | 0x08 } else { 0 }; // will at QoS 1
    flags |= if username.is_some() { USERNAME_FLAG } else { 0 };
    flags |= if password.is_some() { PASSWORD_FLAG } else { 0 };
    body.push(flags);
    body.extend_from_slice(&30u16.to_be_bytes());
    if level == MQTT_5 {
        body.extend_from_slice(&[5, 0x11, 0, 0, 0, 60]); // session expiry 60 s
    }
    string(&mut body, b"client-1");
    if will {
        if level == MQTT_5 {
            body.extend_from_slice(&[0]);
        }
        string(&mut body, b"channels/c/messages/will");
        string(&mut body, b"gone");
    }
    for field in [username, password].into_iter().flatten() {
        string(&mut body, field.as_bytes());
    }
    let mut packet = vec![CONNECT];
    put_remaining_length(&mut packet, body.len()).unwrap();
    packet.extend_from_slice(&body);
    packet
}

fn decode_v3(bytes: &[u8]) -> v3::Connect {
    match v3::Codec::new(1 << 20).decode(&mut BytesMut::from(bytes)) {
        Ok(Some((v3::Packet::Connect(connect), _))) => *connect,
        other => panic!("not a v3 CONNECT: {other:?}"),
    }
}

fn decode_v5(bytes: &[u8]) -> v5::Connect {
    match v5::Codec::new(1 << 20, 0).decode(&mut BytesMut::from(bytes)) {
        Ok(Some((v5::Packet::Connect(connect), _))) => *connect,
        other => panic!("not a v5 CONNECT: {other:?}"),
    }
}

#[test]
fn a_connect_without_credentials_gets_the_certificate_thing_and_key() {
    let out = login().feed(&connect(4, true, None, None)).unwrap();
    let connect = decode_v3(&out);
    assert_eq!(connect.username.as_deref(), Some(THING));
    assert_eq!(connect.password.as_deref(), Some(KEY.as_bytes()));
    assert_eq!(&*connect.client_id, "client-1");
    assert_eq!(connect.keep_alive, 30);
    let will = connect.last_will.expect("the will is kept");
    assert_eq!(&*will.topic, "channels/c/messages/will");
}

#[test]
fn an_mqtt_5_connect_keeps_its_properties() {
    let out = login().feed(&connect(5, true, None, None)).unwrap();
    let connect = decode_v5(&out);
    assert_eq!(connect.username.as_deref(), Some(THING));
    assert_eq!(connect.password.as_deref(), Some(KEY.as_bytes()));
    assert_eq!(connect.session_expiry_interval_secs, 60);
    assert!(connect.last_will.is_some());
}

#[test]
fn credentials_that_match_the_certificate_are_kept() {
    let sent = connect(4, false, Some(THING), Some(KEY));
    let out = login().feed(&sent).unwrap();
    assert_eq!(out, sent);
}

#[test]
fn another_key_behind_the_certificate_becomes_an_empty_password() {
    let out = login()
        .feed(&connect(5, false, Some(THING), Some("another-things-key")))
        .unwrap();
    let connect = decode_v5(&out);
    assert_eq!(connect.password.as_deref(), Some(&b""[..]));
}

#[test]
fn a_sent_username_is_kept_for_the_broker_to_judge() {
    let out = login()
        .feed(&connect(4, false, Some("someone-else"), None))
        .unwrap();
    let connect = decode_v3(&out);
    assert_eq!(connect.username.as_deref(), Some("someone-else"));
    assert_eq!(connect.password.as_deref(), Some(KEY.as_bytes()));
}

#[test]
fn bytes_are_held_until_the_connect_is_whole_and_what_follows_passes_unchanged() {
    let mut stream = connect(4, false, None, None);
    stream.extend_from_slice(&PINGREQ);
    let mut login = login();
    let (head, tail) = stream.split_at(7);
    assert_eq!(login.feed(&head[..1]), None);
    assert_eq!(login.feed(&head[1..]), None);
    let out = login.feed(tail).unwrap();
    assert!(out.ends_with(&PINGREQ));
    let connect = decode_v3(&out[..out.len() - PINGREQ.len()]);
    assert_eq!(connect.password.as_deref(), Some(KEY.as_bytes()));
}

#[test]
fn what_is_not_a_well_formed_connect_passes_unchanged() {
    assert_eq!(login().feed(&PINGREQ).unwrap(), PINGREQ);
    let mut truncated_inside = connect(4, false, None, None);
    truncated_inside[1] -= 2; // remaining length shorter than the fields
    truncated_inside.truncate(truncated_inside.len() - 2);
    assert_eq!(login().feed(&truncated_inside).unwrap(), truncated_inside);
    let bad_length = [CONNECT, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert_eq!(login().feed(&bad_length).unwrap(), bad_length);
}

#[test]
fn a_first_packet_over_the_limit_is_not_buffered() {
    let device = login().device;
    let mut login = CertifiedLogin::new(device, 16);
    let sent = connect(4, false, None, None);
    assert_eq!(login.feed(&sent).unwrap(), sent);
    let mut login = CertifiedLogin::new(login.device, 16);
    let announced = [CONNECT, 0xff, 0x7f]; // 16 K announced, 3 bytes in
    assert_eq!(login.feed(&announced).unwrap(), announced);
}

proptest! {
    #[test]
    fn any_bytes_split_anywhere_give_one_answer(bytes in prop::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
        let whole = login().feed(&bytes);
        let cut = cut.min(bytes.len());
        let mut split = login();
        let first = split.feed(&bytes[..cut]);
        let result = match first {
            Some(out) => Some(out.into_iter().chain(bytes[cut..].iter().copied()).collect()),
            None => split.feed(&bytes[cut..]),
        };
        prop_assert_eq!(whole, result);
    }
}
