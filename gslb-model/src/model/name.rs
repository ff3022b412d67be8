//! `DomainName`: an absolute, validated, lower-cased domain name as the model stores it.
//!
//! The model speaks presentation format (`www.example.com.`) so that the Raft log, snapshots
//! and the REST API stay readable, but every name is checked against the wire limits of
//! RFC 1035 §2.3.4 (labels ≤ 63 octets, name ≤ 255 octets on the wire) when it is built, so
//! the DNS crate can encode any stored name without a failure path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest name on the wire, length octets and root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_WIRE_LEN: usize = 255;
/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a string is not a domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The text was empty.
    #[error("empty name")]
    Empty,
    /// Two dots in a row, or a leading dot on a name other than the root.
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    /// A label longer than 63 octets.
    #[error("label longer than 63 octets in {0:?}")]
    LabelTooLong(String),
    /// The whole name is longer than 255 octets in wire form.
    #[error("name longer than 255 octets in {0:?}")]
    NameTooLong(String),
    /// A backslash escape that is not `\X` or `\DDD` with DDD ≤ 255.
    #[error("bad escape in {0:?}")]
    BadEscape(String),
    /// A relative name where an absolute one is needed.
    #[error("name {0:?} is not absolute (no trailing dot)")]
    NotAbsolute(String),
    /// Unicode text that has no A-label form under IDNA 2008 / UTS 46.
    #[error("{0:?} is not a valid internationalized name (IDNA 2008 / UTS 46): {1}")]
    Idna(String, &'static str),
}

/// Turns a name written in Unicode into its A-labels (`bücher.example.` →
/// `xn--bcher-kva.example.`) by UTS 46 processing with IDNA 2008 rules (the `idna` crate),
/// so every entry point (zone files, the REST API, `gslbctl`, apply YAML) stores the name a
/// resolver asks for. ASCII text is returned as is; `_` and `*` stay allowed.
pub fn to_a_labels(text: &str) -> Result<std::borrow::Cow<'_, str>, NameError> {
    if text.is_ascii() {
        return Ok(std::borrow::Cow::Borrowed(text));
    }
    if text.contains('\\') {
        return Err(NameError::Idna(
            text.to_string(),
            "a Unicode name cannot also hold backslash escapes",
        ));
    }
    idna::domain_to_ascii_cow(text.as_bytes(), idna::AsciiDenyList::EMPTY)
        .map(|ascii| std::borrow::Cow::Owned(ascii.into_owned()))
        .map_err(|_| NameError::Idna(text.to_string(), "no A-label form"))
}

/// An absolute domain name, stored as its lower-cased, uncompressed wire form.
///
/// One heap buffer per name (not one per label) keeps a million-record `State` small.
/// Ordering is by labels from the root down (`com.` < `example.com.` < `www.example.com.`),
/// which keeps the records of one zone and its subtrees together in sorted maps.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DomainName {
    /// Length-prefixed labels, most specific first, ending with the root's zero octet;
    /// lower-cased ASCII. Always well formed and ≤ 255 octets.
    wire: Box<[u8]>,
}

/// The labels of a `DomainName`, most specific first; iterable from either end.
#[derive(Clone)]
pub struct Labels<'a> {
    wire: &'a [u8],
    /// Start offset of each label's length octet (a name has at most 127 labels).
    offsets: [u8; 128],
    front: usize,
    back: usize,
}

impl<'a> Labels<'a> {
    fn new(wire: &'a [u8]) -> Self {
        let mut offsets = [0u8; 128];
        let mut count = 0;
        let mut position = 0;
        while wire[position] != 0 {
            offsets[count] = position as u8;
            count += 1;
            position += 1 + wire[position] as usize;
        }
        Labels {
            wire,
            offsets,
            front: 0,
            back: count,
        }
    }

    fn label(&self, index: usize) -> &'a [u8] {
        let start = self.offsets[index] as usize;
        let len = self.wire[start] as usize;
        &self.wire[start + 1..start + 1 + len]
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        Some(self.label(self.front - 1))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }
}

impl DoubleEndedIterator for Labels<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.label(self.back))
    }
}

