//! A worker's in-memory model of its own subtree: every name (file, symlink, directory), every
//! file's bytes and extended attributes, and which names are hard links to the same inode.
//! The filesystem under test must always agree with it. No I/O here.
//!
//! Paths are relative to the worker's directory, '/'-separated: base directories `d0`..`dN`
//! (they live for the whole run) and made-and-removed directories one level below them
//! (`d2/s7`). Files and symlinks live in either kind.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// How many recent operations an inode remembers (for failure messages).
const HISTORY: usize = 64;

/// A node of the tree, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file: the key into [`Model::inodes`].
    File(u64),
    /// A symbolic link with its target.
    Symlink(String),
    /// A directory.
    Dir,
}

/// A regular file's contents and names.
#[derive(Debug, Clone, Default)]
pub struct Inode {
    pub data: Vec<u8>,
    /// Every path naming this inode (its link count is `names.len()`).
    pub names: Vec<String>,
    /// Extended attributes in the `user.soak.` namespace.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// The most recent operations on this inode, oldest first (for failure messages).
    pub history: VecDeque<String>,
}

impl Inode {
    /// Remembers an operation.
    pub fn note(&mut self, what: String) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(what);
    }

    /// The remembered operations, oldest first, as one line.
    pub fn history_line(&self) -> String {
        let v: Vec<&str> = self.history.iter().map(String::as_str).collect();
        format!(
            "last {} operations on this inode: {}",
            v.len(),
            v.join("; ")
        )
    }
}

/// The whole subtree.
#[derive(Debug, Default)]
pub struct Model {
    pub entries: BTreeMap<String, Entry>,
    pub inodes: HashMap<u64, Inode>,
    next_ino: u64,
    next_name: u64,
}

/// The parent directory of a relative path ("" for a top-level name).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

impl Model {
    /// A name never used before in this run: `prefix` + a counter.
    pub fn fresh_name(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }

    /// The names directly inside `dir` ("" is the worker's directory).
    pub fn children(&self, dir: &str) -> Vec<(&str, &Entry)> {
        self.entries
            .iter()
            .filter(|(p, _)| parent(p) == dir)
            .map(|(p, e)| (p.rsplit_once('/').map_or(p.as_str(), |(_, n)| n), e))
            .collect()
    }

    /// Every directory path.
    pub fn dirs(&self) -> Vec<String> {
        self.paths_where(|e| matches!(e, Entry::Dir))
    }

    /// Every path naming a regular file.
    pub fn files(&self) -> Vec<String> {
        self.paths_where(|e| matches!(e, Entry::File(_)))
    }

    /// Every symlink path.
    pub fn symlinks(&self) -> Vec<String> {
        self.paths_where(|e| matches!(e, Entry::Symlink(_)))
    }

