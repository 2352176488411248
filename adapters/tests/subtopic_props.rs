//! Subtopics, filters and topics: tables of cases from the Mainflux reference (§2.1, §2.3)
//! and our tightenings, then properties over arbitrary input.

use adapters::message::{ContentType, Protocol};
use adapters::subtopic::{
    MAX_RAW_SUBTOPIC_LEN, MAX_SUBTOPIC_LEN, Subtopic, SubtopicFilter, TopicError, mqtt_topic,
    parse_channel, parse_publish_topic, parse_subscribe_topic, split_topic,
};
use domain::ids::ChannelId;
use proptest::prelude::*;
use uuid::Uuid;

const ID: &str = "6f1c0a52-8d3e-4b7a-9c01-2e5f6a7b8c9d";

fn id() -> ChannelId {
    parse_channel(ID).expect("canonical id")
}

fn publish(raw: &str) -> Result<Option<String>, TopicError> {
    Subtopic::parse(raw).map(|s| s.map(|s| s.as_str().to_owned()))
}

#[test]
fn publish_subtopics_normalize_as_mainflux() {
    let long_ok = "a".repeat(MAX_SUBTOPIC_LEN);
    let halves = "a/".repeat(MAX_SUBTOPIC_LEN / 2);
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("/", None),
        ("///./", None),
        ("a", Some("a")),
        ("/a", Some("a")),
        ("a///b", Some("a.b")),
        ("/a/b/c/", Some("a.b.c")),
        ("a.b", Some("a.b")),
        ("a..b/.c", Some("a.b.c")),
        ("a%2Fb", Some("a.b")),
        ("a%2fb", Some("a.b")),
        ("a%2Eb%2F%2F", Some("a.b")),
        ("%C3%A9t%C3%A9/%E2%82%AC", Some("été.€")),
        ("ü/ñ", Some("ü.ñ")),
        ("temp_1-x/Room:2", Some("temp_1-x.Room:2")),
        (&long_ok, Some(&long_ok)),
    ];
    for (raw, expected) in cases {
        assert_eq!(publish(raw), Ok(expected.map(str::to_owned)), "{raw:?}");
    }
    assert_eq!(
        publish(&halves).map(|s| s.map(|s| s.len())),
        Ok(Some(MAX_SUBTOPIC_LEN - 1))
    );
}

#[test]
fn bad_publish_subtopics_are_refused_precisely() {
    use TopicError::*;
    let too_long = "a".repeat(MAX_SUBTOPIC_LEN + 1);
    let too_long_raw = "/".repeat(MAX_RAW_SUBTOPIC_LEN + 1);
    let cases: &[(&str, TopicError)] = &[
        ("a*b", BadPart),
        ("a>", BadPart),
        ("*a/b", BadPart),
        ("a/%2Ab", BadPart),
        ("a+b", BadPart),
        ("a%23b", BadPart),
        ("%2525", BadPart),
        ("a b", BadPart),
        ("a%20b", BadPart),
        ("a\tb", BadPart),
        ("%00", BadPart),
        ("*", WildcardInPublish),
        (">", WildcardInPublish),
        ("a/*", WildcardInPublish),
        ("a.>", WildcardInPublish),
        ("+", WildcardInPublish),
        ("a/#", WildcardInPublish),
        ("%", BadEscape),
        ("a%2", BadEscape),
        ("%zz", BadEscape),
        ("a%g1", BadEscape),
        ("%FF", BadEscape),
        ("%C3", BadEscape),
        ("%E2/%82%AC", BadEscape),
        (&too_long, TooLong),
        (&too_long_raw, TooLong),
    ];
    for (raw, expected) in cases {
        assert_eq!(publish(raw), Err(expected.clone()), "{raw:?}");
    }
    assert_eq!(
        BadEscape.to_string(),
        "malformed subtopic: bad percent escape"
    );
}

