//! `FF_MQTT_MAX_KEEP_ALIVE`, `FF_MQTT_MAX_SESSION_EXPIRY`: how long the MQTT broker lets a
//! client go silent, and how long it keeps a session its client left.

use adapters::mqtt::{DEFAULT_MAX_KEEP_ALIVE, DEFAULT_MAX_SESSION_EXPIRY};
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct MqttTimers {
    /// Seconds of keep-alive an MQTT client may ask for; an MQTT 5 client asking for more
    /// is told this value in CONNACK (Server Keep Alive). 65535: no cap.
    #[arg(long, env = "FF_MQTT_MAX_KEEP_ALIVE", default_value_t = DEFAULT_MAX_KEEP_ALIVE)]
    pub mqtt_max_keep_alive: u16,
    /// Seconds an away MQTT session is kept at most: an MQTT 5 client's session expiry is
    /// capped to it, and an MQTT 3.1.1 persistent session lives this long.
    #[arg(long, env = "FF_MQTT_MAX_SESSION_EXPIRY", default_value_t = DEFAULT_MAX_SESSION_EXPIRY)]
    pub mqtt_max_session_expiry: u32,
}

impl Default for MqttTimers {
    fn default() -> Self {
        Self {
            mqtt_max_keep_alive: DEFAULT_MAX_KEEP_ALIVE,
            mqtt_max_session_expiry: DEFAULT_MAX_SESSION_EXPIRY,
        }
    }
}

impl MqttTimers {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.mqtt_max_keep_alive == 0 {
            anyhow::bail!("FF_MQTT_MAX_KEEP_ALIVE must be at least 1");
        }
        Ok(())
    }

    pub fn render(&self) -> Vec<String> {
        vec![
            format!("FF_MQTT_MAX_KEEP_ALIVE={}", self.mqtt_max_keep_alive),
            format!(
                "FF_MQTT_MAX_SESSION_EXPIRY={}",
                self.mqtt_max_session_expiry
            ),
        ]
    }
}
