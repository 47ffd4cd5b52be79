//! The mirror itself: a copy of every key of a key range, kept by merging three sources that
//! arrive in any order: the watch stream (in revision order), this daemon's own committed
//! transactions (applied as soon as they commit, before the watch echoes them), and reads made
//! after a transaction failed its guards. Each key keeps the state of its newest revision; a
//! deletion leaves a tombstone (per key, or per range for a range delete) so that an older put
//! arriving later cannot bring the key back. Tombstones the watch has moved past are dropped.

use std::collections::BTreeMap;

use crate::store::{Event, EventKind, KeyValue, TxnOp};

/// What changed in the mirror when a watch event was merged: the key, its value before, and
/// its value now (`None`: absent). Echoes of changes the mirror already had (this daemon's
/// own) are not changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: Vec<u8>,
    pub old: Option<Vec<u8>>,
    pub new: Option<Vec<u8>>,
}

/// A deleted range `[start, end)` and the revision of its deletion.
#[derive(Debug, Clone)]
struct RangeTomb {
    start: Vec<u8>,
    end: Vec<u8>,
    revision: i64,
}

/// The keys of `[start, end)` as of the revisions merged so far.
#[derive(Debug)]
pub struct Mirror {
    start: Vec<u8>,
    end: Vec<u8>,
    kvs: BTreeMap<Vec<u8>, KeyValue>,
    tombs: BTreeMap<Vec<u8>, i64>,
    range_tombs: Vec<RangeTomb>,
    /// Every watch event up to this revision has been merged.
    watermark: i64,
}

impl Mirror {
    /// An empty mirror of `[start, end)` (`end` empty: no end), at revision `revision`.
    pub fn new(start: Vec<u8>, end: Vec<u8>, revision: i64) -> Mirror {
        Mirror {
            start,
            end,
            kvs: BTreeMap::new(),
            tombs: BTreeMap::new(),
            range_tombs: Vec::new(),
            watermark: revision,
        }
    }

    /// The first key of the mirrored range.
    pub fn start(&self) -> &[u8] {
        &self.start
    }

    /// The end of the mirrored range (empty: no end).
    pub fn end(&self) -> &[u8] {
        &self.end
    }

    /// Whether `key` lies in the mirrored range.
    pub fn covers(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && (self.end.is_empty() || key < self.end.as_slice())
    }

    /// Whether every key of `[start, end)` (`end` empty: no end) lies in the mirrored range.
    pub fn covers_range(&self, start: &[u8], end: &[u8]) -> bool {
        start >= self.start.as_slice()
            && (self.end.is_empty() || (!end.is_empty() && end <= self.end.as_slice()))
    }

