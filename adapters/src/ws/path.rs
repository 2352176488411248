//! The WebSocket path: `[/ws]/channels/{id}/messages[/{subtopic…}]`, read once at the
//! handshake into what the socket subscribes to and where its frames are published.
//!
//! The subtopic is normalized as every adapter does (`subtopic`), with the wildcards of a
//! subscription allowed: `*` one level and `>` one or more (Mainflux's NATS subjects), and
//! MQTT's `+` and `#` (`%23` in a URL) alike. A path without a subtopic receives only
//! messages published without one, as Mainflux's `channel.<id>` subject did.
//!
//! A frame is published to the path's subtopic, which must therefore be concrete. On a
//! wildcard socket there is no such subtopic: publishing to the bare channel instead would
//! put the message where the client did not say, so a frame there is refused (the socket is
//! closed with 1008) and the socket is for receiving only.

use domain::ids::ChannelId;

use crate::subtopic::{Subtopic, SubtopicFilter, TopicError, split_topic};

/// Where Mainflux 0.10 served its WebSocket adapter; `/channels/…` works without it.
pub const PREFIX: &str = "/ws";

/// What a WebSocket path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsPath {
    pub channel: ChannelId,
    /// What the socket receives.
    pub filter: SubtopicFilter,
    /// Where its frames go: `Ok(None)` the channel itself, `Err` nowhere (a wildcard path).
    pub publish_to: Result<Option<Subtopic>, WildcardPath>,
}

/// The path holds a wildcard, so a frame has no concrete subtopic to go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WildcardPath;

