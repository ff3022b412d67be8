//! `RecordSets`: a zone's static record sets as a persistent sequence that remembers which
//! owner names were edited.
//!
//! Every `State` version is immutable and shared with its readers (the DNS plan follower, the
//! API), so a write to one record set of a big zone used to copy the whole zone
//! (`Arc::make_mut` on the zone) before changing one element: O(zone) per write, hundreds of
//! milliseconds for a million sets. Here the sets live in a persistent vector (`imbl::Vector`,
//! a relaxed radix balanced tree): a clone shares every chunk, and putting, replacing or
//! removing one set in a sorted zone copies the O(log n) chunks on its path only.
//!
//! Each value also carries an edit log, outside its equality and its serialized form: the owner
//! names every mutation touched, each under an id from one process-wide counter. Given an
//! older value of the same lineage, `names_changed_since` returns the names edited between the
//! two in O(edits) — what a DNS node's incremental plan compile needs instead of walking both
//! versions of a million sets. The log cannot miss an edit: the sets are reachable for writing
//! only through this type's methods, and each records what it changes. It answers `None`
//! (walk instead) whenever it cannot know: a value built or parsed afresh, an older value from
//! another branch (two clones edited apart), or one past the bounded log.
//!
//! Whether the sets are in canonical (owner, type) order is tracked too, so lookups binary
//! search a sorted zone (every stored zone is: `Zone::normalize`) and scan only one that is
//! not yet normalized, e.g. a payload before `validate`.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Deref, DerefMut, Index, Range};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::name::DomainName;
use crate::model::record::{RecordSet, RecordType};

/// How many edits a value remembers; an older value further back than that is compared by a
/// walk. A DNS node follows every version within milliseconds, so it is rarely more than a
/// few edits behind; the bound keeps the log of a busy zone small.
pub const EDITS_KEPT: usize = 8192;

/// The source of edit ids: increasing along every lineage, unique within the process.
static NEXT_EDIT: AtomicU64 = AtomicU64::new(1);

fn next_edit_id() -> u64 {
    NEXT_EDIT.fetch_add(1, AtomicOrdering::Relaxed)
}

/// One entry of the edit log.
#[derive(Clone)]
struct Edit {
    /// Its id; ids increase along the log.
    id: u64,
    /// The owner name edited; `None` for the entry a lineage starts with.
    name: Option<DomainName>,
}

/// The record sets of one zone (see the module doc). Compares, prints and serializes as the
/// sequence of sets alone (a JSON array, as a `Vec<RecordSet>` did).
#[derive(Clone)]
pub struct RecordSets {
    /// The sets, in canonical order once normalized.
    sets: imbl::Vector<RecordSet>,
    /// True when `sets` is known to be strictly ascending by (owner, type).
    sorted: bool,
    /// The edits, oldest first, at most `EDITS_KEPT` (plus the origin when nothing was
    /// dropped yet).
    edits: imbl::Vector<Edit>,
}

/// The canonical order of sets: owner name, then type.
fn key_order(a: &RecordSet, b: &RecordSet) -> Ordering {
    (&a.name, a.rtype).cmp(&(&b.name, b.rtype))
}

impl Default for RecordSets {
    fn default() -> RecordSets {
        RecordSets::from_sets(imbl::Vector::new())
    }
}

impl RecordSets {
    /// No sets.
    pub fn new() -> RecordSets {
        RecordSets::default()
    }

    /// `sets` as a new lineage (nothing to compare with before it).
    fn from_sets(sets: imbl::Vector<RecordSet>) -> RecordSets {
        let sorted = is_strictly_sorted(&sets);
        let mut edits = imbl::Vector::new();
        edits.push_back(Edit {
            id: next_edit_id(),
            name: None,
        });
        RecordSets {
            sets,
            sorted,
            edits,
        }
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// True when there is no set.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The sets in order.
    pub fn iter(&self) -> imbl::vector::Iter<'_, RecordSet, imbl::shared_ptr::DefaultSharedPtr> {
        self.sets.iter()
    }

