//! `AuthThrottle`: failed authentications are throttled per source, so a token cannot be
//! guessed at line rate.
//!
//! Each source (an IPv4 address, or the /64 of an IPv6 one) has a token bucket of
//! `burst` failures that refills at `per_minute`. A failed authentication takes one token;
//! while a source's bucket is empty every request from it that presents a token is answered
//! 429 with `Retry-After` before the token is even looked at (a good token from a throttled
//! source waits too, so the answer tells a guesser nothing). Successful requests cost
//! nothing. The table is bounded: refilled buckets are forgotten, and once `MAX_SOURCES`
//! sources are throttled at the same time new ones are not tracked (and not throttled).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most sources tracked at once.
pub const MAX_SOURCES: usize = 65_536;

/// Per-source throttling of failed authentications.
#[derive(Debug)]
pub struct AuthThrottle {
    /// Failures a source may make in a row before it is throttled.
    burst: f64,
    /// Failures per second a source earns back.
    refill_per_second: f64,
    /// The buckets of sources that failed recently.
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// One source's allowance.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Failures it may still make.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl AuthThrottle {
    /// `burst` failures in a row, then `per_minute` a minute (both at least 1).
    pub fn new(burst: u32, per_minute: u32) -> AuthThrottle {
        AuthThrottle {
            burst: f64::from(burst.max(1)),
            refill_per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` while `source` is throttled at `now`.
    pub fn check(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = buckets.get(&source_key(source)) else {
            return Ok(());
        };
        let tokens = self.refilled(bucket, now);
        if tokens >= 1.0 {
            return Ok(());
        }
        let wait = (1.0 - tokens) / self.refill_per_second;
        Err(Duration::from_secs_f64(wait.max(0.0)).max(Duration::from_secs(1)))
    }

    /// Charges one failed authentication to `source` at `now`.
    pub fn fail(&self, source: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let key = source_key(source);
        if !buckets.contains_key(&key) && buckets.len() >= MAX_SOURCES {
            buckets.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
            if buckets.len() >= MAX_SOURCES {
                return;
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = (self.refilled(bucket, now) - 1.0).max(0.0);
        bucket.updated = now;
    }

    /// How many sources are tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.refill_per_second).min(self.burst)
    }
}

/// The unit a source is throttled by: an IPv4 address, or an IPv6 /64 (one host usually
/// holds a whole /64, so single IPv6 addresses would be free to rotate).
fn source_key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(_) => source,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_throttled_after_its_burst_and_earns_tries_back() {
        let throttle = AuthThrottle::new(3, 60);
        let start = Instant::now();
        let guesser: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.check(guesser, start), Ok(()));
            throttle.fail(guesser, start);
        }
        let wait = throttle.check(guesser, start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert_eq!(
            throttle.check(other, start),
            Ok(()),
            "others are not affected"
        );
        assert_eq!(
            throttle.check(guesser, start + Duration::from_secs(1)),
            Ok(())
        );
    }

    #[test]
    fn ipv6_sources_are_throttled_by_their_64() {
        let throttle = AuthThrottle::new(1, 1);
        let now = Instant::now();
        throttle.fail("2001:db8::1".parse().unwrap(), now);
        let neighbour: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert!(throttle.check(neighbour, now).is_err());
        let elsewhere: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert_eq!(throttle.check(elsewhere, now), Ok(()));
    }
}
