//! Response rate limiting (RRL) for UDP, modelled on Knot DNS's `rate-limit`: the
//! `RateLimiter` that decides per reply, and `RawRrl`, the `[dns.rrl]` config section.
//!
//! Replies are counted per *bucket*: the client's network (its /24 for IPv4, /56 for IPv6,
//! both configurable), the reply's class (`Answer`, `Nodata`, `Nxdomain`, `Referral`,
//! `Error`) and, for answers and nodata, the question name, so one flooded name does not
//! silence a resolver's other questions. Each bucket gets `rate` replies per second; a reply
//! beyond that is *limited*: every `slip`-th limited reply goes out truncated (TC=1, so a
//! real client retries over TCP, which proves its address) and the others are dropped
//! (`slip = 0` drops all, `slip = 1` truncates all).
//!
//! The table is `table_size` hashed buckets allocated once, one `AtomicU64` each (a 16-bit
//! tag of the key, the second of the count, and the count), updated with compare-and-swap:
//! no lock and no allocation per query. Two keys that collide on a bucket with different
//! tags reset it, which can only let more through, never limit an innocent client longer.
//! The hash is keyed with a random seed per start so a sender cannot aim at collisions.
//!
//! Only UDP is limited (a TCP handshake proves the source), and a client that returns a
//! valid server cookie (RFC 7873 §5.3 / RFC 9018) is exempt, as are the `exempt` networks
//! (large resolvers sending ECS, monitoring).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;

use gslb_model::ip::Cidr;

/// What a reply counts as (Knot's response classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyClass {
    /// NOERROR with answer records.
    Answer,
    /// NOERROR, authoritative, no answer: the name exists without that type.
    Nodata,
    /// The name does not exist.
    Nxdomain,
    /// NOERROR without AA and with authority records: a delegation.
    Referral,
    /// Any other RCODE (FORMERR, REFUSED, SERVFAIL, NOTIMP, BADVERS...).
    Error,
}

impl ReplyClass {
    /// Every class, in slot order.
    pub const ALL: [ReplyClass; 5] = [
        ReplyClass::Answer,
        ReplyClass::Nodata,
        ReplyClass::Nxdomain,
        ReplyClass::Referral,
        ReplyClass::Error,
    ];

    /// The metrics label.
    pub fn name(self) -> &'static str {
        match self {
            ReplyClass::Answer => "answer",
            ReplyClass::Nodata => "nodata",
            ReplyClass::Nxdomain => "nxdomain",
            ReplyClass::Referral => "referral",
            ReplyClass::Error => "error",
        }
    }

    /// Classifies a reply by its RCODE, AA bit and section counts.
    pub fn of(rcode: u16, authoritative: bool, answers: u16, authorities: u16) -> ReplyClass {
        match rcode {
            0 if answers > 0 => ReplyClass::Answer,
            0 if !authoritative && authorities > 0 => ReplyClass::Referral,
            0 => ReplyClass::Nodata,
            3 => ReplyClass::Nxdomain,
            _ => ReplyClass::Error,
        }
    }

    /// Whether the question name is part of the bucket key (as Knot does for positive
    /// answers; negative ones are keyed by network alone, so random names share a bucket).
    fn keyed_by_name(self) -> bool {
        matches!(self, ReplyClass::Answer | ReplyClass::Nodata)
    }

    fn slot(self) -> u64 {
        self as u64
    }
}

/// What to do with one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RrlAction {
    /// Send it.
    Pass,
    /// Send it truncated: header and question, TC=1.
    Slip,
    /// Send nothing.
    Drop,
}

impl RrlAction {
    /// Every action, in slot order.
    pub const ALL: [RrlAction; 3] = [RrlAction::Pass, RrlAction::Slip, RrlAction::Drop];

    /// The metrics label.
    pub fn name(self) -> &'static str {
        match self {
            RrlAction::Pass => "pass",
            RrlAction::Slip => "slip",
            RrlAction::Drop => "drop",
        }
    }
}

