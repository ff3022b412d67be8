//! LOC records (RFC 1876): location as latitude, longitude and altitude with size and
//! precision, read from and written in the presentation format of RFC 1876 §3
//! (`52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m`).
//!
//! The model keeps the wire fields (version 0): latitude and longitude in thousandths of an
//! arc second offset by 2^31, altitude in centimetres above -100 000 m, and size and
//! precisions as the RFC's mantissa/exponent octets, so what is stored is what is answered.

use std::fmt;

use serde::{Deserialize, Serialize};

/// 2^31: the equator and the prime meridian.
const EQUATOR: i64 = 1 << 31;
/// The altitude field's zero: -100 000 m in centimetres.
const ALTITUDE_BASE: i64 = 10_000_000;
/// Thousandths of an arc second in one degree.
const PER_DEGREE: i64 = 3_600_000;

/// The wire fields of one LOC record (version 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Loc {
    /// Diameter of the enclosing sphere, mantissa/exponent of centimetres.
    pub size: u8,
    /// Horizontal precision, mantissa/exponent of centimetres.
    pub horizontal_precision: u8,
    /// Vertical precision, mantissa/exponent of centimetres.
    pub vertical_precision: u8,
    /// Thousandths of an arc second, 2^31 at the equator, north positive.
    pub latitude: u32,
    /// Thousandths of an arc second, 2^31 at the prime meridian, east positive.
    pub longitude: u32,
    /// Centimetres above -100 000 m.
    pub altitude: u32,
}

impl Loc {
    /// Parses the presentation fields (already split at blanks).
    pub fn parse(fields: &[&str]) -> Result<Loc, String> {
        let mut rest = fields;
        let latitude = angle(&mut rest, ('N', 'S'), 90, "latitude")?;
        let longitude = angle(&mut rest, ('E', 'W'), 180, "longitude")?;
        let (altitude_text, tail) = rest
            .split_first()
            .ok_or_else(|| "missing altitude".to_string())?;
        rest = tail;
        let altitude_cm = centimetres(altitude_text.trim_end_matches(['m', 'M']), true)
            .ok_or_else(|| format!("bad altitude {altitude_text:?}"))?;
        if !(-ALTITUDE_BASE..=i64::from(u32::MAX) - ALTITUDE_BASE).contains(&altitude_cm) {
            return Err(format!("altitude {altitude_text} is out of range"));
        }
        let mut precision = |default: u8, what: &str| -> Result<u8, String> {
            match rest.split_first() {
                None => Ok(default),
                Some((text, tail)) => {
                    rest = tail;
                    centimetres(text.trim_end_matches(['m', 'M']), false)
                        .filter(|cm| *cm <= 9_000_000_000)
                        .map(encode_precision)
                        .ok_or_else(|| format!("bad {what} {text:?} (0-90000000m)"))
                }
            }
        };
        let size = precision(0x12, "size")?;
        let horizontal_precision = precision(0x16, "horizontal precision")?;
        let vertical_precision = precision(0x13, "vertical precision")?;
        if let Some(extra) = rest.first() {
            return Err(format!("unexpected {extra:?} after the LOC data"));
        }
        Ok(Loc {
            size,
            horizontal_precision,
            vertical_precision,
            latitude: (EQUATOR + latitude) as u32,
            longitude: (EQUATOR + longitude) as u32,
            altitude: (altitude_cm + ALTITUDE_BASE) as u32,
        })
    }

    /// Reads the 16 wire octets; `None` when the length or version is wrong, a size or
    /// precision is not a decimal mantissa/exponent pair (RFC 1876 §2 leaves digits above 9
    /// undefined) or is a zero with an exponent, or an angle is beyond 90° or 180°: data the
    /// presentation format cannot write back.
    pub fn from_wire(data: &[u8]) -> Option<Loc> {
        if data.len() != 16 || data[0] != 0 {
            return None;
        }
        let decimal =
            |octet: u8| octet >> 4 <= 9 && octet & 0x0f <= 9 && (octet >> 4 != 0 || octet == 0);
        if !data[1..4].iter().all(|octet| decimal(*octet)) {
            return None;
        }
        let word =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let within =
            |value: u32, degrees: i64| (i64::from(value) - EQUATOR).abs() <= degrees * PER_DEGREE;
        if !within(word(4), 90) || !within(word(8), 180) {
            return None;
        }
        Some(Loc {
            size: data[1],
            horizontal_precision: data[2],
            vertical_precision: data[3],
            latitude: word(4),
            longitude: word(8),
            altitude: word(12),
        })
    }

