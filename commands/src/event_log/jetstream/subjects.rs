//! Where events live in JetStream: one subject per aggregate stream, one JetStream stream for
//! all of them (its sequence is our global position), and a second one for the command index.
//!
//! `thing-<uuid>` is stored on `<prefix>.events.thing.<uuid>`, so a third party can follow
//! one kind of aggregate with `<prefix>.events.thing.>`.

use domain::ports::event_log::LogError;

/// Names of one log's JetStream streams and subjects; a test uses a random prefix for each.
#[derive(Debug, Clone)]
pub struct Names {
    /// Subject prefix, e.g. `ff`.
    pub prefix: String,
    /// The events stream, e.g. `FF_EVENTS`.
    pub events: String,
    /// The command index, e.g. `FF_COMMANDS`.
    pub commands: String,
    /// Settings the nodes of one cluster agree on, e.g. `FF_SETTINGS`.
    pub settings: String,
}

impl Names {
    /// Names derived from one token: `ff` → subjects `ff.…`, streams `FF_EVENTS`, `FF_COMMANDS`.
    pub fn new(prefix: &str) -> Result<Self, LogError> {
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(LogError::Invalid(format!(
                "JetStream prefix {prefix:?}: use letters, digits and _"
            )));
        }
        let upper = prefix.to_ascii_uppercase();
        Ok(Self {
            prefix: prefix.to_owned(),
            events: format!("{upper}_EVENTS"),
            commands: format!("{upper}_COMMANDS"),
            settings: format!("{upper}_SETTINGS"),
        })
    }

    /// Every event subject (the events stream's filter).
    pub fn all_events(&self) -> String {
        format!("{}.events.>", self.prefix)
    }

    pub fn all_commands(&self) -> String {
        format!("{}.commands.*", self.prefix)
    }

    /// Settings every node of a cluster must agree on, in a stream of their own (the command
    /// index's last entry is its checkpoint, so nothing else may be stored there).
    pub fn all_settings(&self) -> String {
        format!("{}.settings.*", self.prefix)
    }

    pub fn setting(&self, name: &str) -> String {
        format!("{}.settings.{name}", self.prefix)
    }

    /// The subject of one aggregate stream, or why the stream name cannot be one.
    pub fn subject(&self, stream: &str) -> Result<String, LogError> {
        let (aggregate, id) = stream
            .split_once('-')
            .ok_or_else(|| invalid(stream, "it has no '-' between aggregate and id"))?;
        for (part, what) in [(aggregate, "aggregate"), (id, "id")] {
            if part.is_empty() {
                return Err(invalid(stream, &format!("its {what} is empty")));
            }
            if !part.bytes().all(token_byte) {
                return Err(invalid(
                    stream,
                    &format!("its {what} has a character NATS subjects cannot carry"),
                ));
            }
        }
        Ok(format!("{}.events.{aggregate}.{id}", self.prefix))
    }

    /// The stream name a subject of this log stands for.
    pub fn stream_of(&self, subject: &str) -> Result<String, LogError> {
        subject
            .strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix(".events."))
            .and_then(|rest| rest.split_once('.'))
            .map(|(aggregate, id)| format!("{aggregate}-{id}"))
            .ok_or_else(|| LogError::Corrupt(format!("event on unexpected subject {subject}")))
    }

    pub fn command(&self, command_id: uuid::Uuid) -> String {
        format!("{}.commands.{}", self.prefix, command_id.simple())
    }
}

/// Bytes a subject token may hold: no separators, wildcards, whitespace or controls.
fn token_byte(byte: u8) -> bool {
    byte.is_ascii_graphic() && !matches!(byte, b'.' | b'*' | b'>')
}

fn invalid(stream: &str, why: &str) -> LogError {
    LogError::Invalid(format!("stream name {stream:?} cannot be a subject: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_map_to_subjects_and_back() {
        let names = Names::new("ff").expect("names");
        let subject = names.subject("thing-0b4e-7").expect("subject");
        assert_eq!(subject, "ff.events.thing.0b4e-7");
        assert_eq!(names.stream_of(&subject), Ok("thing-0b4e-7".to_owned()));
        assert_eq!(
            (names.events.as_str(), names.commands.as_str()),
            ("FF_EVENTS", "FF_COMMANDS")
        );
    }

    #[test]
    fn names_no_subject_can_carry_are_invalid() {
        let names = Names::new("ff").expect("names");
        for bad in [
            "",
            "thing",
            "thing-",
            "-1",
            "thing-a.b",
            "thing-*",
            "thing->",
            "thing-a b",
            "t\u{e9}-1",
        ] {
            assert!(
                matches!(names.subject(bad), Err(LogError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(Names::new("a.b").is_err());
        assert!(Names::new("").is_err());
    }
}
