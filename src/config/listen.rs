//! A listener's address, or `off`: `FF_HTTP_ADDR=off` and `FF_MQTT_ADDR=off` leave only the
//! TLS listeners facing clients.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    On(SocketAddr),
    Off,
}

impl ListenAddr {
    pub fn addr(self) -> Option<SocketAddr> {
        match self {
            Self::On(addr) => Some(addr),
            Self::Off => None,
        }
    }
}

impl From<SocketAddr> for ListenAddr {
    fn from(addr: SocketAddr) -> Self {
        Self::On(addr)
    }
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        text.parse()
            .map(Self::On)
            .map_err(|_| format!("{text:?} is neither host:port (e.g. 0.0.0.0:8080) nor off"))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::On(addr) => addr.fmt(f),
            Self::Off => f.write_str("off"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_or_off() {
        assert_eq!("off".parse(), Ok(ListenAddr::Off));
        assert_eq!("OFF".parse(), Ok(ListenAddr::Off));
        let on: ListenAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(on.to_string(), "127.0.0.1:80");
        assert!("127.0.0.1".parse::<ListenAddr>().is_err());
        assert!("".parse::<ListenAddr>().is_err());
    }
}
