//! The consistency checker: reads a whole prefix at one revision (paginated, keys only where
//! values may be large; one revision, so the snapshot is consistent even while daemons write) and verifies the invariants listed in
//! [`crate::schema`], returning a [`Report`] with every violation.

mod report;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use report::{Report, Violation};

use crate::ns::FsError;
use crate::schema::{varint, Entry, Inode, Keys, ParsedKey, CHUNK_SIZE, ROOT_INO};
use crate::store::{prefix_end, KeyValue, Store};

/// Keys read per keys-only range call.
const KEY_PAGE: usize = 1000;
/// Keys read per range call with values: an inode record is at most ~4.2 KiB (symlink
/// target), so a page stays far below the client's 4 MiB message limit.
const VALUE_PAGE: usize = 256;

/// Everything under the prefix, decoded.
#[derive(Default)]
struct Tree {
    next: Option<u64>,
    inodes: BTreeMap<u64, Inode>,
    /// (parent, name) → entry.
    entries: Vec<(u64, Vec<u8>, Entry)>,
    chunks: Vec<(u64, u64)>,
    xattrs: Vec<(u64, Vec<u8>)>,
    orphans: BTreeMap<u64, i64>,
    sessions: BTreeSet<i64>,
    /// (inode, session) of every open record.
    opens: Vec<(u64, i64)>,
    /// (inode, session) of every lock record; (inode, 0) for a lock version key.
    locks: Vec<(u64, Option<i64>)>,
}

/// Checks the tree under `prefix`.
pub async fn check<S: Store>(store: &S, prefix: &[u8]) -> Result<Report, FsError> {
    let keys = Keys::new(prefix);
    let mut report = Report::default();
    let tree = load(store, &keys, &mut report).await?;
    verify(&tree, &mut report.violations);
    report.inodes = tree.inodes.len();
    report.entries = tree.entries.len();
    Ok(report)
}

/// Reads the tree at one revision in two passes: every key without values (chunks and xattrs
/// may be large), then the values of the metadata sections.
async fn load<S: Store>(store: &S, keys: &Keys, report: &mut Report) -> Result<Tree, FsError> {
    let mut tree = Tree::default();
    let (start, end) = keys.all();
    for kv in scan(store, &start, &end, true, report).await? {
        report.keys += 1;
        let parsed = keys.parse(&kv.key);
        let has_metadata = matches!(
            parsed,
            Some(
                ParsedKey::Next
                    | ParsedKey::Inode(_)
                    | ParsedKey::Entry { .. }
                    | ParsedKey::Orphan(_)
                    | ParsedKey::LockVersion(_)
                    | ParsedKey::Lock { .. }
            )
        );
        if !has_metadata {
            decode(keys, &kv.key, &[], &mut tree, &mut report.violations);
        }
    }
    for section in keys.metadata_sections() {
        let end = prefix_end(&section);
        for kv in scan(store, &section, &end, false, report).await? {
            decode(keys, &kv.key, &kv.value, &mut tree, &mut report.violations);
        }
    }
    Ok(tree)
}

/// Every key in `[start, end)` at the report's revision (the first call fixes it).
async fn scan<S: Store>(
    store: &S,
    start: &[u8],
    end: &[u8],
    keys_only: bool,
    report: &mut Report,
) -> Result<Vec<KeyValue>, FsError> {
    let mut out = Vec::new();
    let mut from = start.to_vec();
    loop {
        let page = if keys_only {
            store
                .range_keys(&from, end, KEY_PAGE, report.revision)
                .await?
        } else {
            store.range(&from, end, VALUE_PAGE, report.revision).await?
        };
        if report.revision == 0 {
            report.revision = page.revision;
        }
        let more = page.more;
        out.extend(page.kvs);
        match out.last() {
            Some(last) if more => {
                from = last.key.clone();
                from.push(0);
            }
            _ => return Ok(out),
        }
    }
}

fn decode(keys: &Keys, key: &[u8], value: &[u8], tree: &mut Tree, out: &mut Vec<Violation>) {
    let bad = |out: &mut Vec<Violation>| out.push(Violation::BadValue { key: key.to_vec() });
    match keys.parse(key) {
        None => out.push(Violation::UnknownKey { key: key.to_vec() }),
        Some(ParsedKey::Next) => match varint::get(&mut &value[..]) {
            Some(n) => tree.next = Some(n),
            None => bad(out),
        },
        Some(ParsedKey::Inode(ino)) => match Inode::decode(value) {
            Some(inode) => {
                tree.inodes.insert(ino, inode);
            }
            None => bad(out),
        },
        Some(ParsedKey::Entry { parent, name }) => match Entry::decode(value) {
            Some(e) => tree.entries.push((parent, name, e)),
            None => bad(out),
        },
        Some(ParsedKey::Chunk { ino, index }) => tree.chunks.push((ino, index)),
        Some(ParsedKey::Xattr { ino, name }) => tree.xattrs.push((ino, name)),
        Some(ParsedKey::Orphan(ino)) => match <[u8; 8]>::try_from(value) {
            Ok(b) => {
                tree.orphans.insert(ino, i64::from_be_bytes(b));
            }
            Err(_) => bad(out),
        },
        Some(ParsedKey::Session(lease)) => {
            tree.sessions.insert(lease);
        }
        Some(ParsedKey::Open { ino, lease }) => tree.opens.push((ino, lease)),
        Some(ParsedKey::LockVersion(ino)) => {
            if !value.is_empty() {
                bad(out);
            }
            tree.locks.push((ino, None));
        }
        Some(ParsedKey::Lock { ino, lease, .. }) => {
            if crate::ns::LockRange::decode_record(value).is_none() {
                bad(out);
            }
            tree.locks.push((ino, Some(lease)));
        }
    }
}

