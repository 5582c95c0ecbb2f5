//! Who is at the other end of a request: the client IP, trusted from proxy headers
//! only when the settings say the service runs behind a proxy, and the bucket that
//! per-client limits count it in.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;

/// The client's IP address as text (no port), or `unknown`.
pub fn client_ip(req: &HttpRequest, trust_proxy_headers: bool) -> String {
    let info = req.connection_info();
    let raw = if trust_proxy_headers {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    let raw = raw.unwrap_or("unknown");
    match raw.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => raw.trim_matches(|c| c == '[' || c == ']').to_owned(),
    }
}

/// The bucket an address is counted in by per-client limits: an IPv4 address (also
/// IPv4-mapped IPv6) as it is, an IPv6 address by its /64 (`2001:db8:1:2::/64`), since
/// one subscriber commonly holds a whole /64. Anything else is returned unchanged.
pub fn ip_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        Err(_) => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_bucketed_by_their_64_and_ipv4_by_address() {
        assert_eq!(ip_bucket("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(ip_bucket("2001:db8:1:2:ffff:ee:dd:cc"), "2001:db8:1:2::/64");
        assert_eq!(ip_bucket("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(ip_bucket("::1"), "::/64");
        assert_eq!(ip_bucket("203.0.113.7"), "203.0.113.7");
        assert_eq!(ip_bucket("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(ip_bucket("unknown"), "unknown");
    }
}
