//! DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018): the `CookieSecret`
//! that makes and checks them, and `CookieSettings`, the `[dns.cookies]` config section.
//!
//! A server cookie is 16 octets: version 1, three reserved octets, a 32-bit timestamp
//! (unix seconds, serial arithmetic) and SipHash-2-4 over client cookie | version |
//! reserved | timestamp | client address, keyed with a 128-bit secret. Every node behind
//! one anycast address should share the secret (RFC 9018 §5), so a client keeps a cookie
//! that any of them accepts; a node without a configured secret draws a random one at start.
//!
//! Checking follows RFC 9018 §4.3: a cookie is valid when its version is 1, its hash
//! matches (the reserved octets the client sent are part of the hash), and it was made at
//! most an hour ago or at most five minutes in the future. A reply always carries a freshly
//! stamped cookie. Nothing here allocates; the query path hashes on the stack.

use std::net::IpAddr;

use serde::Deserialize;

/// Octets of a client cookie (RFC 7873 §4.1).
pub const CLIENT_COOKIE_LEN: usize = 8;
/// Octets of the server cookies we make (RFC 9018 §4).
pub const SERVER_COOKIE_LEN: usize = 16;
/// How old a server cookie may be and still be valid (RFC 9018 §4.3: one hour).
pub const MAX_COOKIE_AGE_SECS: u32 = 3600;
/// How far in the future a server cookie may be stamped (clock skew, RFC 9018 §4.3).
pub const MAX_COOKIE_SKEW_SECS: u32 = 300;

/// The 128-bit key server cookies are hashed with.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecret([u8; 16]);

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

/// Why a configured cookie secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CookieSecretError {
    /// Not 32 hexadecimal digits.
    #[error("must be 32 hexadecimal digits (128 bits), got {0} characters")]
    Length(usize),
    /// A character that is not a hexadecimal digit.
    #[error("must be hexadecimal, found {0:?}")]
    NotHex(char),
    /// The system random source failed.
    #[error("cannot read random bytes for the cookie secret: {0}")]
    Random(String),
}

impl CookieSecret {
    /// The secret written as 32 hexadecimal digits (what `[dns.cookies] secret` holds).
    pub fn from_hex(text: &str) -> Result<CookieSecret, CookieSecretError> {
        let text = text.trim();
        if text.len() != 32 {
            return Err(CookieSecretError::Length(text.chars().count()));
        }
        let mut key = [0u8; 16];
        for (index, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |byte: u8| {
                (byte as char)
                    .to_digit(16)
                    .ok_or(CookieSecretError::NotHex(byte as char))
            };
            key[index] = (digit(pair[0])? << 4 | digit(pair[1])?) as u8;
        }
        Ok(CookieSecret(key))
    }

    /// A secret from the operating system's random source.
    pub fn random() -> Result<CookieSecret, CookieSecretError> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|error| CookieSecretError::Random(error.to_string()))?;
        Ok(CookieSecret(key))
    }

    /// The server cookie for `client_cookie` from `client` made at `now` (unix seconds,
    /// modulo 2^32): version 1, reserved 0, timestamp, hash (RFC 9018 §4.2).
    pub fn server_cookie(
        &self,
        client_cookie: &[u8; CLIENT_COOKIE_LEN],
        client: IpAddr,
        now: u32,
    ) -> [u8; SERVER_COOKIE_LEN] {
        let mut cookie = [0u8; SERVER_COOKIE_LEN];
        cookie[0] = 1;
        cookie[4..8].copy_from_slice(&now.to_be_bytes());
        let hash = self.hash(client_cookie, &cookie[..8], client);
        cookie[8..].copy_from_slice(&hash);
        cookie
    }

    /// Whether `server_cookie`, sent back with `client_cookie` from `client`, is one this
    /// secret made and is still fresh at `now` (RFC 9018 §4.3).
    pub fn is_valid(
        &self,
        client_cookie: &[u8; CLIENT_COOKIE_LEN],
        server_cookie: &[u8],
        client: IpAddr,
        now: u32,
    ) -> bool {
        if server_cookie.len() != SERVER_COOKIE_LEN || server_cookie[0] != 1 {
            return false;
        }
        let stamped = u32::from_be_bytes([
            server_cookie[4],
            server_cookie[5],
            server_cookie[6],
            server_cookie[7],
        ]);
        if !is_fresh(stamped, now) {
            return false;
        }
        let expected = self.hash(client_cookie, &server_cookie[..8], client);
        // Constant time: a timing difference must not reveal how many octets matched.
        expected
            .iter()
            .zip(&server_cookie[8..])
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
    }

    /// SipHash-2-4 over client cookie | version, reserved, timestamp | client address.
    fn hash(&self, client_cookie: &[u8; 8], header: &[u8], client: IpAddr) -> [u8; 8] {
        let mut hasher = SipHash24::new(&self.0);
        hasher.write(client_cookie);
        hasher.write(header);
        match client {
            IpAddr::V4(address) => hasher.write(&address.octets()),
            IpAddr::V6(address) => hasher.write(&address.octets()),
        }
        hasher.finish().to_le_bytes()
    }
}

