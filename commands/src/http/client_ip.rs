//! The address a request came from, for login backoff. Behind a reverse proxy every
//! request comes from the proxy, so one guesser would make every user wait: for peers
//! listed in `FF_TRUSTED_PROXIES` the client is read from `X-Forwarded-For`, from the right,
//! skipping the proxies' own entries. From anyone else the header is ignored, so a client
//! cannot choose its address by sending it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;

/// Networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// `10.0.0.1,10.1.0.0/16,::1`: addresses or networks, comma-separated.
    pub fn parse(list: &str) -> Result<Self, String> {
        let parse_one = |item: &str| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not an address or a network (10.0.0.0/8)"))
        };
        let items = list.split(',').map(str::trim).filter(|i| !i.is_empty());
        items.map(parse_one).collect::<Result<_, _>>().map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: the rightmost address in `forwarded` that is not a trusted
    /// proxy, when `peer` is one; otherwise `peer` itself.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = forwarded.iter().flat_map(|v| v.split(',')).map(str::trim);
        for hop in hops.rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusts(ip) => client = ip,
                Ok(ip) => return ip,
                Err(_) => return client,
            }
        }
        client
    }
}

/// The client's address; absent when a router is called without a listener (tests).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp(None));
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let proxies = &state.settings().trusted_proxies;
        Ok(ClientIp(Some(proxies.client(peer.ip(), &forwarded))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_client_is_read_through_trusted_proxies_only() {
        let proxies = TrustedProxies::parse("10.0.0.1, 10.1.0.0/16 ,::1").unwrap();
        let cases: [(&str, &[&str], &str); 7] = [
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            ("10.0.0.1", &[], "10.0.0.1"),
            ("10.0.0.1", &["198.51.100.1"], "198.51.100.1"),
            (
                "10.0.0.1",
                &["6.6.6.6, 198.51.100.1, 10.1.2.3"],
                "198.51.100.1",
            ),
            ("10.0.0.1", &["6.6.6.6", "198.51.100.1"], "198.51.100.1"),
            ("10.0.0.1", &["junk, 10.1.2.3"], "10.1.2.3"),
            ("::1", &["2001:db8::7"], "2001:db8::7"),
        ];
        for (peer, forwarded, expected) in cases {
            assert_eq!(
                proxies.client(ip(peer), forwarded),
                ip(expected),
                "{peer} {forwarded:?}"
            );
        }
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &["1.2.3.4"]),
            ip("10.0.0.1")
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert_eq!(
            TrustedProxies::parse(" ").unwrap(),
            TrustedProxies::default()
        );
    }
}