impl ExactSizeIterator for Labels<'_> {}

impl DomainName {
    /// The root name `.`.
    pub fn root() -> Self {
        DomainName {
            wire: Box::new([0]),
        }
    }

    /// Builds a name from validated labels (each 1..=63 octets); checks the total length.
    fn from_checked_labels<'l>(labels: impl Iterator<Item = &'l [u8]>) -> Result<Self, usize> {
        let mut wire = Vec::with_capacity(32);
        for label in labels {
            wire.push(label.len() as u8);
            wire.extend(label.iter().map(u8::to_ascii_lowercase));
        }
        wire.push(0);
        if wire.len() > MAX_NAME_WIRE_LEN {
            return Err(wire.len());
        }
        Ok(DomainName {
            wire: wire.into_boxed_slice(),
        })
    }

    /// Parses an absolute name in presentation format (a trailing dot is required).
    pub fn parse_absolute(text: &str) -> Result<Self, NameError> {
        match Self::parse(text, None)? {
            Some(name) => Ok(name),
            None => Err(NameError::NotAbsolute(text.to_string())),
        }
    }

    /// Parses a name in presentation format; a name without a trailing dot is taken relative
    /// to `origin`. `@` stands for `origin` itself (RFC 1035 §5.1).
    pub fn parse_relative_to(text: &str, origin: &DomainName) -> Result<Self, NameError> {
        Ok(Self::parse(text, Some(origin))?.expect("an origin makes every name absolute"))
    }

    /// Parses presentation format; a relative name is completed with `origin`, or yields
    /// `None` when there is no origin.
    fn parse(text: &str, origin: Option<&DomainName>) -> Result<Option<Self>, NameError> {
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if !text.is_ascii() {
            return Self::parse(&to_a_labels(text)?, origin);
        }
        if text == "@" {
            return Ok(origin.cloned());
        }
        if text == "." {
            return Ok(Some(DomainName::root()));
        }
        // The wire form is written as the text is read: a length octet reserved at the start
        // of each label and filled in at its end, so a name costs one allocation.
        let bytes = text.as_bytes();
        let origin_len = origin.map_or(0, DomainName::wire_len);
        let mut wire: Vec<u8> = Vec::with_capacity(bytes.len() + 1 + origin_len);
        let mut label_at = 0;
        wire.push(0);
        let mut current = 0usize;
        let mut absolute = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'.' => {
                    if current == 0 {
                        return Err(NameError::EmptyLabel(text.to_string()));
                    }
                    wire[label_at] = current as u8;
                    label_at = wire.len();
                    wire.push(0);
                    current = 0;
                    if i == bytes.len() - 1 {
                        absolute = true;
                    }
                    i += 1;
                }
                b'\\' => {
                    let rest = &bytes[i + 1..];
                    if rest.len() >= 3 && rest[..3].iter().all(u8::is_ascii_digit) {
                        let value = (rest[0] - b'0') as u32 * 100
                            + (rest[1] - b'0') as u32 * 10
                            + (rest[2] - b'0') as u32;
                        if value > 255 {
                            return Err(NameError::BadEscape(text.to_string()));
                        }
                        wire.push((value as u8).to_ascii_lowercase());
                        current += 1;
                        i += 4;
                    } else if let Some(&next) = rest.first() {
                        if next.is_ascii_digit() {
                            return Err(NameError::BadEscape(text.to_string()));
                        }
                        wire.push(next.to_ascii_lowercase());
                        current += 1;
                        i += 2;
                    } else {
                        return Err(NameError::BadEscape(text.to_string()));
                    }
                }
                _ => {
                    wire.push(b.to_ascii_lowercase());
                    current += 1;
                    i += 1;
                }
            }
            if current > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong(text.to_string()));
            }
        }
        if !absolute {
            // The last label is complete; the origin's labels and root follow it.
            wire[label_at] = current as u8;
            match origin {
                Some(origin) => wire.extend_from_slice(origin.as_wire()),
                None => return Ok(None),
            }
        }
        if wire.len() > MAX_NAME_WIRE_LEN {
            return Err(NameError::NameTooLong(text.to_string()));
        }
        Ok(Some(DomainName {
            wire: wire.into_boxed_slice(),
        }))
    }

    /// Builds a name from raw wire labels (most specific first), lower-casing them.
    pub fn from_labels<I, L>(labels: I) -> Result<Self, NameError>
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        let mut out: Vec<L> = Vec::new();
        for label in labels {
            let bytes = label.as_ref();
            if bytes.is_empty() {
                return Err(NameError::EmptyLabel(String::from_utf8_lossy(bytes).into()));
            }
            if bytes.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong(
                    String::from_utf8_lossy(bytes).into(),
                ));
            }
            if out.len() >= 127 {
                return Err(NameError::NameTooLong(format!("{} labels", out.len() + 1)));
            }
            out.push(label);
        }
        DomainName::from_checked_labels(out.iter().map(AsRef::as_ref))
            .map_err(|len| NameError::NameTooLong(format!("{len} octets")))
    }

    /// The name whose wire form is `prefix` (length-prefixed labels, most specific first,
    /// without the root label) followed by `suffix`'s: each label 1 to 63 octets, the whole
    /// at most 255, lower-cased. One allocation; what `Self::wire_prefix_below` gives back
    /// reads back as the same name. `None` when `prefix` is not such a run of labels or the
    /// name would be too long.
    pub fn with_wire_prefix(prefix: &[u8], suffix: &DomainName) -> Option<DomainName> {
        let total = prefix.len() + suffix.wire.len();
        if total > MAX_NAME_WIRE_LEN {
            return None;
        }
        let mut wire = Vec::with_capacity(total);
        let mut position = 0;
        while position < prefix.len() {
            let len = prefix[position] as usize;
            let end = position + 1 + len;
            if len == 0 || len > MAX_LABEL_LEN || end > prefix.len() {
                return None;
            }
            wire.push(len as u8);
            wire.extend(prefix[position + 1..end].iter().map(u8::to_ascii_lowercase));
            position = end;
        }
        wire.extend_from_slice(&suffix.wire);
        Some(DomainName {
            wire: wire.into_boxed_slice(),
        })
    }

    /// The labels of `self` above `ancestor` in wire form (length-prefixed, most specific
    /// first, no root label): empty for `ancestor` itself, `None` when `self` is not at or
    /// below it. `with_wire_prefix(prefix, ancestor)` gives `self` back.
    pub fn wire_prefix_below(&self, ancestor: &DomainName) -> Option<&[u8]> {
        self.is_subdomain_of(ancestor)
            .then(|| &self.wire[..self.wire.len() - ancestor.wire.len()])
    }

    /// The labels, most specific first, without the root label.
    pub fn labels(&self) -> Labels<'_> {
        Labels::new(&self.wire)
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().len()
    }

    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// Length of the uncompressed wire form, root label included.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// The uncompressed wire form, lower-cased.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// Appends the uncompressed wire form to `out`.
    pub fn write_wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wire);
    }

    /// The uncompressed wire form.
    pub fn to_wire(&self) -> Vec<u8> {
        self.wire.to_vec()
    }

    /// True when `self` equals `ancestor` or lies below it.
    pub fn is_subdomain_of(&self, ancestor: &DomainName) -> bool {
        if ancestor.wire.len() > self.wire.len() {
            return false;
        }
        let start = self.wire.len() - ancestor.wire.len();
        if self.wire[start..] != ancestor.wire[..] {
            return false;
        }
        // The suffix must begin at a label boundary, not inside a label.
        let mut position = 0;
        while position < start {
            position += 1 + self.wire[position] as usize;
        }
        position == start
    }

    /// The name one label up, or `None` for the root.
    pub fn parent(&self) -> Option<DomainName> {
        if self.is_root() {
            None
        } else {
            let skip = 1 + self.wire[0] as usize;
            Some(DomainName {
                wire: self.wire[skip..].into(),
            })
        }
    }

    /// `label.self`, checked against the length limits.
    pub fn prepend_label(&self, label: &[u8]) -> Result<DomainName, NameError> {
        DomainName::from_labels(std::iter::once(label).chain(self.labels()))
    }

    /// True when the leftmost label is `*` (an RFC 4592 wildcard owner).
    pub fn is_wildcard(&self) -> bool {
        self.labels().next() == Some(b"*")
    }

    /// The name relative to `origin` in presentation form (`@` for the origin itself), or the
    /// absolute form when `self` is not below `origin`.
    pub fn relative_to(&self, origin: &DomainName) -> String {
        if self == origin {
            return "@".to_string();
        }
        if !self.is_subdomain_of(origin) || origin.is_root() {
            return self.to_string();
        }
        let keep = self.label_count() - origin.label_count();
        let mut text = String::new();
        for (index, label) in self.labels().take(keep).enumerate() {
            if index > 0 {
                text.push('.');
            }
            write_label(&mut text, label);
        }
        text
    }
}

