//! Which proxy a cluster connection goes through, decided as kubectl
//! (client-go with Go's `httpproxy`) decides it: the cluster's `proxy-url`
//! always; else `HTTPS_PROXY`/`https_proxy` for an https server
//! (`HTTP_PROXY`/`http_proxy` for http), unless `NO_PROXY`/`no_proxy`
//! covers the server (`*`, a host or domain suffix, an IP, a CIDR, each
//! with an optional port) or the server is `localhost` or a loopback
//! address. Pure: the environment is passed in.

use std::net::IpAddr;

/// The proxy URL for a server at `scheme://host:port`, if any.
pub fn choose(scheme: &str, host: &str, port: u16, proxy_url: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(url) = proxy_url.filter(|u| !u.is_empty()) {
        return Some(url.to_string());
    }
    let any = |names: [&str; 2]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
    let proxy = if scheme.eq_ignore_ascii_case("http") { any(["HTTP_PROXY", "http_proxy"]) } else { any(["HTTPS_PROXY", "https_proxy"]) }?;
    if !uses_proxy(host, port, any(["NO_PROXY", "no_proxy"]).as_deref().unwrap_or("")) {
        return None;
    }
    // Go reads `host:port` as `http://host:port`.
    Some(if proxy.contains("://") { proxy } else { format!("http://{proxy}") })
}

/// Whether `host:port` goes through the environment's proxy given `no_proxy`.
fn uses_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim().to_ascii_lowercase();
    if host == "localhost" {
        return false;
    }
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    let port = port.to_string();
    for entry in no_proxy.split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return false;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Some(ip), Ok(net), Ok(bits)) = (ip, net.parse::<IpAddr>(), bits.parse::<u32>())
                && in_cidr(ip, net, bits)
            {
                return false;
            }
            continue;
        }
        let (ehost, eport) = split_port(&entry);
        if let Ok(eip) = ehost.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            if ip == Some(eip) && (eport.is_empty() || eport == port) {
                return false;
            }
            continue;
        }
        let ehost = ehost.strip_prefix('*').filter(|h| h.starts_with('.')).unwrap_or(ehost);
        let matched = match ehost.strip_prefix('.') {
            Some(_) => host.ends_with(ehost),
            None => host == ehost || host.ends_with(&format!(".{ehost}")),
        };
        if matched && (eport.is_empty() || eport == port) {
            return false;
        }
    }
    true
}

/// `host:port` into its parts (`[v6]:port` too); no port: `""`.
fn split_port(entry: &str) -> (&str, &str) {
    match entry.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']')) => (h, p),
        _ => (entry, ""),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    let (ip, net, len) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)) << 96, u128::from(u32::from(b)) << 96, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > len {
        return false;
    }
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    ip & mask == net & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_kubeconfig_proxy_url_wins_even_for_loopback_and_no_proxy() {
        let e = env(&[("HTTPS_PROXY", "http://env:3128"), ("NO_PROXY", "*")]);
        assert_eq!(choose("https", "127.0.0.1", 6443, Some("socks5://p:1080"), e).as_deref(), Some("socks5://p:1080"));
    }

    #[test]
    fn environment_proxies_by_scheme_uppercase_first() {
        let e = env(&[("HTTPS_PROXY", "http://up:1"), ("https_proxy", "http://low:1"), ("http_proxy", "plain:3128")]);
        assert_eq!(choose("https", "api.example.com", 443, None, &e).as_deref(), Some("http://up:1"));
        assert_eq!(choose("http", "api.example.com", 80, None, &e).as_deref(), Some("http://plain:3128"));
        let e = env(&[("HTTPS_PROXY", ""), ("https_proxy", "http://low:1")]);
        assert_eq!(choose("https", "api.example.com", 443, None, &e).as_deref(), Some("http://low:1"));
        assert_eq!(choose("https", "api.example.com", 443, None, env(&[])), None);
    }

    #[test]
    fn no_proxy_matches_as_go_does() {
        let go = |host: &str, port: u16, no: &str| uses_proxy(host, port, no);
        assert!(!go("localhost", 6443, ""));
        assert!(!go("127.0.0.1", 6443, ""));
        assert!(!go("[::1]", 6443, ""));
        assert!(go("10.0.0.5", 6443, ""));
        assert!(!go("10.0.0.5", 6443, "*"));
        assert!(!go("10.0.0.5", 6443, "a.b, 10.0.0.5"));
        assert!(!go("10.0.0.5", 6443, "10.0.0.0/8"));
        assert!(go("11.0.0.5", 6443, "10.0.0.0/8"));
        assert!(!go("10.0.0.5", 6443, "10.0.0.5:6443"));
        assert!(go("10.0.0.5", 6443, "10.0.0.5:443"));
        assert!(!go("api.example.com", 443, "example.com"));
        assert!(!go("example.com", 443, "example.com"));
        assert!(go("badexample.com", 443, "example.com"));
        assert!(!go("api.example.com", 443, ".example.com"));
        assert!(go("example.com", 443, ".example.com"));
        assert!(!go("api.example.com", 443, "*.example.com"));
        assert!(!go("API.Example.com", 443, "EXAMPLE.COM:443"));
        assert!(go("api.example.com", 6443, "example.com:443"));
        assert!(!go("[fd00::1]", 443, "fd00::/8"));
        assert!(!go("[fd00::1]", 443, "[fd00::1]:443"));
    }
}
