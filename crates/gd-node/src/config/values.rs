//! The parsers and checks of single values: directories made absolute, booleans, listen
//! addresses, URLs. Each returns what is wrong with a value; the caller names the key.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
};

use super::DEFAULT_CLIENT_PORT;

/// `p` made absolute against the working directory (unchanged if it already is, or if the
/// working directory is unknown; an empty path stays empty for the validation to name it).
pub(super) fn absolute(p: PathBuf) -> PathBuf {
    if p.as_os_str().is_empty() || p.is_absolute() {
        return p;
    }
    std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
}

pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses `host:port`, `:port` or `[v6]:port`. The host must be an IP literal: glusterd2
/// never resolves names for its own listeners.
pub(super) fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?}: {port:?} is not a port number"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_CLIENT_PORT));
    }
    Err(format!(
        "{s:?} is not an address (expected IP:port or :port)"
    ))
}

pub(super) fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}