/// The validated `[dns.rrl]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrlSettings {
    /// Replies per second per bucket; 0 turns RRL off.
    pub rate: u32,
    /// Every `slip`-th limited reply is sent truncated, the rest dropped (0: drop all).
    pub slip: u32,
    /// Buckets in the table (fixed memory: 8 octets each).
    pub table_size: usize,
    /// Prefix length an IPv4 client is counted by.
    pub ipv4_prefix: u8,
    /// Prefix length an IPv6 client is counted by.
    pub ipv6_prefix: u8,
    /// Networks never limited.
    pub exempt: Vec<Cidr>,
}

impl RrlSettings {
    /// RRL switched off (what a responder without config uses: tests, fixtures).
    pub fn off() -> RrlSettings {
        RrlSettings {
            rate: 0,
            slip: DEFAULT_SLIP,
            table_size: DEFAULT_TABLE_SIZE,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: Vec::new(),
        }
    }
}

/// Default replies per second per bucket.
pub const DEFAULT_RATE: u32 = 200;
/// Default slip (Knot's `rate-limit-slip` default is 1; BIND's is 2).
pub const DEFAULT_SLIP: u32 = 2;
/// Default number of buckets (Knot's `rate-limit-table-size`).
pub const DEFAULT_TABLE_SIZE: usize = 393_241;

/// `[dns.rrl]`: response rate limiting on UDP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRrl {
    /// Replies per second per client network, class and (for answers) name; 0 = off.
    #[serde(default = "default_rate")]
    pub rate: u32,
    /// Every `slip`-th limited reply goes out truncated (TC=1), the others are dropped.
    #[serde(default = "default_slip")]
    pub slip: u32,
    /// Buckets in the fixed table.
    #[serde(default = "default_table_size")]
    pub table_size: usize,
    /// IPv4 clients are counted per this prefix.
    #[serde(default = "default_ipv4_prefix")]
    pub ipv4_prefix: u8,
    /// IPv6 clients are counted per this prefix.
    #[serde(default = "default_ipv6_prefix")]
    pub ipv6_prefix: u8,
    /// Networks never limited (CIDR strings).
    #[serde(default)]
    pub exempt: Vec<String>,
}

impl Default for RawRrl {
    fn default() -> RawRrl {
        RawRrl {
            rate: default_rate(),
            slip: default_slip(),
            table_size: default_table_size(),
            ipv4_prefix: default_ipv4_prefix(),
            ipv6_prefix: default_ipv6_prefix(),
            exempt: Vec::new(),
        }
    }
}

fn default_rate() -> u32 {
    DEFAULT_RATE
}
fn default_slip() -> u32 {
    DEFAULT_SLIP
}
fn default_table_size() -> usize {
    DEFAULT_TABLE_SIZE
}
fn default_ipv4_prefix() -> u8 {
    24
}
fn default_ipv6_prefix() -> u8 {
    56
}

impl RawRrl {
    /// Checks every field; each problem is (field, message).
    pub fn validate(&self) -> Result<RrlSettings, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push((format!("dns.rrl.{field}"), message));
        };
        if self.rate > 1_000_000 {
            problem("rate", format!("must be ≤ 1000000, got {}", self.rate));
        }
        if self.slip > 100 {
            problem("slip", format!("must be ≤ 100, got {}", self.slip));
        }
        if !(1..=1 << 26).contains(&self.table_size) {
            problem(
                "table_size",
                format!("must be in 1..=67108864, got {}", self.table_size),
            );
        }
        if !(8..=32).contains(&self.ipv4_prefix) {
            problem(
                "ipv4_prefix",
                format!("must be in 8..=32, got {}", self.ipv4_prefix),
            );
        }
        if !(16..=128).contains(&self.ipv6_prefix) {
            problem(
                "ipv6_prefix",
                format!("must be in 16..=128, got {}", self.ipv6_prefix),
            );
        }
        let mut exempt = Vec::new();
        for (index, entry) in self.exempt.iter().enumerate() {
            match entry.parse::<Cidr>() {
                Ok(cidr) => exempt.push(cidr),
                Err(error) => problem(&format!("exempt[{index}]"), error.to_string()),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RrlSettings {
            rate: self.rate,
            slip: self.slip,
            table_size: self.table_size,
            ipv4_prefix: self.ipv4_prefix,
            ipv6_prefix: self.ipv6_prefix,
            exempt,
        })
    }
}