fn verify(tree: &Tree, out: &mut Vec<Violation>) {
    match tree.inodes.get(&ROOT_INO) {
        Some(root) if root.is_dir() => {}
        _ => out.push(Violation::NoRoot),
    }
    // Names per inode, subdirectories per directory, the parent of each named directory.
    let mut names: BTreeMap<u64, u64> = BTreeMap::new();
    let mut subdirs: BTreeMap<u64, u64> = BTreeMap::new();
    let mut children: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (parent, name, e) in &tree.entries {
        match tree.inodes.get(parent) {
            Some(p) if p.is_dir() => {}
            _ => out.push(Violation::EntryWithoutDir {
                parent: *parent,
                name: name.clone(),
            }),
        }
        let Some(child) = tree.inodes.get(&e.ino) else {
            out.push(Violation::DanglingEntry {
                parent: *parent,
                name: name.clone(),
                ino: e.ino,
            });
            continue;
        };
        if child.kind() != Some(e.kind) {
            out.push(Violation::EntryTypeMismatch {
                parent: *parent,
                name: name.clone(),
                ino: e.ino,
            });
        }
        *names.entry(e.ino).or_default() += 1;
        if child.is_dir() {
            *subdirs.entry(*parent).or_default() += 1;
            children.entry(*parent).or_default().push(e.ino);
            if child.parent != *parent {
                out.push(Violation::WrongParent {
                    ino: e.ino,
                    stored: child.parent,
                    actual: *parent,
                });
            }
        }
    }
    for (&ino, inode) in &tree.inodes {
        let n = names.get(&ino).copied().unwrap_or(0);
        let expected = if inode.is_dir() {
            let allowed = u64::from(ino != ROOT_INO);
            if n > allowed {
                out.push(Violation::DirectoryMultiplyLinked {
                    ino,
                    names: n as usize,
                });
            }
            if n == 0 && ino != ROOT_INO {
                0
            } else {
                2 + subdirs.get(&ino).copied().unwrap_or(0)
            }
        } else {
            n
        };
        if inode.nlink != expected {
            out.push(Violation::LinkCountMismatch {
                ino,
                stored: inode.nlink,
                expected,
            });
        }
        if n == 0 && ino != ROOT_INO && inode.nlink == 0 && !tree.orphans.contains_key(&ino) {
            out.push(Violation::LostInode { ino });
        }
    }
    // Directories must form a tree hanging from the root.
    let mut seen = BTreeSet::from([ROOT_INO]);
    let mut queue = VecDeque::from([ROOT_INO]);
    while let Some(d) = queue.pop_front() {
        for &c in children.get(&d).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(c) {
                queue.push_back(c);
            }
        }
    }
    for (&ino, inode) in &tree.inodes {
        if inode.is_dir() && names.contains_key(&ino) && !seen.contains(&ino) {
            out.push(Violation::Unreachable { ino });
        }
    }
    let mut counted: BTreeMap<u64, u64> = BTreeMap::new();
    for &(ino, index) in &tree.chunks {
        let Some(inode) = tree.inodes.get(&ino) else {
            out.push(Violation::StrayChunk { ino, index });
            continue;
        };
        *counted.entry(ino).or_default() += 1;
        let past_end = index.saturating_mul(CHUNK_SIZE as u64) >= inode.size;
        if past_end && !inode.chunks_past_eof {
            out.push(Violation::ChunkPastEnd { ino, index });
        }
    }
    for (&ino, inode) in &tree.inodes {
        let actual = counted.get(&ino).copied().unwrap_or(0);
        match inode.chunks {
            Some(stored) if stored != actual => out.push(Violation::ChunkCountMismatch {
                ino,
                stored,
                actual,
            }),
            _ => {}
        }
    }
    for (ino, name) in &tree.xattrs {
        if !tree.inodes.contains_key(ino) {
            out.push(Violation::StrayXattr {
                ino: *ino,
                name: name.clone(),
            });
        }
    }
    for (&ino, &lease) in &tree.orphans {
        match tree.inodes.get(&ino) {
            Some(inode) if inode.nlink == 0 => {
                if !tree.sessions.contains(&lease) {
                    out.push(Violation::ExpiredOrphan { ino, lease });
                }
            }
            _ => out.push(Violation::BadOrphan { ino }),
        }
    }
    // An open record lives with its session's lease, so only its inode can be missing.
    for &(ino, lease) in &tree.opens {
        if !tree.inodes.contains_key(&ino) {
            out.push(Violation::StrayOpen { ino, lease });
        }
    }
    for &(ino, lease) in &tree.locks {
        if !tree.inodes.contains_key(&ino) {
            out.push(Violation::StrayLock { ino });
        } else if let Some(lease) = lease.filter(|l| !tree.sessions.contains(l)) {
            out.push(Violation::ExpiredLock { ino, lease });
        }
    }
    if let Some(&max_ino) = tree.inodes.keys().next_back() {
        let next = tree.next.unwrap_or(0);
        if next <= max_ino {
            out.push(Violation::CounterBehind { next, max_ino });
        }
    }
}
