//! Denial of existence, synthesized per answer: the NSEC RDATA of compact denial (RFC 9824)
//! and the minimally covering names of RFC 4470.
//!
//! - NODATA and NXDOMAIN alike are answered as NODATA with one NSEC owned by the name asked
//!   for, whose next name is its immediate successor (`\000.name`): it covers no other name,
//!   so a resolver can neither enumerate the zone from it nor deny a name it did not ask
//!   about (RFC 8198 aggressive use stays correct). Its type bitmap lists the types the name
//!   has, without the one asked for; a name that does not exist lists only RRSIG, NSEC and
//!   NXNAME (RFC 9824 §3.2), so a resolver that knows RFC 9824 can tell NXDOMAIN back.
//! - A wildcard answer proves that the next closer name does not exist with an NSEC from a
//!   name just before it to a name just after everything below it (RFC 4470 §3.1), since
//!   the RRSIG's labels field says "wildcard" (RFC 4035 §5.3.4).

/// The NXNAME meta type (RFC 9824 §3.2): "this name does not exist".
pub(crate) const NXNAME: u16 = 128;
/// RRSIG.
pub(crate) const RRSIG: u16 = 46;
/// NSEC.
pub(crate) const NSEC: u16 = 47;

/// The RFC 4034 §4.1.2 type bitmap of `types` (any order, duplicates allowed).
pub(crate) fn type_bitmap(types: &mut Vec<u16>, out: &mut Vec<u8>) {
    types.sort_unstable();
    types.dedup();
    let mut index = 0;
    while index < types.len() {
        let window = (types[index] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while index < types.len() && (types[index] >> 8) as u8 == window {
            let low = (types[index] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            index += 1;
        }
        out.push(window);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
}

/// The immediate successor of `name` in canonical order (RFC 4470 §3.1.2): `\000.name`, or
/// when that is too long, the name with its first label's last octet incremented.
pub(crate) fn successor(name: &[u8]) -> Vec<u8> {
    if name.len() + 2 <= 255 {
        let mut next = vec![1, 0];
        next.extend_from_slice(name);
        return next;
    }
    subtree_successor(name).unwrap_or_else(|| name.to_vec())
}

/// A name after `name` and everything below it, before any later sibling: the first label
/// with a `\000` octet appended (`b.zone` → `b\000.zone`), or its last octet incremented
/// when the label is full. `None` for the root or a label that cannot grow.
pub(crate) fn subtree_successor(name: &[u8]) -> Option<Vec<u8>> {
    let label_len = *name.first()? as usize;
    if label_len == 0 {
        return None;
    }
    let mut next = Vec::with_capacity(name.len() + 1);
    if label_len < 63 && name.len() < 255 {
        next.push(label_len as u8 + 1);
        next.extend_from_slice(&name[1..=label_len]);
        next.push(0);
    } else {
        let mut label = name[1..=label_len].to_vec();
        let last = label.last_mut()?;
        if *last == 0xFF {
            return None;
        }
        *last += 1;
        if last.is_ascii_uppercase() {
            // Canonical order compares lower-cased: skip past the upper-case letters.
            *last = b'[';
        }
        next.push(label_len as u8);
        next.extend_from_slice(&label);
    }
    next.extend_from_slice(&name[1 + label_len..]);
    Some(next)
}

/// A name just before `name` among its siblings (RFC 4470 §3.1.1, simplified): the first
/// label's last octet decremented, then `\255` appended while the label has room
/// (`b.zone` → `a\255.zone`); a label ending in `\000` loses that octet instead. `None` when
/// no such sibling exists (a label that is one `\000`, or the root).
pub(crate) fn predecessor(name: &[u8]) -> Option<Vec<u8>> {
    let label_len = *name.first()? as usize;
    if label_len == 0 {
        return None;
    }
    let mut label = name[1..=label_len].to_vec();
    let last = *label.last()?;
    if last == 0 {
        label.pop();
        if label.is_empty() {
            return None;
        }
    } else {
        let mut lowered = last - 1;
        if lowered.is_ascii_uppercase() {
            // `[`..`` ` `` sort after `Z` once lower-cased; step below the upper-case letters.
            lowered = b'@';
        }
        *label.last_mut()? = lowered;
        if label.len() < 63 && name.len() < 255 {
            label.push(0xFF);
        }
    }
    let mut previous = Vec::with_capacity(name.len() + 1);
    previous.push(label.len() as u8);
    previous.extend_from_slice(&label);
    previous.extend_from_slice(&name[1 + label_len..]);
    Some(previous)
}

/// NSEC RDATA: `next` (uncompressed wire) then the bitmap of `types`.
pub(crate) fn nsec_rdata(next: &[u8], types: &mut Vec<u16>) -> Vec<u8> {
    let mut rdata = next.to_vec();
    type_bitmap(types, &mut rdata);
    rdata
}

/// Compares two lower-case wire names in DNSSEC canonical order (RFC 4034 §6.1).
#[cfg(test)]
pub(crate) fn canonical_cmp(left: &[u8], right: &[u8]) -> std::cmp::Ordering {
    fn labels(name: &[u8]) -> Vec<&[u8]> {
        let mut labels = Vec::new();
        let mut pos = 0;
        while pos < name.len() && name[pos] != 0 {
            let len = name[pos] as usize;
            labels.push(&name[pos + 1..pos + 1 + len]);
            pos += 1 + len;
        }
        labels.reverse();
        labels
    }
    labels(left).cmp(&labels(right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn wire(text: &str) -> Vec<u8> {
        gslb_model::DomainName::parse_absolute(text)
            .unwrap()
            .to_wire()
    }

    #[test]
    fn bitmap_matches_rfc_4034_example() {
        // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
        let mut out = Vec::new();
        type_bitmap(&mut vec![1, 15, 46, 47, 1234], &mut out);
        let mut expected = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        expected.extend_from_slice(&[0; 26]);
        expected.push(0x20);
        assert_eq!(out, expected);
    }

    #[test]
    fn covering_names_enclose_only_the_name_and_its_subtree() {
        for name in ["b.example.", "www.example.", "a0.example.", "x.y.example."] {
            let name = wire(name);
            let before = predecessor(&name).unwrap();
            let after = subtree_successor(&name).unwrap();
            let child = [b"\x01z".as_slice(), &name].concat();
            assert_eq!(canonical_cmp(&before, &name), Ordering::Less);
            assert_eq!(canonical_cmp(&name, &after), Ordering::Less);
            assert_eq!(canonical_cmp(&child, &after), Ordering::Less);
            assert_eq!(canonical_cmp(&name, &successor(&name)), Ordering::Less);
        }
    }
}