    /// The sets at positions `range`, in order; O(log n) to start.
    pub fn range(&self, range: Range<usize>) -> impl DoubleEndedIterator<Item = &RecordSet> + '_ {
        self.sets.focus().narrow(range).into_iter()
    }

    /// The set at `index`, if any.
    pub fn get(&self, index: usize) -> Option<&RecordSet> {
        self.sets.get(index)
    }

    /// The first set, if any.
    pub fn first(&self) -> Option<&RecordSet> {
        self.sets.front()
    }

    /// The last set, if any.
    pub fn last(&self) -> Option<&RecordSet> {
        self.sets.back()
    }

    /// True when the sets are in canonical (owner, type) order without repeats.
    pub fn is_sorted(&self) -> bool {
        self.sorted
    }

    /// The sets as a plain vector (a copy).
    pub fn to_vec(&self) -> Vec<RecordSet> {
        self.sets.iter().cloned().collect()
    }

    /// The first position whose set does not satisfy `before` (which must hold for a prefix
    /// of the sets and not after it), by binary search.
    pub fn partition_point(&self, mut before: impl FnMut(&RecordSet) -> bool) -> usize {
        match self.sets.binary_search_by(|set| {
            if before(set) {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }) {
            Ok(index) | Err(index) => index,
        }
    }

    /// The position of the set of `name` and `rtype`, if any: a binary search when sorted,
    /// else a scan.
    pub fn position(&self, name: &DomainName, rtype: RecordType) -> Option<usize> {
        if self.sorted {
            self.sets
                .binary_search_by(|set| (&set.name, set.rtype).cmp(&(name, rtype)))
                .ok()
        } else {
            self.sets
                .iter()
                .position(|set| &set.name == name && set.rtype == rtype)
        }
    }

    /// The positions of the sets owned by `name`: contiguous in a sorted zone. Only for
    /// sorted sets (`None` otherwise).
    pub fn positions_of_name(&self, name: &DomainName) -> Option<Range<usize>> {
        if !self.sorted {
            return None;
        }
        let start = self.partition_point(|set| set.name < *name);
        let end = self.partition_point(|set| set.name <= *name);
        Some(start..end)
    }

    /// The sets owned by `name` (any order).
    pub fn sets_of_name<'a>(
        &'a self,
        name: &'a DomainName,
    ) -> Box<dyn Iterator<Item = &'a RecordSet> + 'a> {
        match self.positions_of_name(name) {
            Some(range) => Box::new(self.range(range)),
            None => Box::new(self.sets.iter().filter(move |set| &set.name == name)),
        }
    }

    /// Records that `name` was edited.
    fn note(&mut self, name: &DomainName) {
        if self.edits.len() > EDITS_KEPT {
            self.edits.pop_front();
        }
        self.edits.push_back(Edit {
            id: next_edit_id(),
            name: Some(name.clone()),
        });
    }

    /// Appends `set`.
    pub fn push(&mut self, set: RecordSet) {
        self.note(&set.name);
        self.push_unnoted(set);
    }

    /// Appends `set` without noting it, keeping `sorted` true to the sets.
    fn push_unnoted(&mut self, set: RecordSet) {
        if self
            .sets
            .back()
            .is_some_and(|last| key_order(last, &set) != Ordering::Less)
        {
            self.sorted = false;
        }
        self.sets.push_back(set);
    }

    /// Puts `set` in place of the set with its owner and type, or adds it; a sorted zone
    /// stays sorted and costs O(log n). Returns the set replaced.
    pub fn put(&mut self, set: RecordSet) -> Option<RecordSet> {
        self.note(&set.name);
        if !self.sorted {
            let replaced = self.take_unnoted(&set.name, set.rtype);
            self.sets.push_back(set);
            self.sorted = is_strictly_sorted(&self.sets);
            return replaced;
        }
        match self.sets.binary_search_by(|other| key_order(other, &set)) {
            Ok(index) => Some(self.sets.set(index, set)),
            Err(index) => {
                self.sets.insert(index, set);
                None
            }
        }
    }

    /// Removes the set of `name` and `rtype`, if any, and returns it.
    pub fn take(&mut self, name: &DomainName, rtype: RecordType) -> Option<RecordSet> {
        let taken = self.take_unnoted(name, rtype);
        if taken.is_some() {
            self.note(name);
        }
        taken
    }

    fn take_unnoted(&mut self, name: &DomainName, rtype: RecordType) -> Option<RecordSet> {
        let index = self.position(name, rtype)?;
        Some(self.sets.remove(index))
    }

    /// Removes and returns the set at `index` (panics past the end).
    pub fn remove(&mut self, index: usize) -> RecordSet {
        let set = self.sets.remove(index);
        self.note(&set.name);
        set
    }

    /// Keeps only the sets `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&RecordSet) -> bool) {
        let mut dropped: Vec<DomainName> = Vec::new();
        self.sets.retain(|set| {
            let kept = keep(set);
            if !kept {
                dropped.push(set.name.clone());
            }
            kept
        });
        for name in &dropped {
            self.note(name);
        }
    }

    /// The set at `index` for writing, if any; its owner name (before and after) is noted
    /// as edited when the guard is dropped.
    pub fn get_mut(&mut self, index: usize) -> Option<SetMut<'_>> {
        let before = self.sets.get(index)?.name.clone();
        Some(SetMut {
            sets: self,
            index,
            before,
        })
    }

    /// Appends `sets` and starts a new lineage: nothing is noted, and no older value can be
    /// compared with the result through the log (`names_changed_since` answers `None`). For a
    /// value being built that nothing serves yet, e.g. a staged import growing chunk by
    /// chunk, where noting each of a million names would be wasted.
    pub fn append_as_new_lineage(&mut self, sets: impl IntoIterator<Item = RecordSet>) {
        for set in sets {
            self.push_unnoted(set);
        }
        self.edits = RecordSets::new().edits;
    }

    /// True when `other` holds the very same persistent vector (a clone, not yet edited
    /// apart): copying it cost pointers only.
    pub fn shares_storage_with(&self, other: &RecordSets) -> bool {
        self.sets.ptr_eq(&other.sets)
    }

    /// Sorts the sets into canonical (owner, type) order, equal keys keeping their order (a
    /// stable sort); a no-op for sorted sets. The content per name is unchanged, so nothing
    /// is noted as edited.
    pub fn normalize(&mut self) {
        if self.sorted {
            return;
        }
        // Moved out (not cloned): the sets are held once while sorted.
        let mut sets: Vec<RecordSet> = std::mem::take(&mut self.sets).into_iter().collect();
        sets.sort_by(key_order);
        self.sets = sets.into_iter().collect();
        self.sorted = is_strictly_sorted(&self.sets);
    }

    /// The owner names edited since `older`, a previous value of this one, in no particular
    /// order and possibly repeated; `None` when that cannot be known from the log (see the
    /// module doc), and the caller must compare the two in full.
    pub fn names_changed_since(&self, older: &RecordSets) -> Option<Vec<DomainName>> {
        let head = older.edits.back()?.id;
        let position = self
            .edits
            .binary_search_by(|edit| edit.id.cmp(&head))
            .ok()?;
        self.edits
            .focus()
            .narrow(position + 1..self.edits.len())
            .into_iter()
            .map(|edit| edit.name.clone())
            .collect()
    }
}

