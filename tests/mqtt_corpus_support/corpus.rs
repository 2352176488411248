//! Mosquitto's packet corpus as data: each JSON file holds groups of cases, each case a
//! list of bytes to send, bytes to expect and helper publishes. Read at test time from the
//! shared folder; nothing of it is kept in the project.

use std::path::Path;

use serde_json::Value;

/// One step of a case, as the corpus states it (topics and credentials not yet mapped).
pub enum Step {
    Send(Vec<u8>),
    Recv(Vec<u8>),
    /// Another client publishes `payload` on `topic` with `qos` (Mosquitto's "helper").
    Publish {
        topic: String,
        qos: u8,
        payload: Vec<u8>,
    },
}

pub struct Case {
    pub file: String,
    pub group: String,
    pub name: String,
    /// The protocol level of the default CONNECT ("ver", 4 when absent).
    pub version: u8,
    /// Whether the runner connects first ("connect", true when absent).
    pub default_connect: bool,
    /// Whether the broker must have closed the connection at the end ("expect_disconnect",
    /// true when absent); otherwise it must still answer a PINGREQ.
    pub expect_disconnect: bool,
    pub steps: Vec<Step>,
}

/// Which protocol a case is about, from its group's name ("v3.1.1 PUBLISH", "v5.0 PUBLISH
/// ALLOWED PROPERTIES", "REGRESSIONS" are 3.1.1 cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V311,
    V5,
    V31,
    /// "BROKER CHECK": the broker still answers at the end.
    Check,
}

impl Case {
    pub fn family(&self) -> Family {
        match &self.group {
            g if g.starts_with("v3.1.1") || g == "REGRESSIONS" => Family::V311,
            g if g.starts_with("v5.0") => Family::V5,
            g if g.starts_with("v3.1") => Family::V31,
            _ => Family::Check,
        }
    }

    /// The name Mosquitto prints for the case, with the file it comes from.
    pub fn title(&self) -> String {
        format!("{} {}", self.group, self.name)
    }
}

/// Every enabled case of `data/*.json` in Mosquitto's order (files sorted by name).
/// A malformed file is a broken corpus: the test fails and names it.
pub fn load(data: &Path) -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("corpus file reads");
        let groups: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for group in groups.as_array().expect("a list of groups") {
            if group["disable"].as_bool() == Some(true) {
                println!("mqtt corpus: group {} is disabled upstream", group["group"]);
                continue;
            }
            for case in group["tests"].as_array().expect("tests") {
                cases.push(read_case(
                    &file,
                    group["group"].as_str().unwrap_or(""),
                    case,
                ));
            }
        }
    }
    cases
}

fn read_case(file: &str, group: &str, case: &Value) -> Case {
    let steps = case["msgs"]
        .as_array()
        .expect("msgs")
        .iter()
        .map(|m| match m["type"].as_str() {
            Some("send") => Step::Send(hex(&m["payload"])),
            Some("recv") => Step::Recv(hex(&m["payload"])),
            Some("publish") => Step::Publish {
                topic: m["topic"].as_str().expect("topic").to_owned(),
                qos: m["qos"].as_u64().expect("qos") as u8,
                payload: m["payload"].as_str().expect("payload").as_bytes().to_vec(),
            },
            other => panic!("unknown step type {other:?} in {file}"),
        })
        .collect();
    Case {
        file: file.to_owned(),
        group: group.split_whitespace().collect::<Vec<_>>().join(" "),
        name: case["name"].as_str().unwrap_or("").trim().to_owned(),
        version: case["ver"].as_u64().unwrap_or(4) as u8,
        default_connect: case["connect"].as_bool().unwrap_or(true),
        expect_disconnect: case["expect_disconnect"].as_bool().unwrap_or(true),
        steps,
    }
}

/// "10 0D 0004 4D51..." as bytes (spaces ignored).
fn hex(value: &Value) -> Vec<u8> {
    let digits: Vec<u8> = value
        .as_str()
        .expect("hex payload")
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let nibble = |d: u8| (d as char).to_digit(16).expect("hex digit") as u8;
    digits
        .chunks(2)
        .map(|pair| nibble(pair[0]) << 4 | nibble(pair[1]))
        .collect()
}