#[test]
fn subscription_filters_match_like_mqtt_and_nats() {
    let subtopics = [
        None,
        Some("a"),
        Some("a.b"),
        Some("a.b.c"),
        Some("b"),
        Some("b.a"),
    ];
    let cases: &[(&str, [bool; 6])] = &[
        ("", [true, false, false, false, false, false]),
        ("#", [true; 6]),
        ("a", [false, true, false, false, false, false]),
        ("a/#", [false, true, true, true, false, false]),
        ("a//#", [false, true, true, true, false, false]),
        ("a/+", [false, false, true, false, false, false]),
        ("a/*", [false, false, true, false, false, false]),
        ("a.>", [false, false, true, true, false, false]),
        ("+", [false, true, false, false, true, false]),
        ("+/a", [false, false, false, false, false, true]),
        ("+/+/#", [false, false, true, true, false, true]),
        (">", [false, true, true, true, true, true]),
        ("a%2F%2B", [false, false, true, false, false, false]),
    ];
    for (raw, expected) in cases {
        let filter = SubtopicFilter::parse(raw).expect(raw);
        for (subtopic, want) in subtopics.iter().zip(expected) {
            let subtopic = subtopic.and_then(|s| Subtopic::parse(s).ok().flatten());
            assert_eq!(
                filter.matches(subtopic.as_ref()),
                *want,
                "{raw:?} vs {subtopic:?}"
            );
        }
    }
    assert_eq!(SubtopicFilter::parse("#"), Ok(SubtopicFilter::everything()));
    for (raw, error) in [
        ("#/a", TopicError::MisplacedWildcard),
        ("a/>/b", TopicError::MisplacedWildcard),
        ("a#", TopicError::BadPart),
        ("a+/b", TopicError::BadPart),
        ("x*", TopicError::BadPart),
        ("%zz", TopicError::BadEscape),
    ] {
        assert_eq!(SubtopicFilter::parse(raw), Err(error), "{raw:?}");
    }
}

#[test]
fn topics_split_into_channel_and_subtopic() {
    let ok: &[(String, &str)] = &[
        (format!("channels/{ID}/messages"), ""),
        (format!("/channels/{ID}/messages"), ""),
        (format!("channels/{ID}/messages/a/b"), "/a/b"),
        (format!("channels/{ID}/messages/a?ct=json"), "/a"),
        (format!("channels/{ID}/messages?x"), ""),
    ];
    for (topic, tail) in ok {
        assert_eq!(split_topic(topic), Ok((id(), *tail)), "{topic}");
    }
    let upper = ID.to_uppercase();
    let simple = ID.replace('-', "");
    let bad: &[(String, TopicError)] = &[
        (String::new(), TopicError::BadTopic),
        ("#".into(), TopicError::BadTopic),
        ("channels/#".into(), TopicError::BadTopic),
        (format!("channels/{ID}"), TopicError::BadTopic),
        (format!("channels/{ID}/"), TopicError::BadTopic),
        (format!("channels/{ID}/messagesX"), TopicError::BadTopic),
        (format!("channel/{ID}/messages"), TopicError::BadTopic),
        (
            format!("channels/{ID}/things/messages"),
            TopicError::BadTopic,
        ),
        ("channels/+/messages".into(), TopicError::BadChannel),
        ("channels//messages".into(), TopicError::BadChannel),
        ("channels/a.b/messages".into(), TopicError::BadChannel),
        ("channels/abc/messages".into(), TopicError::UnknownChannel),
        (
            format!("channels/{upper}/messages"),
            TopicError::UnknownChannel,
        ),
        (
            format!("channels/{simple}/messages"),
            TopicError::UnknownChannel,
        ),
    ];
    for (topic, error) in bad {
        assert_eq!(split_topic(topic), Err(error.clone()), "{topic}");
    }
}

#[test]
fn publish_and_subscribe_topics_differ_only_in_wildcards() {
    let wild = format!("channels/{ID}/messages/+/temp/#");
    assert_eq!(
        parse_publish_topic(&wild),
        Err(TopicError::WildcardInPublish)
    );
    let (channel, filter) = parse_subscribe_topic(&wild).expect("filter");
    assert_eq!(channel, id());
    assert!(filter.matches(Subtopic::parse("room1/temp/c").ok().flatten().as_ref()));
    let plain = format!("channels/{ID}/messages/room1//temp");
    let (channel, subtopic) = parse_publish_topic(&plain).expect("publish topic");
    assert_eq!(
        (channel, subtopic.as_ref().map(Subtopic::as_str)),
        (id(), Some("room1.temp"))
    );
    let topic = mqtt_topic(channel, subtopic.as_ref());
    assert_eq!(topic, format!("channels/{ID}/messages/room1/temp"));
    assert_eq!(mqtt_topic(channel, None), format!("channels/{ID}/messages"));
}