/// True when `sets` ascend strictly by (owner, type).
fn is_strictly_sorted(sets: &imbl::Vector<RecordSet>) -> bool {
    let mut previous: Option<&RecordSet> = None;
    for set in sets {
        if previous.is_some_and(|previous| key_order(previous, set) != Ordering::Less) {
            return false;
        }
        previous = Some(set);
    }
    true
}

/// Write access to one set of a `RecordSets` (`RecordSets::get_mut`): dropping it notes the
/// set's owner name as edited and re-checks the order around it.
pub struct SetMut<'a> {
    sets: &'a mut RecordSets,
    index: usize,
    before: DomainName,
}

impl Deref for SetMut<'_> {
    type Target = RecordSet;

    fn deref(&self) -> &RecordSet {
        &self.sets.sets[self.index]
    }
}

impl DerefMut for SetMut<'_> {
    fn deref_mut(&mut self) -> &mut RecordSet {
        &mut self.sets.sets[self.index]
    }
}

impl Drop for SetMut<'_> {
    fn drop(&mut self) {
        let sets = &mut *self.sets;
        let after = sets.sets[self.index].name.clone();
        sets.note(&self.before);
        if after != self.before {
            sets.note(&after);
        }
        if sets.sorted {
            let set = &sets.sets[self.index];
            let after_previous =
                self.index == 0 || key_order(&sets.sets[self.index - 1], set) == Ordering::Less;
            let before_next = sets
                .sets
                .get(self.index + 1)
                .is_none_or(|next| key_order(set, next) == Ordering::Less);
            sets.sorted = after_previous && before_next;
        }
    }
}