fn write_label(text: &mut String, label: &[u8]) {
    for &byte in label {
        match byte {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                text.push('\\');
                text.push(byte as char);
            }
            0x21..=0x7e => text.push(byte as char),
            _ => text.push_str(&format!("\\{byte:03}")),
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        let mut text = String::with_capacity(self.wire_len() + 8);
        for label in self.labels() {
            write_label(&mut text, label);
            text.push('.');
        }
        f.write_str(&text)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({self})")
    }
}

impl FromStr for DomainName {
    type Err = NameError;
    fn from_str(text: &str) -> Result<Self, NameError> {
        DomainName::parse_absolute(text)
    }
}

impl Ord for DomainName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Canonical DNS order (RFC 4034 §6.1): compare labels from the root down. Names of a
        // zone's neighbouring sets mostly share their parent (`h1.zone.`, `h2.zone.`): then
        // only the first labels differ, compared without listing every label's offset.
        let (mine, theirs) = (&self.wire, &other.wire);
        if mine == theirs {
            return std::cmp::Ordering::Equal;
        }
        let (my_first, their_first) = (1 + mine[0] as usize, 1 + theirs[0] as usize);
        if mine[0] != 0 && theirs[0] != 0 && mine[my_first..] == theirs[their_first..] {
            return mine[1..my_first].cmp(&theirs[1..their_first]);
        }
        self.labels().rev().cmp(other.labels().rev())
    }
}

