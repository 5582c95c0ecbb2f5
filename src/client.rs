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