/// Whether a cookie stamped at `stamped` may be accepted at `now` (serial arithmetic, so
/// the wrap of the 32-bit timestamp in 2106 changes nothing).
pub fn is_fresh(stamped: u32, now: u32) -> bool {
    let age = now.wrapping_sub(stamped);
    age <= MAX_COOKIE_AGE_SECS || stamped.wrapping_sub(now) <= MAX_COOKIE_SKEW_SECS
}

/// SipHash-2-4 (Aumasson and Bernstein), the keyed hash RFC 9018 names; written out here
/// because `std`'s is deprecated and this path must not allocate.
struct SipHash24 {
    v: [u64; 4],
    /// Octets not yet folded in (fewer than 8).
    tail: u64,
    n_tail: usize,
    length: usize,
}

impl SipHash24 {
    fn new(key: &[u8; 16]) -> SipHash24 {
        let k0 = u64::from_le_bytes(key[..8].try_into().unwrap_or_default());
        let k1 = u64::from_le_bytes(key[8..].try_into().unwrap_or_default());
        SipHash24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            n_tail: 0,
            length: 0,
        }
    }

    fn round(&mut self) {
        let v = &mut self.v;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn compress(&mut self, word: u64) {
        self.v[3] ^= word;
        self.round();
        self.round();
        self.v[0] ^= word;
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.tail |= u64::from(byte) << (8 * self.n_tail);
            self.n_tail += 1;
            if self.n_tail == 8 {
                let word = self.tail;
                self.compress(word);
                self.tail = 0;
                self.n_tail = 0;
            }
        }
        self.length += bytes.len();
    }

    fn finish(mut self) -> u64 {
        let last = self.tail | ((self.length as u64 & 0xFF) << 56);
        self.compress(last);
        self.v[2] ^= 0xFF;
        for _ in 0..4 {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

/// `[dns.cookies]`: DNS Cookies (RFC 7873) with RFC 9018 server cookies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCookies {
    /// Answer COOKIE options (a query's cookie is still checked for form when off).
    #[serde(default = "default_cookies_enabled")]
    pub enabled: bool,
    /// The shared secret, 32 hexadecimal digits; every node behind one anycast address
    /// should have the same (RFC 9018 §5). Absent: a random one per start.
    #[serde(default)]
    pub secret: Option<String>,
}

impl Default for RawCookies {
    fn default() -> RawCookies {
        RawCookies {
            enabled: default_cookies_enabled(),
            secret: None,
        }
    }
}

fn default_cookies_enabled() -> bool {
    true
}

/// The validated `[dns.cookies]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// The secret replies are made with; `None` turns cookies off.
    pub secret: Option<CookieSecret>,
}

impl Default for CookieSettings {
    /// Off: a responder built without config answers no cookies (tests, fixtures).
    fn default() -> CookieSettings {
        CookieSettings { secret: None }
    }
}