impl PartialOrd for DomainName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for DomainName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DomainName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(AbsoluteNameVisitor)
    }
}

/// Parses a name from the text the deserializer lends (no `String` per name: a snapshot
/// or a staged zone chunk holds a million of them).
struct AbsoluteNameVisitor;

impl serde::de::Visitor<'_> for AbsoluteNameVisitor {
    type Value = DomainName;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an absolute domain name")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DomainName, E> {
        DomainName::parse_absolute(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected_display: &str) {
        let name = DomainName::parse_absolute(text).unwrap();
        assert_eq!(name.to_string(), expected_display);
        assert_eq!(DomainName::parse_absolute(&name.to_string()).unwrap(), name);
    }

    /// Unicode names become A-labels (IDNA 2008 / UTS 46) wherever they enter, relative ones
    /// too; text with no A-label form is refused with a clear error.
    #[test]
    fn unicode_names_become_a_labels() {
        check("bücher.example.", "xn--bcher-kva.example.");
        check("BÜCHER.Example.", "xn--bcher-kva.example.");
        check("*.münchen.example.", "*.xn--mnchen-3ya.example.");
        let origin = DomainName::parse_absolute("例え.jp.").unwrap();
        assert_eq!(origin.to_string(), "xn--r8jz45g.jp.");
        let relative = DomainName::parse_relative_to("テスト", &origin).unwrap();
        assert_eq!(relative.to_string(), "xn--zckzah.xn--r8jz45g.jp.");
        for bad in ["a\\.bü.example.", "xn--a.bü.example.", "\u{200d}.example."] {
            let error = DomainName::parse_absolute(bad).unwrap_err();
            assert!(
                error.to_string().contains("IDNA 2008 / UTS 46"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn parses_and_displays() {
        check("WWW.Example.COM.", "www.example.com.");
        check(".", ".");
        check("a\\.b.example.", "a\\.b.example.");
        check("\\000.example.", "\\000.example.");
        check("\\065bc.example.", "abc.example.");
    }

    #[test]
    fn rejects_bad_names() {
        assert!(matches!(
            DomainName::parse_absolute("a..b."),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(
            DomainName::parse_absolute("a.b"),
            Err(NameError::NotAbsolute(_))
        ));
        let long_label = format!("{}.", "a".repeat(64));
        assert!(matches!(
            DomainName::parse_absolute(&long_label),
            Err(NameError::LabelTooLong(_))
        ));
        let long_name = format!("{}.", vec!["a".repeat(63); 4].join("."));
        assert!(matches!(
            DomainName::parse_absolute(&long_name),
            Err(NameError::NameTooLong(_))
        ));
        assert!(matches!(
            DomainName::parse_absolute("\\256.x."),
            Err(NameError::BadEscape(_))
        ));
    }

    #[test]
    fn subdomain_only_at_label_boundaries() {
        let ancestor = DomainName::parse_absolute("b.c.").unwrap();
        let inside_label = DomainName::parse_absolute("x\\001b.c.").unwrap();
        assert!(!inside_label.is_subdomain_of(&ancestor));
        let below = DomainName::parse_absolute("x.b.c.").unwrap();
        assert!(below.is_subdomain_of(&ancestor));
        assert_eq!(below.parent().unwrap(), ancestor);
        assert_eq!(below.labels().next_back(), Some(&b"c"[..]));
        assert_eq!(below.label_count(), 3);
        assert!(DomainName::root().is_root());
        assert!(ancestor.is_subdomain_of(&DomainName::root()));
    }

    #[test]
    fn relative_names_and_order() {
        let origin = DomainName::parse_absolute("example.com.").unwrap();
        let www = DomainName::parse_relative_to("www", &origin).unwrap();
        assert_eq!(www.to_string(), "www.example.com.");
        assert_eq!(www.relative_to(&origin), "www");
        assert_eq!(origin.relative_to(&origin), "@");
        assert!(origin < www);
        let z = DomainName::parse_absolute("a.z.com.").unwrap();
        assert!(www < z);
        assert!(www.is_subdomain_of(&origin));
        assert_eq!(www.wire_len(), 17);
    }

    /// The shortcut for names with one parent orders every pair as comparing all labels
    /// from the root down does.
    #[test]
    fn canonical_order_is_label_by_label_from_the_root() {
        let names: Vec<DomainName> = [
            ".",
            "com.",
            "a.com.",
            "b.com.",
            "ab.com.",
            "a.a.com.",
            "z.a.com.",
            "h1.big.test.",
            "h10.big.test.",
            "h2.big.test.",
            "h2.bi.test.",
            "big.test.",
            "*.big.test.",
            r"\000.big.test.",
            r"a\255.big.test.",
            "x.h1.big.test.",
            "test.",
        ]
        .iter()
        .map(|text| DomainName::parse_absolute(text).unwrap())
        .collect();
        for a in &names {
            for b in &names {
                let by_labels = a.labels().rev().cmp(b.labels().rev());
                assert_eq!(a.cmp(b), by_labels, "{a} against {b}");
            }
        }
    }

    #[test]
    fn a_name_rebuilt_from_its_wire_prefix_is_the_same_name() {
        let apex = DomainName::parse_absolute("big.test.").unwrap();
        let host = DomainName::parse_absolute("x.h1.big.test.").unwrap();
        let prefix = host.wire_prefix_below(&apex).unwrap();
        assert_eq!(
            DomainName::with_wire_prefix(prefix, &apex),
            Some(host.clone())
        );
        assert_eq!(apex.wire_prefix_below(&apex), Some(&[][..]));
        assert_eq!(
            host.wire_prefix_below(&DomainName::parse_absolute("other.").unwrap()),
            None
        );
        assert_eq!(
            DomainName::with_wire_prefix(&[2, b'a'], &apex),
            None,
            "cut short"
        );
        assert_eq!(
            DomainName::with_wire_prefix(&[0], &apex),
            None,
            "an empty label"
        );
        assert_eq!(
            DomainName::with_wire_prefix(&[250; 251], &apex),
            None,
            "too long"
        );
    }
}