#[test]
fn messages_name_their_subject_protocol_and_content_type() {
    let mut message =
        adapters::bus::contract::message(id(), adapters::bus::contract::thing(), None, 0);
    assert_eq!(message.subject(), format!("channels.{ID}"));
    message.subtopic = Subtopic::parse("a/b").expect("valid");
    assert_eq!(message.subject(), format!("channels.{ID}.a.b"));
    let names = [
        (Protocol::Http, "http"),
        (Protocol::Mqtt, "mqtt"),
        (Protocol::Ws, "websocket"),
        (Protocol::Coap, "coap"),
    ];
    for (protocol, name) in names {
        assert_eq!(
            (protocol.as_str(), Protocol::from_name(name)),
            (name, Some(protocol))
        );
    }
    assert_eq!(
        ContentType::parse("Application/SenML+JSON; charset=utf-8"),
        Some(ContentType::SenmlJson)
    );
    assert_eq!(
        ContentType::parse("application/senml+cbor"),
        Some(ContentType::SenmlCbor)
    );
    assert_eq!(ContentType::parse("  "), None);
    assert_eq!(
        ContentType::parse(" text/plain ").map(|c| c.to_string()),
        Some("text/plain".into())
    );
}

/// The reference semantics of a filter, written the slow and obvious way.
fn model_matches(levels: &[&str], parts: &[&str]) -> bool {
    match (levels.split_first(), parts.split_first()) {
        (None, None) => true,
        (Some((&"#", _)), _) => true,
        (Some((&"+", rest)), Some((_, tail))) => model_matches(rest, tail),
        (Some((level, rest)), Some((part, tail))) => level == part && model_matches(rest, tail),
        _ => false,
    }
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["/", ".", "//", "%2F", "%2e", "/./"])
}

proptest! {
    #[test]
    fn parsers_never_panic(raw in any::<String>(), noisy in "[a-c/.%*>+#0-9A-Fa-f é\t]{0,40}") {
        for input in [&raw, &noisy] {
            let _ = Subtopic::parse(input);
            let _ = SubtopicFilter::parse(input);
            let _ = split_topic(input);
            let _ = parse_subscribe_topic(&format!("channels/{ID}/messages/{input}"));
            let _ = parse_publish_topic(&format!("channels/{ID}/messages/{input}"));
            let _ = parse_channel(input);
        }
    }

    #[test]
    fn normalizing_again_changes_nothing(
        raw in "([a-c0-9é_:-]|/|\\.|%2[Ff]|%2[Ee]|%C3%A9|%4[1-9]){0,20}",
    ) {
        if let Ok(Some(subtopic)) = Subtopic::parse(&raw) {
            let joined = subtopic.parts().collect::<Vec<_>>().join("/");
            prop_assert_eq!(Subtopic::parse(subtopic.as_str()), Ok(Some(subtopic.clone())));
            prop_assert_eq!(Subtopic::parse(&format!("/{joined}")), Ok(Some(subtopic.clone())));
            let exact = SubtopicFilter::parse(&raw).expect("a subtopic is a filter");
            prop_assert!(exact.matches(Some(&subtopic)));
            let topic = mqtt_topic(id(), Some(&subtopic));
            prop_assert_eq!(parse_publish_topic(&topic), Ok((id(), Some(subtopic))));
        }
    }

    #[test]
    fn any_separators_give_the_dotted_parts(
        parts in prop::collection::vec("[a-z0-9_é:-]{1,8}", 1..6),
        seps in prop::collection::vec(separator(), 7),
    ) {
        let mut raw = seps[6].to_owned();
        for (part, sep) in parts.iter().zip(&seps) {
            raw.push_str(part);
            raw.push_str(sep);
        }
        let parsed = Subtopic::parse(&raw).expect("valid").expect("non-empty");
        prop_assert_eq!(parsed.as_str(), parts.join("."));
    }

    #[test]
    fn filters_match_as_the_model_says(
        levels in prop::collection::vec(prop::sample::select(vec!["a", "b", "+"]), 0..4),
        hash in any::<bool>(),
        parts in prop::collection::vec(prop::sample::select(vec!["a", "b"]), 0..5),
    ) {
        let mut levels = levels;
        if hash {
            levels.push("#");
        }
        let filter = SubtopicFilter::parse(&levels.join("/")).expect("valid filter");
        let subtopic = Subtopic::parse(&parts.join("/")).expect("valid subtopic");
        prop_assert_eq!(filter.matches(subtopic.as_ref()), model_matches(&levels, &parts));
    }
}

#[test]
fn channel_ids_must_be_canonical_uuids() {
    let id = Uuid::new_v4();
    assert_eq!(parse_channel(&id.to_string()), Ok(ChannelId(id)));
    assert_eq!(parse_channel("x-y_z"), Err(TopicError::UnknownChannel));
    assert_eq!(parse_channel("x y"), Err(TopicError::BadChannel));
    assert_eq!(parse_channel(""), Err(TopicError::BadChannel));
}
