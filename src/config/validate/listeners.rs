//! Listeners that would collide at bind time: two sockets on the same protocol and port
//! where one address is the other's wildcard (`0.0.0.0:5353` with `127.0.3.40:5353`).
//! Identical addresses are reported where they are listed; this adds the overlaps that
//! only the kernel would otherwise find, at start.

use std::net::SocketAddr;
use std::ops::Range;

use crate::config::problems::Problems;
use crate::config::raw::{RawConfig, Sp};

/// One socket the config asks for.
struct Listener {
    /// The field that names it (`dns.listen[1]`).
    field: String,
    /// Where it is written.
    span: Range<usize>,
    /// The address.
    address: SocketAddr,
    /// Whether it is bound on UDP (DNS listeners are bound on UDP and TCP).
    udp: bool,
}

/// Reports every pair of listeners of `raw` on the same protocol and port whose addresses
/// overlap without being equal.
pub(crate) fn check_overlaps(raw: &RawConfig, problems: &mut Problems<'_>) {
    let mut listeners = Vec::new();
    if let Some(dns) = &raw.dns {
        collect(&dns.listen, "dns.listen", true, &mut listeners);
        if let Some(proxy) = &dns.proxy {
            collect(&proxy.listen, "dns.proxy.listen", true, &mut listeners);
        }
    }
    if let Some(control) = &raw.control {
        collect(
            std::slice::from_ref(&control.listen),
            "control.listen",
            false,
            &mut listeners,
        );
    }
    for (index, later) in listeners.iter().enumerate() {
        for earlier in &listeners[..index] {
            if later.address != earlier.address && overlap(later.address, earlier.address) {
                let protocol = if later.udp && earlier.udp {
                    "udp and tcp"
                } else {
                    "tcp"
                };
                problems.push(
                    later.span.clone(),
                    later.field.clone(),
                    format!(
                        "{} overlaps {} ({}) on {protocol} port {}; both cannot be bound",
                        later.address,
                        earlier.field,
                        earlier.address,
                        later.address.port()
                    ),
                );
            }
        }
    }
}

/// True when sockets on `a` and `b` (same protocol) cannot both be bound: the same
/// non-zero port and family, and one address equal to the other or a wildcard.
fn overlap(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// The parseable entries of one list (bad ones are reported by their section).
fn collect(entries: &[Sp<String>], field: &str, udp: bool, listeners: &mut Vec<Listener>) {
    let many = field != "control.listen";
    for (index, entry) in entries.iter().enumerate() {
        if let Ok(address) = entry.get_ref().trim().parse::<SocketAddr>() {
            listeners.push(Listener {
                field: if many {
                    format!("{field}[{index}]")
                } else {
                    field.to_string()
                },
                span: entry.span(),
                address,
                udp,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::overlap;

    #[test]
    fn wildcards_overlap_their_family_on_the_same_port() {
        let check = |a: &str, b: &str| overlap(a.parse().unwrap(), b.parse().unwrap());
        assert!(check("0.0.0.0:5353", "127.0.3.40:5353"));
        assert!(check("127.0.0.1:53", "0.0.0.0:53"));
        assert!(check("[::]:53", "[::1]:53"));
        assert!(!check("0.0.0.0:53", "127.0.0.1:54"));
        assert!(!check("127.0.0.1:53", "127.0.0.2:53"));
        assert!(!check("0.0.0.0:0", "127.0.0.1:0"));
        assert!(!check("[::]:53", "127.0.0.1:53"));
    }
}