impl Index<usize> for RecordSets {
    type Output = RecordSet;

    fn index(&self, index: usize) -> &RecordSet {
        &self.sets[index]
    }
}

impl PartialEq for RecordSets {
    fn eq(&self, other: &RecordSets) -> bool {
        self.sets == other.sets
    }
}

impl Eq for RecordSets {}

impl PartialEq<Vec<RecordSet>> for RecordSets {
    fn eq(&self, other: &Vec<RecordSet>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for RecordSets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.sets.iter()).finish()
    }
}

impl From<Vec<RecordSet>> for RecordSets {
    fn from(sets: Vec<RecordSet>) -> RecordSets {
        sets.into_iter().collect()
    }
}

impl From<imbl::Vector<RecordSet>> for RecordSets {
    fn from(sets: imbl::Vector<RecordSet>) -> RecordSets {
        RecordSets::from_sets(sets)
    }
}

impl FromIterator<RecordSet> for RecordSets {
    fn from_iter<I: IntoIterator<Item = RecordSet>>(sets: I) -> RecordSets {
        RecordSets::from_sets(sets.into_iter().collect())
    }
}

impl Extend<RecordSet> for RecordSets {
    /// Appends `sets`, each noted as edited; more than `EDITS_KEPT` of them (a staged import
    /// assembling its zone) start a new lineage instead, as no older value could be compared
    /// through the log anyway.
    fn extend<I: IntoIterator<Item = RecordSet>>(&mut self, sets: I) {
        let mut added = 0usize;
        for set in sets {
            added += 1;
            if added <= EDITS_KEPT {
                self.push(set);
                continue;
            }
            if added == EDITS_KEPT + 1 {
                self.edits = RecordSets::new().edits;
            }
            self.push_unnoted(set);
        }
    }
}

impl<'a> IntoIterator for &'a RecordSets {
    type Item = &'a RecordSet;
    type IntoIter = imbl::vector::Iter<'a, RecordSet, imbl::shared_ptr::DefaultSharedPtr>;

    fn into_iter(self) -> Self::IntoIter {
        self.sets.iter()
    }
}

impl IntoIterator for RecordSets {
    type Item = RecordSet;
    type IntoIter = imbl::vector::ConsumingIter<RecordSet, imbl::shared_ptr::DefaultSharedPtr>;

    fn into_iter(self) -> Self::IntoIter {
        self.sets.into_iter()
    }
}

impl Serialize for RecordSets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.sets.iter())
    }
}

impl<'de> Deserialize<'de> for RecordSets {
    /// Read straight into the persistent vector, without an intermediate `Vec` (a million
    /// sets would be held twice at the peak).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RecordSets, D::Error> {
        struct SetsVisitor;