/// The bucket table and what decides with it; shared by every listener thread.
pub struct RateLimiter {
    settings: RrlSettings,
    /// One word per bucket: tag (16 bits) | second (16 bits) | count (32 bits).
    buckets: Box<[AtomicU64]>,
    /// Keys the bucket hash, random per start.
    seed: u64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("settings", &self.settings)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter with its table allocated; `None` when `settings.rate` is 0 (off).
    pub fn new(settings: RrlSettings) -> Option<RateLimiter> {
        if settings.rate == 0 {
            return None;
        }
        let mut seed = [0u8; 8];
        // A failed random source leaves a fixed seed: limiting still works, collisions
        // just become predictable.
        let _ = getrandom::fill(&mut seed);
        let buckets = (0..settings.table_size.max(1))
            .map(|_| AtomicU64::new(0))
            .collect();
        Some(RateLimiter {
            seed: u64::from_le_bytes(seed),
            settings,
            buckets,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &RrlSettings {
        &self.settings
    }

    /// Whether `client` is in an exempt network.
    pub fn is_exempt(&self, client: IpAddr) -> bool {
        self.settings
            .exempt
            .iter()
            .any(|cidr| cidr.contains(client))
    }

    /// Counts one reply of `class` (to question `name`, lower-cased wire form) for
    /// `client` at unix second `now`, and says what to do with it.
    pub fn decide(&self, client: IpAddr, class: ReplyClass, name: &[u8], now: u64) -> RrlAction {
        let key = self.key(client, class, name);
        let index = (key % self.buckets.len() as u64) as usize;
        let tag = key >> 48;
        let second = now & 0xFFFF;
        let bucket = &self.buckets[index];
        let mut current = bucket.load(Ordering::Relaxed);
        loop {
            let same = current >> 48 == tag && (current >> 32) & 0xFFFF == second;
            let count = if same { (current & 0xFFFF_FFFF) + 1 } else { 1 };
            let next = tag << 48 | second << 32 | count.min(0xFFFF_FFFF);
            match bucket.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return self.action(count),
                Err(seen) => current = seen,
            }
        }
    }

    /// What the `count`-th reply of a bucket in one second gets.
    fn action(&self, count: u64) -> RrlAction {
        let rate = u64::from(self.settings.rate);
        if count <= rate {
            return RrlAction::Pass;
        }
        let slip = u64::from(self.settings.slip);
        if slip != 0 && (count - rate).is_multiple_of(slip) {
            RrlAction::Slip
        } else {
            RrlAction::Drop
        }
    }

    /// The bucket key: a keyed hash of the client's network, the class and (for positive
    /// classes) the name.
    fn key(&self, client: IpAddr, class: ReplyClass, name: &[u8]) -> u64 {
        let network: u128 = match client {
            IpAddr::V4(address) => {
                let bits = u32::from(address);
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.settings.ipv4_prefix))
                    .unwrap_or(0);
                u128::from(bits & mask) | 1 << 127
            }
            IpAddr::V6(address) => {
                let bits = u128::from(address);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.settings.ipv6_prefix))
                    .unwrap_or(0);
                bits & mask
            }
        };
        let mut hash = mix(self.seed ^ class.slot(), network as u64);
        hash = mix(hash, (network >> 64) as u64);
        if class.keyed_by_name() {
            for chunk in name.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                hash = mix(hash, u64::from_le_bytes(word));
            }
        }
        hash
    }
}