    /// The 16 wire octets.
    pub fn to_wire(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[1] = self.size;
        out[2] = self.horizontal_precision;
        out[3] = self.vertical_precision;
        out[4..8].copy_from_slice(&self.latitude.to_be_bytes());
        out[8..12].copy_from_slice(&self.longitude.to_be_bytes());
        out[12..16].copy_from_slice(&self.altitude.to_be_bytes());
        out
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_angle(f, i64::from(self.latitude) - EQUATOR, ('N', 'S'))?;
        f.write_str(" ")?;
        write_angle(f, i64::from(self.longitude) - EQUATOR, ('E', 'W'))?;
        let altitude = i64::from(self.altitude) - ALTITUDE_BASE;
        let sign = if altitude < 0 { "-" } else { "" };
        write!(
            f,
            " {sign}{}.{:02}m",
            altitude.abs() / 100,
            altitude.abs() % 100
        )?;
        for octet in [
            self.size,
            self.horizontal_precision,
            self.vertical_precision,
        ] {
            let cm = u64::from(octet >> 4) * 10u64.pow(u32::from(octet & 0x0f).min(9));
            if cm % 100 == 0 {
                write!(f, " {}m", cm / 100)?;
            } else {
                write!(f, " {}.{:02}m", cm / 100, cm % 100)?;
            }
        }
        Ok(())
    }
}

/// Reads `d [m [s.sss]] H`, returning signed thousandths of an arc second.
fn angle(
    rest: &mut &[&str],
    hemispheres: (char, char),
    max_degrees: i64,
    what: &str,
) -> Result<i64, String> {
    let mut parts = Vec::new();
    loop {
        let (field, tail) = rest
            .split_first()
            .ok_or_else(|| format!("missing {what} hemisphere"))?;
        *rest = tail;
        let upper = field.to_ascii_uppercase();
        if upper == hemispheres.0.to_string() || upper == hemispheres.1.to_string() {
            let sign = if upper == hemispheres.0.to_string() {
                1
            } else {
                -1
            };
            let bad = || format!("bad {what} {:?}", parts.join(" "));
            let degrees: i64 = parts
                .first()
                .and_then(|d: &&str| d.parse().ok())
                .ok_or_else(bad)?;
            let minutes: i64 = match parts.get(1) {
                Some(m) => m.parse().ok().filter(|m| *m < 60).ok_or_else(bad)?,
                None => 0,
            };
            let seconds: i64 = match parts.get(2) {
                Some(s) => seconds_thousandths(s)
                    .filter(|s| *s < 60_000)
                    .ok_or_else(bad)?,
                None => 0,
            };
            let value = degrees * PER_DEGREE + minutes * 60_000 + seconds;
            if degrees < 0 || value > max_degrees * PER_DEGREE {
                return Err(bad());
            }
            return Ok(sign * value);
        }
        if parts.len() == 3 {
            return Err(format!(
                "expected {what} hemisphere {} or {}, got {field:?}",
                hemispheres.0, hemispheres.1
            ));
        }
        parts.push(field);
    }
}

/// `23`, `23.5`, `23.125` as thousandths.
fn seconds_thousandths(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || fraction.len() > 3
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<3}").parse().ok()?;
    Some(whole * 1000 + fraction)
}

/// Metres with up to two decimals (`-2`, `0.5`, `10000.00`) as centimetres.
fn centimetres(text: &str, signed: bool) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || whole.len() > 10
        || fraction.len() > 2
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let value = whole.parse::<i64>().ok()? * 100 + format!("{fraction:0<2}").parse::<i64>().ok()?;
    Some(if negative { -value } else { value })
}

/// Centimetres as RFC 1876's mantissa (high nibble) and power of ten (low nibble).
fn encode_precision(cm: i64) -> u8 {
    let mut exponent = 0u8;
    let mut mantissa = cm;
    while mantissa >= 10 && exponent < 9 {
        mantissa /= 10;
        exponent += 1;
    }
    ((mantissa.min(9) as u8) << 4) | exponent
}

fn write_angle(f: &mut fmt::Formatter<'_>, value: i64, hemispheres: (char, char)) -> fmt::Result {
    let hemisphere = if value < 0 {
        hemispheres.1
    } else {
        hemispheres.0
    };
    let value = value.abs();
    write!(
        f,
        "{} {} {}.{:03} {hemisphere}",
        value / PER_DEGREE,
        (value / 60_000) % 60,
        (value / 1000) % 60,
        value % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1876_examples_round_trip() {
        for (text, printed) in [
            (
                "42 21 54 N 71 06 18 W -24m 30m",
                "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m",
            ),
            (
                "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
                "52 22 23.000 N 4 53 32.000 E -2.00m 0m 10000m 10m",
            ),
            (
                "32 7 19 S 116 2 25 E 10m",
                "32 7 19.000 S 116 2 25.000 E 10.00m 1m 10000m 10m",
            ),
            (
                "60 N 0 E 0.5m 0.5m 2m 0.01m",
                "60 0 0.000 N 0 0 0.000 E 0.50m 0.50m 2m 0.01m",
            ),
        ] {
            let fields: Vec<&str> = text.split_whitespace().collect();
            let loc = Loc::parse(&fields).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(loc.to_string(), printed);
            let again: Vec<&str> = printed.split_whitespace().collect();
            assert_eq!(Loc::parse(&again).unwrap(), loc);
            assert_eq!(Loc::from_wire(&loc.to_wire()), Some(loc));
        }
        for bad in [
            "91 N 0 E 0m",
            "42 N 181 E 0m",
            "42 60 N 0 E 0m",
            "42 X",
            "42 N 0 E",
            "1 N 1 E 1m 1m 1m 1m 1m",
        ] {
            let fields: Vec<&str> = bad.split_whitespace().collect();
            assert!(Loc::parse(&fields).is_err(), "{bad}");
        }
    }
}