    fn paths_where(&self, f: impl Fn(&Entry) -> bool) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e)| f(e))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The inode a file path names.
    pub fn ino(&self, path: &str) -> Option<u64> {
        match self.entries.get(path) {
            Some(Entry::File(ino)) => Some(*ino),
            _ => None,
        }
    }

    /// The inode behind a file path (panics on a non-file: callers pick from [`Self::files`]).
    pub fn inode(&self, path: &str) -> &Inode {
        &self.inodes[&self.ino(path).expect("a file path")]
    }

    /// Mutable access to the inode behind a file path.
    pub fn inode_mut(&mut self, path: &str) -> &mut Inode {
        let ino = self.ino(path).expect("a file path");
        self.inodes.get_mut(&ino).expect("inode of a file path")
    }

    /// Remembers an operation on the inode a file path names (no-op for other paths).
    pub fn note(&mut self, path: &str, what: String) {
        if let Some(ino) = self.ino(path) {
            self.inodes.get_mut(&ino).expect("inode").note(what);
        }
    }

    /// Sum of all file lengths (the working set the budget bounds).
    pub fn total_bytes(&self) -> u64 {
        self.inodes.values().map(|i| i.data.len() as u64).sum()
    }

    /// Records a new empty file at `path`.
    pub fn add_file(&mut self, path: &str) -> u64 {
        self.next_ino += 1;
        let ino = self.next_ino;
        self.inodes.insert(
            ino,
            Inode {
                names: vec![path.to_string()],
                ..Inode::default()
            },
        );
        self.entries.insert(path.to_string(), Entry::File(ino));
        self.note(path, format!("create {path}"));
        ino
    }

    /// Records a new directory or symlink at `path`.
    pub fn add(&mut self, path: &str, entry: Entry) {
        self.entries.insert(path.to_string(), entry);
    }

    /// Records a hard link `new` to the file at `existing`.
    pub fn link(&mut self, existing: &str, new: &str) {
        let ino = self.ino(existing).expect("link source is a file");
        let inode = self.inodes.get_mut(&ino).expect("inode");
        inode.names.push(new.to_string());
        inode.note(format!("link {existing} -> {new}"));
        self.entries.insert(new.to_string(), Entry::File(ino));
    }

    /// Removes the name `path` (a file's inode goes away with its last name, unless the caller
    /// still needs it: then it is returned instead of being forgotten).
    pub fn remove(&mut self, path: &str) -> Option<Inode> {
        match self.entries.remove(path)? {
            Entry::File(ino) => {
                let inode = self.inodes.get_mut(&ino).expect("inode");
                inode.names.retain(|n| n != path);
                inode.note(format!("unlink {path}"));
                if inode.names.is_empty() {
                    return self.inodes.remove(&ino);
                }
                None
            }
            Entry::Symlink(_) | Entry::Dir => None,
        }
    }

    /// rename(2) semantics: `to` (if any, and not a directory) is replaced; hard links to the
    /// same inode make it a no-op; a directory carries its children along.
    pub fn rename(&mut self, from: &str, to: &str) {
        if from == to {
            return;
        }
        if let (Some(a), Some(b)) = (self.ino(from), self.ino(to)) {
            if a == b {
                return;
            }
        }
        if self.entries.contains_key(to) {
            self.remove(to);
        }
        let entry = self.entries.remove(from).expect("rename source exists");
        if let Entry::File(ino) = entry {
            let inode = self.inodes.get_mut(&ino).expect("inode");
            for n in inode.names.iter_mut().filter(|n| *n == from) {
                *n = to.to_string();
            }
            inode.note(format!("rename {from} -> {to}"));
        }
        if entry == Entry::Dir {
            let prefix = format!("{from}/");
            let moved: Vec<String> = self
                .entries
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for old in moved {
                let new = format!("{to}/{}", &old[prefix.len()..]);
                let e = self.entries.remove(&old).expect("child");
                if let Entry::File(ino) = e {
                    let inode = self.inodes.get_mut(&ino).expect("inode");
                    for n in inode.names.iter_mut() {
                        if *n == old {
                            *n = new.clone();
                        }
                    }
                    inode.note(format!("moved with its directory: {old} -> {new}"));
                }
                self.entries.insert(new, e);
            }
        }
        self.entries.insert(to.to_string(), entry);
    }
}

/// Writes `buf` at `offset` into `data`, extending with zeros as a file would.
pub fn write_at(data: &mut Vec<u8>, offset: usize, buf: &[u8]) {
    let end = offset + buf.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[offset..end].copy_from_slice(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_share_an_inode_until_the_last_name_goes() {
        let mut m = Model::default();
        m.add("d0", Entry::Dir);
        m.add("d1", Entry::Dir);
        m.add_file("d0/a");
        write_at(&mut m.inode_mut("d0/a").data, 2, b"xy");
        m.link("d0/a", "d1/b");
        assert_eq!(m.inode("d1/b").data, b"\0\0xy");
        assert_eq!(m.inode("d0/a").names.len(), 2);
        // Renaming one link over the other is a no-op.
        m.rename("d0/a", "d1/b");
        assert_eq!(m.files(), vec!["d0/a".to_string(), "d1/b".to_string()]);
        assert!(m.remove("d0/a").is_none());
        let gone = m.remove("d1/b").expect("last name returns the inode");
        assert_eq!(gone.data, b"\0\0xy");
        assert!(m.inodes.is_empty());
    }

    #[test]
    fn history_names_the_recent_operations_oldest_first() {
        let mut m = Model::default();
        m.add("d0", Entry::Dir);
        m.add_file("d0/a");
        for i in 0..HISTORY + 5 {
            m.note("d0/a", format!("op{i}"));
        }
        m.link("d0/a", "d0/b");
        let line = m.inode("d0/b").history_line();
        assert!(
            line.starts_with(&format!("last {HISTORY} operations")),
            "{line}"
        );
        assert!(!line.contains("create") && !line.contains("op5;"), "{line}");
        assert!(
            line.contains("op6; op7") && line.ends_with("link d0/a -> d0/b"),
            "{line}"
        );
    }

    #[test]
    fn rename_replaces_and_moves_directory_children() {
        let mut m = Model::default();
        m.add("d0", Entry::Dir);
        m.add("d1", Entry::Dir);
        m.add("d0/s1", Entry::Dir);
        m.add_file("d0/s1/f");
        m.add_file("d1/g");
        m.rename("d0/s1", "d1/s2");
        assert_eq!(m.inode("d1/s2/f").names, vec!["d1/s2/f".to_string()]);
        assert_eq!(m.children("d1").len(), 2);
        assert!(m.children("d0").is_empty());
        m.rename("d1/s2/f", "d1/g");
        assert_eq!(m.inodes.len(), 1);
        assert_eq!(m.inode("d1/g").names, vec!["d1/g".to_string()]);
    }
}
