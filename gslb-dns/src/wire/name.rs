//! `QueryName`: a question name parsed in place into a fixed stack buffer, lower-cased for
//! lookup, with the offset of every label so suffixes (zone apexes, closest enclosers) are
//! slices without copying.
//!
//! Invariant: a `QueryName` never allocates; it holds at most 255 octets of wire form
//! (RFC 1035 §2.3.4), hence at most 127 labels.

/// The longest name on the wire, root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// The most labels a 255-octet name can have (each takes at least 2 octets).
const MAX_LABELS: usize = 128;

/// A lower-cased, uncompressed wire-form domain name on the stack.
#[derive(Clone)]
pub struct QueryName {
    /// The wire form, lower-cased ASCII, ending with the root label (0).
    lower: [u8; MAX_NAME_LEN],
    /// Octets used in `lower`.
    len: usize,
    /// `starts[i]` is the offset of label `i` (most specific first); `starts[n_labels]` is
    /// the offset of the root label.
    starts: [u8; MAX_LABELS],
    /// Number of labels, not counting the root.
    n_labels: usize,
}

/// Copies `from` into `to` (same length) with ASCII upper case letters lowered, eight
/// octets at a time. Length octets (at most 63) are below `A` and pass unchanged, so a
/// whole wire name can go through at once.
fn lower_case_into(to: &mut [u8], from: &[u8]) {
    let mut to_chunks = to.chunks_exact_mut(8);
    let mut from_chunks = from.chunks_exact(8);
    for (out, chunk) in (&mut to_chunks).zip(&mut from_chunks) {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        out.copy_from_slice(&lower_case_word(word).to_le_bytes());
    }
    for (out, byte) in to_chunks
        .into_remainder()
        .iter_mut()
        .zip(from_chunks.remainder())
    {
        *out = byte.to_ascii_lowercase();
    }
}

/// Eight octets with each of `A`..=`Z` lowered and every other octet unchanged: per octet,
/// adding to its low seven bits sets the top bit from `A` on (`+ 0x3F`) and from past `Z` on
/// (`+ 0x25`), without carries between octets; octets with the top bit set are no letters.
#[inline]
fn lower_case_word(word: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let low = word & LOW7;
    let from_a = low + 0x3F3F_3F3F_3F3F_3F3F;
    let past_z = low + 0x2525_2525_2525_2525;
    let upper = from_a & !past_z & !word & TOP;
    word | upper >> 2
}

/// Why a name could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameParseError {
    /// The packet ended inside the name.
    #[error("name runs past the end of the packet")]
    Truncated,
    /// A compression pointer where none is allowed (the question has nothing before it).
    #[error("compression pointer in the question name")]
    Pointer,
    /// A label type 0x40 or 0x80 (RFC 6891 §5 retired extended label types).
    #[error("reserved label type")]
    ReservedLabelType,
    /// More than 255 octets in wire form.
    #[error("name longer than 255 octets")]
    TooLong,
}

impl Default for QueryName {
    fn default() -> Self {
        Self::root()
    }
}

impl QueryName {
    /// The root name.
    pub fn root() -> Self {
        QueryName {
            lower: [0; MAX_NAME_LEN],
            len: 1,
            starts: [0; MAX_LABELS],
            n_labels: 0,
        }
    }

    /// Reads an uncompressed name starting at `pos` in `packet`; returns the name and the
    /// offset just past it.
    pub fn parse(packet: &[u8], pos: usize) -> Result<(QueryName, usize), NameParseError> {
        let mut name = QueryName::root();
        let end = name.parse_into(packet, pos)?;
        Ok((name, end))
    }

    /// `parse` into an existing value (the answer path reuses one on its stack instead of
    /// moving a 400-octet value around); returns the offset just past the name.
    pub fn parse_into(&mut self, packet: &[u8], mut pos: usize) -> Result<usize, NameParseError> {
        // First walk the length octets (the name is uncompressed, so it is one run of the
        // packet), then copy that run lower-cased eight octets at a time; lengths are kept
        // in locals and stored once.
        let first = pos;
        let mut used = 0;
        let mut labels = 0;
        self.len = 0;
        self.n_labels = 0;
        loop {
            let len = *packet.get(pos).ok_or(NameParseError::Truncated)? as usize;
            match len & 0xC0 {
                0x00 => {}
                0xC0 => return Err(NameParseError::Pointer),
                _ => return Err(NameParseError::ReservedLabelType),
            }
            if len == 0 {
                break;
            }
            // Label plus its length octet plus at least the root label must fit.
            if used + 1 + len + 1 > MAX_NAME_LEN {
                return Err(NameParseError::TooLong);
            }
            if pos + 1 + len > packet.len() {
                return Err(NameParseError::Truncated);
            }
            self.starts[labels] = used as u8;
            labels += 1;
            used += 1 + len;
            pos += 1 + len;
        }
        self.starts[labels] = used as u8;
        let wire = used + 1;
        lower_case_into(&mut self.lower[..wire], &packet[first..first + wire]);
        self.len = wire;
        self.n_labels = labels;
        Ok(pos + 1)
    }

