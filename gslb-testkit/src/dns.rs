//! DNS client helpers for black-box tests: `dig`/`kdig` runs with their output parsed
//! (`DigReply`: status, flags, sections, A addresses, EDNS), raw query packets and reply
//! headers, one UDP exchange, and length-framed TCP messages (RFC 1035 §4.2.2), with the
//! type, class and RCODE `codes` raw-packet tests use.
//!
//! Only std: any crate's tests can use it without building gslb. `dig` comes from
//! bind9-dnsutils and `kdig` from knot-dnsutils (`.ci/run` installs both).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

/// What [`DigReply::status`] returns when dig printed no reply header.
pub const NO_REPLY: &str = "NO REPLY";

/// What `dig` printed, with the parts tests look at.
#[derive(Debug)]
pub struct DigReply {
    /// The whole output.
    pub text: String,
}

impl DigReply {
    /// The RCODE name (`NOERROR`, `NXDOMAIN`, ...), or `NO REPLY` when dig printed no header
    /// (a timeout, a refused connection): polls keep polling while a server starts, and an
    /// assertion on the status still fails with dig's output beside it.
    pub fn status(&self) -> &str {
        let Some(start) = self.text.find("status: ") else {
            return NO_REPLY;
        };
        let rest = &self.text[start + 8..];
        &rest[..rest.find([',', ';']).unwrap_or(rest.len())]
    }

    /// The header flags (`qr`, `aa`, `rd`, ...); none when dig printed no header.
    pub fn flags(&self) -> Vec<String> {
        let Some(line) = self
            .text
            .lines()
            .find(|line| line.to_ascii_lowercase().starts_with(";; flags:"))
        else {
            return Vec::new();
        };
        let rest = &line[";; flags:".len()..];
        let flags = &rest[..rest.find(';').unwrap_or(rest.len())];
        flags.split_whitespace().map(str::to_string).collect()
    }

    /// True when the header flags include `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags().iter().any(|present| present == flag)
    }

    /// The record lines of a section (`ANSWER`, `AUTHORITY`, `ADDITIONAL`, `QUESTION`).
    pub fn section(&self, name: &str) -> Vec<String> {
        let header = format!(";; {name} SECTION:");
        let mut lines = self
            .text
            .lines()
            .skip_while(|line| !line.starts_with(&header));
        if lines.next().is_none() {
            return Vec::new();
        }
        lines
            .take_while(|line| !line.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The fields of each record of a section: owner, TTL, class, type, data.
    pub fn records(&self, name: &str) -> Vec<Vec<String>> {
        self.section(name)
            .iter()
            .map(|line| line.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// The A addresses of the answer section, sorted.
    pub fn a_addresses(&self) -> Vec<String> {
        let mut found: Vec<String> = self
            .records("ANSWER")
            .into_iter()
            .filter(|fields| fields.get(3).map(String::as_str) == Some("A"))
            .filter_map(|fields| fields.get(4).cloned())
            .collect();
        found.sort();
        found
    }

    /// The `; EDNS:` line, if the reply had an OPT.
    pub fn edns_line(&self) -> Option<String> {
        self.text
            .lines()
            .find(|line| line.starts_with("; EDNS:"))
            .map(str::to_string)
    }
}

/// Runs `dig @address -p port <args> +time=2 +tries=1`.
pub fn dig(address: SocketAddr, args: &[&str]) -> DigReply {
    run_client("dig", address, args)
}

/// Runs `kdig @address -p port <args> +time=2 +retry=0`.
pub fn kdig(address: SocketAddr, args: &[&str]) -> DigReply {
    run_client("kdig", address, args)
}

fn run_client(tool: &str, address: SocketAddr, args: &[&str]) -> DigReply {
    let retry = if tool == "dig" {
        "+tries=1"
    } else {
        "+retry=0"
    };
    let output = Command::new(tool)
        .arg(format!("@{}", address.ip()))
        .args(["-p", &address.port().to_string()])
        .args(args)
        .args(["+time=2", retry])
        .output()
        .unwrap_or_else(|error| panic!("run {tool}: {error}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("$ {tool} {args:?}\n{text}");
    DigReply { text }
}

/// A query packet: `id`, header flags word, one question `name` (presentation, may end
/// with a dot) of `qtype`/`qclass`.
pub fn query_packet(id: u16, flags: u16, name: &str, qtype: u16, qclass: u16) -> Vec<u8> {
    let mut packet = Vec::new();
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&flags.to_be_bytes());
    packet.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&qclass.to_be_bytes());
    packet
}

/// The parts of a reply header tests look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    /// Message ID.
    pub id: u16,
    /// QR bit.
    pub response: bool,
    /// OPCODE.
    pub opcode: u8,
    /// AA bit.
    pub authoritative: bool,
    /// TC bit.
    pub truncated: bool,
    /// RCODE (low 4 bits).
    pub rcode: u8,
    /// ANCOUNT.
    pub answers: u16,
}

/// Decodes the 12-octet header of `reply`.
pub fn reply_header(reply: &[u8]) -> ReplyHeader {
    assert!(reply.len() >= 12, "reply shorter than a header: {reply:?}");
    ReplyHeader {
        id: u16::from_be_bytes([reply[0], reply[1]]),
        response: reply[2] & 0x80 != 0,
        opcode: (reply[2] >> 3) & 0x0f,
        authoritative: reply[2] & 0x04 != 0,
        truncated: reply[2] & 0x02 != 0,
        rcode: reply[3] & 0x0f,
        answers: u16::from_be_bytes([reply[6], reply[7]]),
    }
}

/// Sends `packet` over UDP and waits up to `timeout` for one reply.
pub fn udp_exchange(to: SocketAddr, packet: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket.send_to(packet, to).unwrap();
    let mut buffer = [0u8; 65535];
    let (length, _) = socket.recv_from(&mut buffer).ok()?;
    Some(buffer[..length].to_vec())
}

/// A TCP connection with a read timeout.
pub fn tcp_connect(to: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(to).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// `message` with its 2-octet length prefix (RFC 1035 §4.2.2).
pub fn framed(message: &[u8]) -> Vec<u8> {
    let mut bytes = (message.len() as u16).to_be_bytes().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

/// Reads one length-prefixed message; `None` on EOF, reset or timeout.
pub fn read_framed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).ok()?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut message).ok()?;
    Some(message)
}

/// True when the peer closed (EOF or reset) before the stream's read timeout.
pub fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// Writes all of `bytes` and flushes.
pub fn send_all(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).unwrap();
    stream.flush().unwrap();
}

/// Record type and class codes used by the raw-packet tests.
pub mod codes {
    /// A.
    pub const A: u16 = 1;
    /// TXT.
    pub const TXT: u16 = 16;
    /// Class IN.
    pub const IN: u16 = 1;
    /// RCODE FORMERR.
    pub const FORMERR: u8 = 1;
    /// RCODE NOTIMP.
    pub const NOTIMP: u8 = 4;
    /// RCODE NOERROR.
    pub const NOERROR: u8 = 0;
}
