//! An event's `data` as raw JSON text.
//!
//! Kept unparsed between the log and the projections, so a replay parses each event once,
//! straight into `Event`, instead of into a `Value` tree first (the main cost of a rebuild).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventData(Box<RawValue>);

impl EventData {
    /// Parses JSON text; `None` when it is not valid JSON.
    pub fn from_json(text: String) -> Option<Self> {
        RawValue::from_string(text).ok().map(Self)
    }

    pub fn from_value(value: &Value) -> Self {
        // Serializing a `Value` cannot fail.
        Self(serde_json::value::to_raw_value(value).expect("a Value serializes"))
    }

    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl fmt::Debug for EventData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}