/// One step of a multiply-xorshift hash (the splitmix64 finalizer over state ^ word).
#[inline]
fn mix(state: u64, word: u64) -> u64 {
    let mut z = (state ^ word).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, slip: u32) -> RateLimiter {
        let raw = RawRrl {
            rate,
            slip,
            table_size: 1024,
            exempt: vec!["192.0.2.0/24".into()],
            ..RawRrl::default()
        };
        RateLimiter::new(raw.validate().unwrap()).unwrap()
    }

    fn tally(limiter: &RateLimiter, client: &str, n: usize, now: u64) -> [usize; 3] {
        let mut seen = [0; 3];
        for _ in 0..n {
            let action = limiter.decide(client.parse().unwrap(), ReplyClass::Answer, b"\x01a", now);
            seen[action as usize] += 1;
        }
        seen
    }

    #[test]
    fn a_bucket_passes_rate_then_slips_every_nth() {
        let limiter = limiter(10, 3);
        // 10 pass; of the 90 limited, every third slips.
        assert_eq!(tally(&limiter, "198.51.100.7", 100, 5), [10, 30, 60]);
        // The next second the bucket starts over.
        assert_eq!(tally(&limiter, "198.51.100.7", 10, 6), [10, 0, 0]);
    }

    #[test]
    fn slip_zero_drops_every_limited_reply_and_one_truncates_all() {
        assert_eq!(tally(&limiter(5, 0), "198.51.100.7", 20, 1), [5, 0, 15]);
        assert_eq!(tally(&limiter(5, 1), "198.51.100.7", 20, 1), [5, 15, 0]);
    }

    #[test]
    fn clients_share_a_bucket_per_network_only() {
        let limiter = limiter(10, 2);
        assert_eq!(tally(&limiter, "198.51.100.7", 10, 1)[0], 10);
        // Same /24: already used up.
        assert_eq!(tally(&limiter, "198.51.100.200", 1, 1)[0], 0);
        // Another /24, and another /56 for IPv6.
        assert_eq!(tally(&limiter, "198.51.101.7", 10, 1)[0], 10);
        assert_eq!(tally(&limiter, "2001:db8:0:1::1", 10, 1)[0], 10);
        assert_eq!(tally(&limiter, "2001:db8:0:ff::1", 1, 1)[0], 0);
        assert_eq!(tally(&limiter, "2001:db8:0:100::1", 1, 1)[0], 1);
    }

    #[test]
    fn classes_and_names_have_their_own_buckets() {
        let limiter = limiter(2, 0);
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        let decide = |class, name: &[u8]| limiter.decide(client, class, name, 9);
        assert_eq!(decide(ReplyClass::Answer, b"\x01a"), RrlAction::Pass);
        assert_eq!(decide(ReplyClass::Answer, b"\x01a"), RrlAction::Pass);
        assert_eq!(decide(ReplyClass::Answer, b"\x01a"), RrlAction::Drop);
        assert_eq!(decide(ReplyClass::Answer, b"\x01b"), RrlAction::Pass);
        assert_eq!(decide(ReplyClass::Nxdomain, b"\x01x"), RrlAction::Pass);
        assert_eq!(decide(ReplyClass::Nxdomain, b"\x01y"), RrlAction::Pass);
        // Negative answers share one bucket whatever the name.
        assert_eq!(decide(ReplyClass::Nxdomain, b"\x01z"), RrlAction::Drop);
    }

    #[test]
    fn exempt_networks_and_classification() {
        let limiter = limiter(1, 1);
        assert!(limiter.is_exempt("192.0.2.9".parse().unwrap()));
        assert!(!limiter.is_exempt("192.0.3.9".parse().unwrap()));
        assert_eq!(ReplyClass::of(0, true, 1, 0), ReplyClass::Answer);
        assert_eq!(ReplyClass::of(0, true, 0, 1), ReplyClass::Nodata);
        assert_eq!(ReplyClass::of(0, false, 0, 2), ReplyClass::Referral);
        assert_eq!(ReplyClass::of(3, true, 0, 1), ReplyClass::Nxdomain);
        assert_eq!(ReplyClass::of(5, false, 0, 0), ReplyClass::Error);
    }

    #[test]
    fn bad_settings_name_each_field() {
        let raw = RawRrl {
            slip: 1000,
            ipv4_prefix: 40,
            exempt: vec!["10.0.0.0/8".into(), "nonsense".into()],
            ..RawRrl::default()
        };
        let fields: Vec<String> = raw
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(
            fields,
            ["dns.rrl.slip", "dns.rrl.ipv4_prefix", "dns.rrl.exempt[1]"]
        );
        assert!(RateLimiter::new(RrlSettings::off()).is_none());
    }
}
