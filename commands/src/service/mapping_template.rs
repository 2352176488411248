//! What `POST /mapping` makes for one device: the operator's template (`FF_PROVISION_TEMPLATE`,
//! a JSON file), by default Mainflux's provision layout: one thing, a `control` and a `data`
//! channel, the thing connected to both, and an active bootstrap config on both.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most things plus channels one mapping may make: every event goes into one atomic
/// append, which the JetStream log caps at 1,000 events.
pub const MAX_TEMPLATE_ENTITIES: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingTemplate {
    /// Things to make; the request's `name`, when given, names them.
    pub things: Vec<TemplateEntity>,
    /// Channels to make; every thing is connected to every one.
    pub channels: Vec<TemplateEntity>,
    /// The bootstrap config, made for the first thing.
    #[serde(default)]
    pub bootstrap: TemplateBootstrap,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateEntity {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBootstrap {
    /// The config's `content`, handed to the device on its fetch.
    #[serde(default)]
    pub content: Option<String>,
    /// Activate the config at once (Mainflux's `autowhite_list`), so the device may publish
    /// as soon as it has fetched its config.
    #[serde(default = "yes")]
    pub whitelist: bool,
}

fn yes() -> bool {
    true
}

impl Default for TemplateBootstrap {
    fn default() -> Self {
        Self {
            content: None,
            whitelist: true,
        }
    }
}

impl Default for MappingTemplate {
    fn default() -> Self {
        let typed = |kind: &str| TemplateEntity {
            name: Some(format!("{kind}-channel")),
            metadata: Map::from_iter([("type".to_owned(), Value::from(kind))]),
        };
        Self {
            things: vec![TemplateEntity {
                name: Some("thing".into()),
                metadata: Map::new(),
            }],
            channels: vec![typed("control"), typed("data")],
            bootstrap: TemplateBootstrap::default(),
        }
    }
}

impl MappingTemplate {
    /// Reads a template file; a bad one is refused at start, not on the first request.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let template: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        template.check()?;
        Ok(template)
    }

    pub fn check(&self) -> Result<(), String> {
        if self.things.is_empty() {
            return Err("a provisioning template needs at least one thing".into());
        }
        let entities = self.things.len() + self.channels.len();
        if entities > MAX_TEMPLATE_ENTITIES {
            return Err(format!(
                "a provisioning template makes at most {MAX_TEMPLATE_ENTITIES} things and channels, not {entities}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_mainflux_layout() {
        let template = MappingTemplate::default();
        assert_eq!(template.things.len(), 1);
        let kinds: Vec<_> = template
            .channels
            .iter()
            .map(|c| c.metadata["type"].clone())
            .collect();
        assert_eq!(kinds, vec![Value::from("control"), Value::from("data")]);
        assert!(template.bootstrap.whitelist);
        let text = serde_json::to_string(&template).expect("serializes");
        assert_eq!(MappingTemplate::from_json(&text), Ok(template));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(MappingTemplate::from_json(r#"{"things":[],"channels":[]}"#).is_err());
        assert!(MappingTemplate::from_json(r#"{"things":[{}],"channels":[],"x":1}"#).is_err());
        let many = format!(
            r#"{{"things":[{}],"channels":[]}}"#,
            vec!["{}"; 101].join(",")
        );
        assert!(MappingTemplate::from_json(&many).is_err());
        let one = MappingTemplate::from_json(r#"{"things":[{}],"channels":[]}"#).expect("ok");
        assert!(one.bootstrap.whitelist);
    }
}