/// Reads the raw (still percent-encoded) request path, with or without the `/ws` prefix; a
/// query is not part of it. `UnknownChannel` is a well-formed id no channel can have: the
/// handshake answers it like a channel the thing may not use.
pub fn parse(raw: &str) -> Result<WsPath, TopicError> {
    let topic = match raw.strip_prefix(PREFIX) {
        Some(rest) if rest.starts_with('/') => rest,
        _ => raw,
    };
    if !topic.starts_with('/') || topic.contains('?') {
        return Err(TopicError::BadTopic);
    }
    let (channel, tail) = split_topic(topic)?;
    let filter = SubtopicFilter::parse(tail)?;
    let publish_to = match Subtopic::parse(tail) {
        Ok(subtopic) => Ok(subtopic),
        Err(TopicError::WildcardInPublish) => Err(WildcardPath),
        Err(other) => return Err(other),
    };
    Ok(WsPath {
        channel,
        filter,
        publish_to,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CH: &str = "3f1c6b1e-8a63-4a43-9d43-36b0c9d8e7a1";

    fn subtopic(text: &str) -> Option<Subtopic> {
        Subtopic::parse(text).unwrap()
    }

    #[test]
    fn both_prefixes_name_the_same_channel_and_subtopic() {
        for prefix in ["", "/ws"] {
            let path = parse(&format!("{prefix}/channels/{CH}/messages/lab/bench")).unwrap();
            assert_eq!(path.channel.0.to_string(), CH);
            assert_eq!(path.publish_to, Ok(subtopic("lab.bench")));
            assert!(path.filter.matches(subtopic("lab.bench").as_ref()));
            assert!(!path.filter.matches(subtopic("lab").as_ref()));
            assert!(!path.filter.matches(None));
        }
    }

    #[test]
    fn no_subtopic_publishes_to_the_channel_and_receives_only_that() {
        for tail in ["", "/", "//"] {
            let path = parse(&format!("/channels/{CH}/messages{tail}")).unwrap();
            assert_eq!(path.publish_to, Ok(None));
            assert!(path.filter.matches(None));
            assert!(!path.filter.matches(subtopic("a").as_ref()));
        }
    }

    #[test]
    fn wildcards_subscribe_and_cannot_publish() {
        let cases = [
            // (tail, matches, does not match)
            ("/*", "a", "a.b"),
            ("/lab/>", "lab.a.b", "lab"),
            ("/lab/*/temp", "lab.bench.temp", "lab.temp"),
            ("/%23", "a.b", "-"),
            ("/+", "x", "x.y"),
        ];
        for (tail, yes, no) in cases {
            let path = parse(&format!("/ws/channels/{CH}/messages{tail}")).unwrap();
            assert_eq!(path.publish_to, Err(WildcardPath), "{tail}");
            assert!(
                path.filter.matches(subtopic(yes).as_ref()),
                "{tail} ~ {yes}"
            );
            if no != "-" {
                assert!(
                    !path.filter.matches(subtopic(no).as_ref()),
                    "{tail} !~ {no}"
                );
            }
        }
        assert!(
            parse(&format!("/channels/{CH}/messages/%23"))
                .unwrap()
                .filter
                .matches(None)
        );
    }

    #[test]
    fn malformed_paths_are_refused_with_their_reason() {
        let cases = [
            (format!("/channels/{CH}"), TopicError::BadTopic),
            (format!("/channels/{CH}/things"), TopicError::BadTopic),
            (format!("/channels/{CH}/messagesx"), TopicError::BadTopic),
            (format!("channels/{CH}/messages"), TopicError::BadTopic),
            (format!("/wsx/channels/{CH}/messages"), TopicError::BadTopic),
            ("/ws".to_owned(), TopicError::BadTopic),
            ("/channels/a b/messages".to_owned(), TopicError::BadChannel),
            ("/channels//messages".to_owned(), TopicError::BadChannel),
            (
                "/channels/not-a-uuid/messages".to_owned(),
                TopicError::UnknownChannel,
            ),
            (format!("/channels/{CH}/messages/a*"), TopicError::BadPart),
            (
                format!("/channels/{CH}/messages/>/a"),
                TopicError::MisplacedWildcard,
            ),
            (
                format!("/channels/{CH}/messages/%zz"),
                TopicError::BadEscape,
            ),
            (
                format!("/channels/{CH}/messages/a%20b"),
                TopicError::BadPart,
            ),
        ];
        for (raw, why) in cases {
            assert_eq!(parse(&raw).map(drop), Err(why), "{raw}");
        }
        let long = format!("/channels/{CH}/messages/{}", "a".repeat(5000));
        assert_eq!(parse(&long).map(drop), Err(TopicError::TooLong));
    }

    proptest! {
        #[test]
        fn never_panics(raw in "\\PC{0,120}") {
            let _ = parse(&raw);
        }

        #[test]
        fn never_panics_on_path_like_input(
            prefix in prop::sample::select(vec!["", "/ws", "/ws/", "ws"]),
            id in prop::sample::select(vec![CH, "x", "", "3F1C6B1E-8A63-4A43-9D43-36B0C9D8E7A1"]),
            tail in "[a-z/.*>+#%0-9A-F ]{0,40}",
        ) {
            let _ = parse(&format!("{prefix}/channels/{id}/messages{tail}"));
        }

        /// Whatever is accepted is consistent: a concrete publish subtopic is matched by the
        /// socket's own filter, and a wildcard appears only where publishing is refused.
        #[test]
        fn an_accepted_path_receives_what_it_publishes(tail in "(/[a-z*>]{1,3}){0,4}/?") {
            let raw = format!("/channels/{CH}/messages{tail}");
            if let Ok(path) = parse(&raw) {
                match &path.publish_to {
                    Ok(subtopic) => prop_assert!(path.filter.matches(subtopic.as_ref())),
                    Err(WildcardPath) => prop_assert!(tail.contains('*') || tail.contains('>')),
                }
            }
        }

        /// Refuses what it must: wildcards mixed into a word, whitespace, a second query.
        #[test]
        fn refuses_wildcards_inside_words(word in "[a-z]{1,5}", wild in "[*>+]") {
            let raw = format!("/channels/{CH}/messages/{word}{wild}");
            prop_assert_eq!(parse(&raw).map(drop), Err(TopicError::BadPart));
        }
    }
}