impl RawCookies {
    /// Checks the section; the error names the field (`dns.cookies.secret`).
    pub fn validate(&self) -> Result<CookieSettings, (String, String)> {
        if !self.enabled {
            return Ok(CookieSettings { secret: None });
        }
        let secret = match &self.secret {
            Some(text) => CookieSecret::from_hex(text),
            None => CookieSecret::random(),
        }
        .map_err(|error| ("dns.cookies.secret".to_string(), error.to_string()))?;
        Ok(CookieSettings {
            secret: Some(secret),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    fn client_cookie(text: &str) -> [u8; 8] {
        hex(text).try_into().unwrap()
    }

    /// The server cookies of RFC 9018 Appendix A, made at the times the examples give.
    #[test]
    fn server_cookies_match_rfc_9018_appendix_a() {
        let check = |secret: &str, client: &str, address: &str, now: u32, want: &str| {
            let secret = CookieSecret::from_hex(secret).unwrap();
            let made = secret.server_cookie(&client_cookie(client), address.parse().unwrap(), now);
            assert_eq!(made.to_vec(), hex(want), "{client} from {address} at {now}");
        };
        let secret = "e5e973e5a6b2a43f48e7dc849e37bfcf";
        check(
            secret,
            "2464c4abcf10c957",
            "198.51.100.100",
            1559731985,
            "010000005cf79f111f8130c3eee29480",
        );
        check(
            secret,
            "2464c4abcf10c957",
            "198.51.100.100",
            1559734385,
            "010000005cf7a871d4a564a1442aca77",
        );
        check(
            secret,
            "fc93fc62807ddb86",
            "203.0.113.203",
            1559734700,
            "010000005cf7a9acf73a7810aca2381e",
        );
        check(
            "445536bcd2513298075a5d379663c962",
            "22681ab97d52c298",
            "2001:db8:220:1:59de:d0f4:8769:82b8",
            1559741961,
            "010000005cf7c609a6bb79d16625507a",
        );
    }

    /// The cookies clients send back in RFC 9018 Appendix A verify (including A.3's, whose
    /// reserved octets are not zero), and only from their own address and with their secret.
    #[test]
    fn returned_cookies_verify_as_rfc_9018_says() {
        let check = |secret: &str, address: &str, cookie: &str, now: u32, want: bool| {
            let secret = CookieSecret::from_hex(secret).unwrap();
            let cookie = hex(cookie);
            let client: [u8; 8] = cookie[..8].try_into().unwrap();
            let valid = secret.is_valid(&client, &cookie[8..], address.parse().unwrap(), now);
            assert_eq!(valid, want, "{address} at {now}");
        };
        let a3 = "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5";
        let old = "e5e973e5a6b2a43f48e7dc849e37bfcf";
        // A.2: the client returns A.1's cookie 40 minutes later.
        let a1 = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
        check(old, "198.51.100.100", a1, 1559734385, true);
        check(old, "198.51.100.101", a1, 1559734385, false);
        check(old, "198.51.100.100", a1, 1559731985 + 3601, false);
        check(old, "198.51.100.100", a1, 1559731985 - 301, false);
        check(old, "203.0.113.203", a3, 1559727985 + 60, true);
        check(old, "203.0.113.204", a3, 1559727985 + 60, false);
        // A.4: made with the old secret, not valid with the new one.
        let a4 = "22681ab97d52c298010000005cf7c57926556bd0934c72f8";
        let v6 = "2001:db8:220:1:59de:d0f4:8769:82b8";
        check("dd3bdf9344b678b185a6f5cb60fca715", v6, a4, 1559741817, true);
        check(
            "445536bcd2513298075a5d379663c962",
            v6,
            a4,
            1559741817,
            false,
        );
    }

    #[test]
    fn freshness_uses_serial_arithmetic() {
        assert!(is_fresh(1000, 1000));
        assert!(is_fresh(1000, 1000 + 3600));
        assert!(!is_fresh(1000, 1000 + 3601));
        assert!(is_fresh(1300, 1000));
        assert!(!is_fresh(1301, 1000));
        assert!(is_fresh(u32::MAX - 100, 1000));
    }

    #[test]
    fn bad_secrets_name_what_is_wrong() {
        assert_eq!(
            CookieSecret::from_hex("abc").unwrap_err().to_string(),
            "must be 32 hexadecimal digits (128 bits), got 3 characters"
        );
        assert_eq!(
            CookieSecret::from_hex("g5e973e5a6b2a43f48e7dc849e37bfcf")
                .unwrap_err()
                .to_string(),
            "must be hexadecimal, found 'g'"
        );
        let raw = RawCookies {
            enabled: true,
            secret: Some("zz".into()),
        };
        assert_eq!(raw.validate().unwrap_err().0, "dns.cookies.secret");
    }
}