        impl<'de> Visitor<'de> for SetsVisitor {
            type Value = RecordSets;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of record sets")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RecordSets, A::Error> {
                let mut sets = imbl::Vector::new();
                while let Some(set) = seq.next_element::<RecordSet>()? {
                    sets.push_back(set);
                }
                Ok(RecordSets::from_sets(sets))
            }
        }

        deserializer.deserialize_seq(SetsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::RData;

    fn set(owner: &str, last_octet: u8) -> RecordSet {
        RecordSet {
            name: DomainName::parse_absolute(owner).unwrap(),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A([192, 0, 2, last_octet].into())],
        }
    }

    fn names(list: Option<Vec<DomainName>>) -> Option<Vec<String>> {
        list.map(|names| {
            let mut names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
            names.sort();
            names.dedup();
            names
        })
    }

    fn sample() -> RecordSets {
        (0..100)
            .map(|index| set(&format!("h{index:03}.example."), index))
            .collect()
    }

    #[test]
    fn every_mutation_is_noted_and_a_clone_sees_only_what_came_after_it() {
        let base = sample();
        assert!(base.is_sorted());
        let mut next = base.clone();
        assert_eq!(names(next.names_changed_since(&base)), Some(vec![]));
        next.put(set("h010.example.", 99));
        next.put(set("new.example.", 1));
        next.take(
            &DomainName::parse_absolute("h020.example.").unwrap(),
            RecordType::A,
        );
        next.get_mut(30).unwrap().name = DomainName::parse_absolute("h030b.example.").unwrap();
        next.retain(|set| set.name.to_string() != "h040.example.");
        assert!(next.is_sorted());
        assert_eq!(
            names(next.names_changed_since(&base)),
            Some(
                [
                    "h010.example.",
                    "h020.example.",
                    "h031.example.",
                    "h030b.example.",
                    "h040.example.",
                    "new.example."
                ]
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>()
            )
            .map(|mut list: Vec<String>| {
                list.sort();
                list
            })
        );
        let later = next.clone();
        let mut last = later.clone();
        last.put(set("h050.example.", 7));
        assert_eq!(
            names(last.names_changed_since(&later)),
            Some(vec!["h050.example.".to_string()])
        );
    }

    #[test]
    fn unknowable_comparisons_say_so() {
        let base = sample();
        let fresh = sample();
        assert_eq!(fresh.names_changed_since(&base).map(|_| ()), None);
        // Two branches of one value: neither is a predecessor of the other.
        let (mut left, mut right) = (base.clone(), base.clone());
        left.put(set("left.example.", 1));
        right.put(set("right.example.", 1));
        assert!(left.names_changed_since(&right).is_none());
        assert!(right.names_changed_since(&left).is_none());
        // Past the bounded log.
        let mut busy = base.clone();
        for round in 0..EDITS_KEPT + 10 {
            busy.put(set("busy.example.", (round % 250) as u8));
        }
        assert!(busy.names_changed_since(&base).is_none());
        // A round trip through JSON is a new lineage, equal in content.
        let json = serde_json::to_string(&base).unwrap();
        let parsed: RecordSets = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, base);
        assert_eq!(json, serde_json::to_string(&base.to_vec()).unwrap());
        assert!(parsed.names_changed_since(&base).is_none());
    }

    #[test]
    fn order_is_tracked_and_lookups_agree_with_a_scan() {
        let mut sets = RecordSets::new();
        sets.push(set("b.example.", 1));
        sets.push(set("a.example.", 1));
        assert!(!sets.is_sorted());
        let a = DomainName::parse_absolute("a.example.").unwrap();
        assert_eq!(sets.position(&a, RecordType::A), Some(1));
        sets.put(set("c.example.", 1));
        assert_eq!(sets.len(), 3);
        sets.normalize();
        assert!(sets.is_sorted());
        assert_eq!(sets.position(&a, RecordType::A), Some(0));
        assert_eq!(sets.positions_of_name(&a), Some(0..1));
        sets.get_mut(0).unwrap().name = DomainName::parse_absolute("z.example.").unwrap();
        assert!(!sets.is_sorted());
        let replaced = sets.put(set("z.example.", 9));
        assert!(replaced.is_some());
        assert_eq!(sets.len(), 3);
    }
}
