//! Each rule on the packets that break it and on near misses that do not.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn connect_bodies() {
    let cases = [
        ("0004 4D515454 04 02 000A 0001 70", Ok(Level::Supported)),
        ("0006 4D5149736470 03 02 000A 0001 70", Ok(Level::Supported)),
        ("0004 4D515454 05 02 000A 00 0001 70", Ok(Level::Supported)),
        (
            "0004 4D515454 04 C2 000A 0001 70 0001 75 0001 70",
            Ok(Level::Supported),
        ),
        ("0004 4D515454 02 02 000A 0001 70", Ok(Level::Unacceptable)),
        ("0004 4D515454 03 02 000A 0001 70", Ok(Level::Unacceptable)),
        ("0004 4D515455 04 02 000A 0001 70", Err(())),
        // A user name the flags do not announce.
        ("0004 4D515454 04 02 000A 0001 70 0001 70", Err(())),
        // A password without a user name (allowed in v5 only).
        ("0004 4D515454 04 42 000A 0001 70 0001 70", Err(())),
        (
            "0004 4D515454 05 42 000A 00 0001 70 0001 70",
            Ok(Level::Supported),
        ),
        // Missing client id.
        ("0004 4D515454 04 02 000A", Err(())),
    ];
    for (body, expected) in cases {
        assert_eq!(connect(&hex(body)).map_err(|_| ()), expected, "{body}");
    }
}

#[test]
fn packets_the_codec_would_take() {
    use Verdict::{Decode, ProtocolError};
    let cases = [
        (0x38, "0001 70", false, Err(()), "QoS 0 with DUP"),
        (0x3A, "0001 70 0001", false, Ok(Decode), "QoS 1 with DUP"),
        (0xC0, "00", false, Err(()), "PINGREQ with a body"),
        (0xC0, "", true, Ok(Decode), "PINGREQ"),
        (0xE0, "00", false, Err(()), "v3 DISCONNECT with a body"),
        (0xE0, "00", true, Ok(Decode), "v5 DISCONNECT with a reason"),
        (0x82, "1234 0001 70 01", false, Ok(Decode), "SUBSCRIBE"),
        (
            0x82,
            "1234 0001 70 01 0001 71 04",
            false,
            Err(()),
            "reserved option bits",
        ),
        (
            0x20,
            "0000",
            true,
            Ok(ProtocolError),
            "CONNACK from a client",
        ),
        (0xF1, "", true, Ok(ProtocolError), "AUTH with flags"),
        (
            0x40,
            "0000",
            true,
            Ok(ProtocolError),
            "PUBACK of packet id 0",
        ),
        (
            0x32,
            "0001 70 0000 00",
            true,
            Ok(ProtocolError),
            "PUBLISH with packet id 0",
        ),
        (
            0x30,
            "0001 70 03 23 0001",
            true,
            Ok(Decode),
            "PUBLISH with a topic alias",
        ),
        (
            0x30,
            "0001 70 02 0B 01",
            true,
            Ok(ProtocolError),
            "PUBLISH with a subscription id",
        ),
        (
            0x40,
            "0001 00 03 11 0000",
            true,
            Ok(Decode),
            "a short property list: the codec's",
        ),
        (
            0x40,
            "0001 00 05 11 00000000",
            true,
            Ok(ProtocolError),
            "PUBACK with a session expiry",
        ),
        (
            0x40,
            "0001 00 05 1F 0001 78",
            true,
            Ok(Decode),
            "PUBACK with a reason string",
        ),
        (
            0xA2,
            "0001 02 0B 01 0001 70",
            true,
            Ok(Decode),
            "UNSUBSCRIBE, a property: the codec's",
        ),
        (
            0x82,
            "0001 04 0B 01 0B 01 0001 70 00",
            true,
            Ok(ProtocolError),
            "two subscription ids",
        ),
        (
            0x40,
            "0001 00 04 23 0001 70",
            true,
            Ok(Decode),
            "an unknown property: malformed",
        ),
        (
            0x30,
            "0001 70 02 01 02",
            true,
            Ok(ProtocolError),
            "payload format 2",
        ),
        (
            0x40,
            "0001 00 0A 26 0000 0000 26 0000 0000",
            true,
            Ok(Decode),
            "user properties",
        ),
        (0x91, "0001 00", true, Err(()), "SUBACK with flags"),
        (
            0x40,
            "0001 10",
            true,
            Ok(Decode),
            "PUBACK: no matching subscribers",
        ),
        (
            0x40,
            "0001 92",
            true,
            Ok(ProtocolError),
            "PUBACK: a PUBCOMP reason",
        ),
        (
            0x70,
            "0001 92",
            true,
            Ok(Decode),
            "PUBCOMP: packet id not found",
        ),
        (
            0x70,
            "0001 20",
            true,
            Ok(ProtocolError),
            "PUBCOMP: an unknown reason",
        ),
    ];
    for (first, body, v5, expected, what) in cases {
        assert_eq!(
            packet(first, &hex(body), v5).map_err(|_| ()),
            expected,
            "{what}"
        );
    }
}

#[test]
fn strings() {
    for good in [
        "channels/a/messages/t",
        "",
        "A\u{2A6D4}",
        "caf\u{E9}",
        "\u{A0}",
    ] {
        assert!(string(good).is_ok(), "{good:?}");
    }
    for bad in [
        "to\0", "t\u{1}", "t\u{1F}", "t\u{7F}", "t\u{9F}", "\u{FFFF}", "\u{FDD0}",
    ] {
        assert!(string(bad).is_err(), "{bad:?}");
    }
}
