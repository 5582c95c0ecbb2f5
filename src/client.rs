//! Who is at the other end of a request: the client IP, trusted from proxy headers
//! only when the settings say the service runs behind a proxy.

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

/// The bucket a client address is counted in by rate limits: an IPv4 address on its
/// own, an IPv6 address by its /64 (one subscriber line or device gets a whole /64,
/// so single addresses would cost an attacker nothing); anything unparseable as is.
pub fn ip_bucket(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
        _ => ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::ip_bucket;

    #[test]
    fn ipv6_clients_share_their_64_and_ipv4_clients_are_counted_alone() {
        assert_eq!(ip_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(ip_bucket("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::/64");
        assert_ne!(ip_bucket("2001:db8:1:3::1"), ip_bucket("2001:db8:1:2::1"));
        assert_eq!(ip_bucket("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(ip_bucket("10.1.2.3"), "10.1.2.3");
        assert_eq!(ip_bucket("unknown"), "unknown");
    }
}