    /// Reads a lower-cased uncompressed wire name held in our own data (a CNAME target).
    /// Returns `None` when `wire` is not exactly one well-formed name.
    pub fn from_wire(wire: &[u8]) -> Option<QueryName> {
        match QueryName::parse(wire, 0) {
            Ok((name, end)) if end == wire.len() => Some(name),
            _ => None,
        }
    }

    /// The whole name in wire form, lower-cased.
    pub fn as_wire(&self) -> &[u8] {
        &self.lower[..self.len]
    }

    /// Length of the wire form, root label included.
    pub fn wire_len(&self) -> usize {
        self.len
    }

    /// Number of labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.n_labels
    }

    /// Offset (within the wire form) where the suffix that drops the first `skip` labels
    /// starts; `skip == label_count()` gives the root label's offset.
    pub fn suffix_offset(&self, skip: usize) -> usize {
        self.starts[skip.min(self.n_labels)] as usize
    }

    /// The wire form with the first `skip` labels removed.
    pub fn suffix(&self, skip: usize) -> &[u8] {
        &self.lower[self.suffix_offset(skip)..self.len]
    }

    /// True when the name equals `wire` (lower-case wire form).
    pub fn eq_wire(&self, wire: &[u8]) -> bool {
        self.as_wire() == wire
    }
}

impl std::fmt::Debug for QueryName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueryName(")?;
        for index in 0..self.n_labels {
            let start = self.starts[index] as usize;
            let len = self.lower[start] as usize;
            for &byte in &self.lower[start + 1..start + 1 + len] {
                if byte.is_ascii_graphic() && byte != b'.' && byte != b'\\' {
                    write!(f, "{}", byte as char)?;
                } else {
                    write!(f, "\\{byte:03}")?;
                }
            }
            f.write_str(".")?;
        }
        if self.n_labels == 0 {
            f.write_str(".")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lower_exactly_the_ascii_capitals() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                // Neighbours of every kind, so no carry or borrow leaks between octets.
                for fill in [0x00u8, 0x40, 0x41, 0x5A, 0x5B, 0x7F, 0x80, 0xC1, 0xFF] {
                    let mut octets = [fill; 8];
                    octets[position] = byte;
                    let lowered = lower_case_word(u64::from_le_bytes(octets)).to_le_bytes();
                    assert_eq!(
                        lowered,
                        octets.map(|o| o.to_ascii_lowercase()),
                        "{octets:x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn names_of_every_length_are_lowered_whole() {
        for length in 1..=63usize {
            let label: Vec<u8> = (0..length).map(|i| b"AbZz-0Q_"[i % 8]).collect();
            let mut wire = vec![length as u8];
            wire.extend_from_slice(&label);
            wire.extend_from_slice(b"\x03COM\x00");
            let (name, end) = QueryName::parse(&wire, 0).unwrap();
            assert_eq!(end, wire.len());
            assert_eq!(name.as_wire(), wire.to_ascii_lowercase().as_slice());
            assert_eq!(name.label_count(), 2);
        }
    }

    fn check(packet: &[u8], expected: Result<(&[u8], usize, usize), NameParseError>) {
        let got = QueryName::parse(packet, 0)
            .map(|(name, end)| (name.as_wire().to_vec(), name.label_count(), end));
        let expected = expected.map(|(wire, labels, end)| (wire.to_vec(), labels, end));
        assert_eq!(got, expected, "packet {packet:?}");
    }

    #[test]
    fn parses_and_lowercases_rfc1035_section_3_1() {
        check(
            b"\x03WwW\x07ExAmPle\x03com\x00rest",
            Ok((b"\x03www\x07example\x03com\x00", 3, 17)),
        );
        check(b"\x00", Ok((b"\x00", 0, 1)));
    }

    #[test]
    fn rejects_malformed_names_rfc1035_section_4_1_4() {
        check(b"\x03www", Err(NameParseError::Truncated));
        check(b"\x03www\x07exa", Err(NameParseError::Truncated));
        check(b"\xc0\x0c", Err(NameParseError::Pointer));
        check(b"\x41abc\x00", Err(NameParseError::ReservedLabelType));
        check(b"\x81abc\x00", Err(NameParseError::ReservedLabelType));
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        check(&long, Err(NameParseError::TooLong));
    }

    #[test]
    fn suffixes_follow_labels() {
        let (name, _) = QueryName::parse(b"\x01a\x02bc\x00", 0).unwrap();
        assert_eq!(name.suffix(0), b"\x01a\x02bc\x00");
        assert_eq!(name.suffix(1), b"\x02bc\x00");
        assert_eq!(name.suffix(2), b"\x00");
        assert_eq!(name.suffix_offset(1), 2);
    }

    #[test]
    fn a_name_of_exactly_255_octets_is_accepted() {
        let mut wire = Vec::new();
        for _ in 0..3 {
            wire.push(63);
            wire.extend_from_slice(&[b'a'; 63]);
        }
        wire.push(61);
        wire.extend_from_slice(&[b'b'; 61]);
        wire.push(0);
        assert_eq!(wire.len(), 255);
        let (name, end) = QueryName::parse(&wire, 0).unwrap();
        assert_eq!((name.wire_len(), end), (255, 255));
    }
}
