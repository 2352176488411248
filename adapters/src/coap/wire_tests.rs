//! The wire format against coap-lite, an independent implementation: what one reads the
//! other reads the same, and what we write coap-lite reads back.

use coap_lite::{MessageType, Packet};
use proptest::prelude::*;

use super::wire::{Encoder, Kind, Token, parse};

fn kind_of(kind: MessageType) -> Kind {
    match kind {
        MessageType::Confirmable => Kind::Con,
        MessageType::NonConfirmable => Kind::Non,
        MessageType::Acknowledgement => Kind::Ack,
        MessageType::Reset => Kind::Rst,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes: never a panic; whatever we accept, coap-lite reads identically.
    #[test]
    fn arbitrary_bytes_read_as_coap_lite_reads_them(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(ours) = parse(&bytes) {
            let theirs = Packet::from_bytes(&bytes);
            prop_assert!(theirs.is_ok(), "we accept what coap-lite refuses: {bytes:?}");
            let theirs = theirs.unwrap();
            prop_assert_eq!(ours.kind, kind_of(theirs.header.get_type()));
            prop_assert_eq!(ours.mid, theirs.header.message_id);
            prop_assert_eq!(ours.token.as_bytes(), theirs.get_token());
            prop_assert_eq!(ours.payload, &theirs.payload[..]);
            let mut theirs_options = Vec::new();
            for (number, values) in theirs.options() {
                for value in values {
                    theirs_options.push((*number, value.clone()));
                }
            }
            let ours_options: Vec<(u16, Vec<u8>)> = ours.options().map(|(n, v)| (n, v.to_vec())).collect();
            prop_assert_eq!(ours_options, theirs_options);
        }
    }

    /// What we write, coap-lite reads back exactly.
    #[test]
    fn what_we_write_coap_lite_reads(
        token in proptest::collection::vec(any::<u8>(), 0..=8),
        mid in any::<u16>(),
        code in any::<u8>(),
        mut options in proptest::collection::vec((0u16..2000, proptest::collection::vec(any::<u8>(), 0..300)), 0..6),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        options.sort_by_key(|(number, _)| *number);
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, Kind::Non, code, mid, Token::new(&token).unwrap());
        for (number, value) in &options {
            encoder = encoder.option(*number, value);
        }
        encoder.payload(&payload);
        let theirs = Packet::from_bytes(&out).expect("coap-lite reads it");
        prop_assert_eq!(theirs.header.message_id, mid);
        prop_assert_eq!(theirs.get_token(), &token[..]);
        prop_assert_eq!(&theirs.payload, &payload);
        let count: usize = theirs.options().map(|(_, values)| values.len()).sum();
        prop_assert_eq!(count, options.len());
        prop_assert_eq!(parse(&out).map(|d| d.options().count()).ok(), Some(options.len()));
    }
}