    /// The revision up to which the watch has been merged.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.kvs.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.kvs.is_empty()
    }

    /// Adds a key of the initial load.
    pub fn load(&mut self, kv: KeyValue) {
        if self.covers(&kv.key) {
            self.kvs.insert(kv.key.clone(), kv);
        }
    }

    /// The key's newest known state.
    pub fn get(&self, key: &[u8]) -> Option<&KeyValue> {
        self.kvs.get(key)
    }

    /// Keys of `[start, end)` in order, at most `limit` (0: all).
    pub fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<KeyValue> {
        let iter = self
            .kvs
            .range::<[u8], _>((
                std::ops::Bound::Included(start),
                if end.is_empty() {
                    std::ops::Bound::Unbounded
                } else {
                    std::ops::Bound::Excluded(end)
                },
            ))
            .map(|(_, kv)| kv.clone());
        if limit == 0 {
            iter.collect()
        } else {
            iter.take(limit).collect()
        }
    }

    /// Whether a put of `key` at `revision` is older than a deletion already merged.
    fn buried(&self, key: &[u8], revision: i64) -> bool {
        self.tombs.get(key).is_some_and(|&t| t >= revision)
            || self
                .range_tombs
                .iter()
                .any(|t| t.revision >= revision && key >= &t.start[..] && key < &t.end[..])
    }

    /// Merges `kv` as read (or written) at its own mod_revision; returns whether it changed
    /// the mirror.
    fn merge_put(&mut self, kv: KeyValue) -> bool {
        if !self.covers(&kv.key) || self.buried(&kv.key, kv.mod_revision) {
            return false;
        }
        match self.kvs.get(&kv.key) {
            Some(old) if old.mod_revision > kv.mod_revision => false,
            Some(old) if old.mod_revision == kv.mod_revision => {
                // The exact record of a change already applied (an echo): keep its fields.
                self.kvs.insert(kv.key.clone(), kv);
                false
            }
            _ => {
                self.tombs.remove(&kv.key);
                self.kvs.insert(kv.key.clone(), kv);
                true
            }
        }
    }

    /// Merges the deletion of `key` at `revision`; returns whether it changed the mirror.
    fn merge_delete(&mut self, key: &[u8], revision: i64) -> bool {
        if !self.covers(key) {
            return false;
        }
        let newer = self
            .kvs
            .get(key)
            .is_some_and(|kv| kv.mod_revision > revision);
        if newer {
            return false;
        }
        let tomb = self.tombs.entry(key.to_vec()).or_insert(revision);
        *tomb = (*tomb).max(revision);
        self.kvs.remove(key).is_some()
    }

    /// Applies this daemon's own transaction, committed at `revision`: its `then` operations.
    pub fn apply_committed(&mut self, ops: &[TxnOp], revision: i64) {
        for op in ops {
            match op {
                TxnOp::Put { key, value, lease } => {
                    let old = self.kvs.get(key);
                    let kv = KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                        create_revision: old.map_or(revision, |o| o.create_revision),
                        mod_revision: revision,
                        version: old.map_or(1, |o| o.version + 1),
                        lease: *lease,
                    };
                    self.merge_put(kv);
                }
                TxnOp::Delete { key } => {
                    self.merge_delete(key, revision);
                }
                TxnOp::DeleteRange { start, end } => {
                    let doomed: Vec<Vec<u8>> = self
                        .range(start, end, 0)
                        .into_iter()
                        .filter(|kv| kv.mod_revision < revision)
                        .map(|kv| kv.key)
                        .collect();
                    for key in doomed {
                        self.kvs.remove(&key);
                    }
                    self.range_tombs.push(RangeTomb {
                        start: start.clone(),
                        end: end.clone(),
                        revision,
                    });
                }
            }
        }
    }

    /// Merges a point read of `key` made at store revision `at`: `kv` is its value then.
    /// Returns whether the mirror held an older state of the key.
    pub fn apply_read(&mut self, key: &[u8], kv: Option<KeyValue>, at: i64) -> bool {
        match kv {
            Some(kv) => self.merge_put(kv),
            None => self.merge_delete(key, at),
        }
    }

    /// Merges a batch of watch events; returns what they changed.
    pub fn apply_events(&mut self, events: Vec<Event>) -> Vec<Change> {
        let mut changes = Vec::new();
        for event in events {
            let revision = event.kv.mod_revision;
            let key = event.kv.key.clone();
            let old = self.kvs.get(&key).map(|kv| kv.value.clone());
            let (changed, new) = match event.kind {
                EventKind::Put => {
                    let new = event.kv.value.clone();
                    (self.merge_put(event.kv), Some(new))
                }
                EventKind::Delete => (self.merge_delete(&key, revision), None),
            };
            if changed {
                changes.push(Change { key, old, new });
            }
            self.advance(revision);
        }
        changes
    }

    /// The watch has delivered every event up to `revision`: tombstones at or below it can no
    /// longer be overtaken and go.
    pub fn advance(&mut self, revision: i64) {
        if revision <= self.watermark {
            return;
        }
        self.watermark = revision;
        self.tombs.retain(|_, &mut t| t > revision);
        self.range_tombs.retain(|t| t.revision > revision);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str, rev: i64) -> KeyValue {
        KeyValue {
            key: key.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
            create_revision: rev,
            mod_revision: rev,
            version: 1,
            lease: None,
        }
    }

    fn put(key: &str, value: &str, rev: i64) -> Event {
        Event {
            kind: EventKind::Put,
            kv: kv(key, value, rev),
        }
    }

    fn del(key: &str, rev: i64) -> Event {
        Event {
            kind: EventKind::Delete,
            kv: kv(key, "", rev),
        }
    }

    fn value(m: &Mirror, key: &str) -> Option<String> {
        m.get(key.as_bytes())
            .map(|kv| String::from_utf8(kv.value.clone()).unwrap())
    }

    #[test]
    fn own_commit_is_visible_before_its_echo_and_the_echo_is_no_change() {
        let mut m = Mirror::new(b"a".to_vec(), b"z".to_vec(), 1);
        let ops = [TxnOp::Put {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            lease: None,
        }];
        m.apply_committed(&ops, 5);
        assert_eq!(value(&m, "k").as_deref(), Some("v"));
        assert!(m.apply_events(vec![put("k", "v", 5)]).is_empty());
        assert_eq!(m.watermark(), 5);
    }

    #[test]
    fn an_older_event_arriving_after_a_newer_commit_is_ignored() {
        let mut m = Mirror::new(b"a".to_vec(), b"z".to_vec(), 1);
        m.apply_committed(
            &[TxnOp::Put {
                key: b"k".to_vec(),
                value: b"mine".to_vec(),
                lease: None,
            }],
            9,
        );
        // Another host's put at 7, and its delete at 8, reach us only now.
        assert!(m
            .apply_events(vec![put("k", "theirs", 7), del("k", 8)])
            .is_empty());
        assert_eq!(value(&m, "k").as_deref(), Some("mine"));
    }

    #[test]
    fn a_deletion_is_not_undone_by_an_older_put() {
        let mut m = Mirror::new(b"a".to_vec(), b"z".to_vec(), 1);
        m.load(kv("k", "old", 2));
        m.apply_committed(&[TxnOp::Delete { key: b"k".to_vec() }], 6);
        assert_eq!(value(&m, "k"), None);
        assert!(m.apply_events(vec![put("k", "late", 4)]).is_empty());
        assert_eq!(value(&m, "k"), None);
        // A newer put does bring it back, as a change.
        let changes = m.apply_events(vec![put("k", "new", 7)]);
        assert_eq!(changes.len(), 1);
        assert_eq!(value(&m, "k").as_deref(), Some("new"));
    }

    #[test]
    fn a_range_delete_buries_older_puts_inside_it_only() {
        let mut m = Mirror::new(b"a".to_vec(), b"z".to_vec(), 1);
        m.load(kv("c1", "x", 2));
        m.load(kv("d1", "y", 2));
        m.apply_committed(
            &[TxnOp::DeleteRange {
                start: b"c".to_vec(),
                end: b"d".to_vec(),
            }],
            10,
        );
        assert_eq!(value(&m, "c1"), None);
        assert_eq!(value(&m, "d1").as_deref(), Some("y"));
        assert!(m.apply_events(vec![put("c2", "late", 8)]).is_empty());
        assert_eq!(value(&m, "c2"), None);
        // Once the watch is past the deletion, its tombstone is gone.
        m.advance(10);
        assert!(m.range_tombs.is_empty());
    }

    #[test]
    fn events_of_others_are_changes_and_move_the_watermark() {
        let mut m = Mirror::new(b"a".to_vec(), b"z".to_vec(), 1);
        let changes = m.apply_events(vec![put("k", "v", 3), del("k", 4), put("zz", "out", 5)]);
        assert_eq!(
            changes,
            vec![
                Change {
                    key: b"k".to_vec(),
                    old: None,
                    new: Some(b"v".to_vec()),
                },
                Change {
                    key: b"k".to_vec(),
                    old: Some(b"v".to_vec()),
                    new: None,
                }
            ]
        );
        assert_eq!(m.watermark(), 5);
        assert!(m.is_empty());
    }

    #[test]
    fn a_read_after_a_failed_guard_replaces_a_stale_value() {
        let mut m = Mirror::new(b"a".to_vec(), b"z".to_vec(), 1);
        m.load(kv("k", "stale", 2));
        m.apply_read(b"k", Some(kv("k", "fresh", 6)), 6);
        assert_eq!(value(&m, "k").as_deref(), Some("fresh"));
        m.apply_read(b"k", None, 8);
        assert_eq!(value(&m, "k"), None);
        // The watch then delivers the same history: nothing goes back.
        assert!(m.apply_events(vec![put("k", "fresh", 6)]).is_empty());
        assert_eq!(value(&m, "k"), None);
    }

    #[test]
    fn range_reads_respect_bounds_and_limit() {
        let mut m = Mirror::new(Vec::new(), Vec::new(), 1);
        for k in ["a", "b", "c", "d"] {
            m.load(kv(k, k, 2));
        }
        let keys = |v: Vec<KeyValue>| {
            v.into_iter()
                .map(|kv| String::from_utf8(kv.key).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(m.range(b"b", b"d", 0)), ["b", "c"]);
        assert_eq!(keys(m.range(b"a", b"", 3)), ["a", "b", "c"]);
    }
}
