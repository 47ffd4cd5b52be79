//! The node table: which node id stands for which (parent, name), and the counters that decide
//! how long a node lives (kernel lookups, open handles, path locks, children). Pure data: no
//! locking and no calls into the filesystem happen here — the caller holds the table's mutex
//! (see `locks`) for the few microseconds each method takes.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::attr::{Ino, ROOT_ID};

/// One node: a name the kernel knows, or a nameless file that is still open or looked up.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// Parent directory; meaningful only while `name` is set.
    pub parent: Ino,
    /// The node's name in `parent`; `None` for the root, unlinked nodes and anonymous tmpfiles.
    pub name: Option<Arc<OsStr>>,
    /// Named children in this table (a directory's cached entries).
    pub children: HashMap<Arc<OsStr>, Ino>,
    /// Kernel lookup count (LOOKUP, create-like replies) minus FORGETs.
    pub nlookup: u64,
    /// Open file handles (OPEN/CREATE/TMPFILE minus RELEASE).
    pub open: u32,
    /// The filesystem's handles of those opens, so a nameless node can still be reached.
    pub handles: Vec<u64>,
    /// Renamed to a hidden name because it was unlinked (or renamed over) while open.
    pub hidden: bool,
    /// Created by O_TMPFILE and not linked into the tree yet.
    pub tmpfile: bool,
    /// Path locks held for reading (this node is on the path of running operations).
    pub readers: u32,
    /// An operation holds this node exclusively (unlink, rename, hide-mode release).
    pub writer: bool,
    /// Writers waiting for this node: new readers queue behind them so renames cannot starve.
    pub pending_writers: u32,
}

/// All nodes of one mount. Node ids are never reused within a mount.
#[derive(Debug)]
pub(crate) struct Table {
    nodes: HashMap<Ino, Node>,
    next_id: Ino,
    /// Threads waiting for path locks (the condvar is only signalled when this is non-zero).
    pub waiters: usize,
}

/// The node table's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathSnapshot {
    /// Nodes in the table, the root included (the kernel's cached names, open files, hidden
    /// files).
    pub nodes: usize,
    /// Nodes with at least one open handle.
    pub open: usize,
    /// Open files hidden under a `.fusekit_hidden` name (hide mode).
    pub hidden: usize,
    /// Nodes without a name (unlinked, or unnamed tmpfiles).
    pub nameless: usize,
}

impl Table {
    /// A table holding only the root.
    pub fn new() -> Table {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT_ID,
            Node {
                nlookup: 1,
                ..Node::default()
            },
        );
        Table {
            nodes,
            next_id: ROOT_ID + 1,
            waiters: 0,
        }
    }

    /// The node `ino`, if it is in the table.
    pub fn get(&self, ino: Ino) -> Option<&Node> {
        self.nodes.get(&ino)
    }

    /// The node `ino`, mutably.
    pub fn get_mut(&mut self, ino: Ino) -> Option<&mut Node> {
        self.nodes.get_mut(&ino)
    }

    /// Number of nodes, the root included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Counters over all nodes.
    pub fn snapshot(&self) -> PathSnapshot {
        let mut s = PathSnapshot {
            nodes: self.nodes.len(),
            ..Default::default()
        };
        for (&ino, n) in &self.nodes {
            s.open += usize::from(n.open > 0);
            s.hidden += usize::from(n.hidden);
            s.nameless += usize::from(n.name.is_none() && ino != ROOT_ID);
        }
        s
    }

    /// Every node id (for shutdown clean-up).
    pub fn ids(&self) -> Vec<Ino> {
        self.nodes.keys().copied().collect()
    }

    /// The node named `name` in `parent`.
    pub fn child(&self, parent: Ino, name: &OsStr) -> Option<Ino> {
        self.nodes.get(&parent)?.children.get(name).copied()
    }

    /// The directories above `ino`, nearest first, up to the root or to the first nameless
    /// node (a detached subtree).
    pub fn ancestors(&self, ino: Ino) -> Vec<Ino> {
        let mut out = Vec::new();
        let mut cur = ino;
        while let Some(node) = self.nodes.get(&cur) {
            if node.name.is_none() {
                break;
            }
            cur = node.parent;
            out.push(cur);
        }
        out
    }

    /// The names from the root down to `ino`, or `None` when `ino` (or a directory above it)
    /// has no name any more.
    pub fn names(&self, ino: Ino) -> Option<Vec<Arc<OsStr>>> {
        let mut names = Vec::new();
        let mut cur = ino;
        while cur != ROOT_ID {
            let node = self.nodes.get(&cur)?;
            names.push(Arc::clone(node.name.as_ref()?));
            cur = node.parent;
        }
        names.reverse();
        Some(names)
    }

    /// The path of `ino` (`/` for the root), or `None` when it has no name.
    pub fn path(&self, ino: Ino) -> Option<PathBuf> {
        self.names(ino).map(|names| join(&names))
    }

    /// A new node with no name (an anonymous tmpfile).
    pub fn insert_anonymous(&mut self) -> Ino {
        let ino = self.next_id;
        self.next_id += 1;
        self.nodes.insert(ino, Node::default());
        ino
    }

    /// The node named `name` in `parent`, created (with no lookups yet) when missing.
    /// `None` when `parent` is not in the table.
    pub fn child_or_insert(&mut self, parent: Ino, name: &OsStr) -> Option<Ino> {
        if let Some(ino) = self.child(parent, name) {
            return Some(ino);
        }
        self.nodes.get(&parent)?;
        let ino = self.insert_anonymous();
        self.attach(ino, parent, name);
        Some(ino)
    }

    /// Gives `ino` the name `name` in `parent`, first detaching whatever node held that name
    /// (returned) and whatever name `ino` had.
    pub fn attach(&mut self, ino: Ino, parent: Ino, name: &OsStr) -> Option<Ino> {
        let displaced = self.child(parent, name).filter(|&other| other != ino);
        if let Some(other) = displaced {
            self.detach(other);
        }
        self.detach(ino);
        let name: Arc<OsStr> = Arc::from(name);
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.children.insert(Arc::clone(&name), ino);
        }
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.parent = parent;
            node.name = Some(name);
        }
        displaced
    }

    /// Takes the name away from `ino` (unlinked, renamed over, or rmdir'ed).
    pub fn detach(&mut self, ino: Ino) {
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        let Some(name) = node.name.take() else {
            return;
        };
        let parent = node.parent;
        node.parent = 0;
        if let Some(p) = self.nodes.get_mut(&parent) {
            if p.children.get(&name) == Some(&ino) {
                p.children.remove(&name);
            }
        }
        self.try_remove(parent);
    }

    /// Swaps the names of two nodes (RENAME_EXCHANGE).
    pub fn exchange(&mut self, a: Ino, b: Ino) {
        let loc = |t: &Table, i: Ino| {
            t.nodes
                .get(&i)
                .and_then(|n| n.name.clone().map(|name| (n.parent, name)))
        };
        let (la, lb) = (loc(self, a), loc(self, b));
        self.detach(a);
        self.detach(b);
        if let Some((p, name)) = lb {
            self.attach(a, p, &name);
        }
        if let Some((p, name)) = la {
            self.attach(b, p, &name);
        }
    }

    /// The kernel dropped `n` lookups of `ino`.
    pub fn forget(&mut self, ino: Ino, n: u64) {
        if ino == ROOT_ID {
            return;
        }
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.nlookup = node.nlookup.saturating_sub(n);
        }
        self.try_remove(ino);
    }

    /// Removes `ino` when nothing refers to it any more: no lookups, no open handles, no
    /// locks or waiting writers, no cached children. Its parent may then go too.
    pub fn try_remove(&mut self, ino: Ino) {
        let mut cur = ino;
        loop {
            if cur == ROOT_ID {
                return;
            }
            let Some(node) = self.nodes.get(&cur) else {
                return;
            };
            let unused = node.nlookup == 0
                && node.open == 0
                && node.readers == 0
                && !node.writer
                && node.pending_writers == 0
                && node.children.is_empty();
            if !unused {
                return;
            }
            let parent = node.name.as_ref().map(|_| node.parent);
            if let Some(node) = self.nodes.remove(&cur) {
                if let (Some(name), Some(p)) = (node.name, parent) {
                    if let Some(pn) = self.nodes.get_mut(&p) {
                        if pn.children.get(&name) == Some(&cur) {
                            pn.children.remove(&name);
                        }
                    }
                }
            }
            match parent {
                Some(p) => cur = p,
                None => return,
            }
        }
    }
}

/// Joins names from the root down into an absolute path.
pub(crate) fn join(names: &[Arc<OsStr>]) -> PathBuf {
    let mut path = PathBuf::from("/");
    for name in names {
        path.push(&**name);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn paths_follow_renames_of_directories() {
        let mut t = Table::new();
        let d = t.child_or_insert(ROOT_ID, os("d")).unwrap();
        let f = t.child_or_insert(d, os("f")).unwrap();
        assert_eq!(t.path(f).unwrap(), PathBuf::from("/d/f"));
        let e = t.child_or_insert(ROOT_ID, os("e")).unwrap();
        t.get_mut(e).unwrap().nlookup = 1;
        let displaced = t.attach(d, ROOT_ID, os("e"));
        assert_eq!(displaced, Some(e));
        assert_eq!(t.path(f).unwrap(), PathBuf::from("/e/f"));
        assert_eq!(t.path(e), None, "the renamed-over node has no name");
        assert_eq!(t.ancestors(f), vec![d, ROOT_ID]);
    }

    #[test]
    fn nodes_live_while_looked_up_open_or_locked() {
        let mut t = Table::new();
        let f = t.child_or_insert(ROOT_ID, os("f")).unwrap();
        t.get_mut(f).unwrap().nlookup = 1;
        t.get_mut(f).unwrap().open = 1;
        t.detach(f);
        t.forget(f, 1);
        assert!(t.get(f).is_some(), "open node survives forget");
        t.get_mut(f).unwrap().open = 0;
        t.get_mut(f).unwrap().readers = 1;
        t.try_remove(f);
        assert!(t.get(f).is_some(), "locked node survives");
        t.get_mut(f).unwrap().readers = 0;
        t.try_remove(f);
        assert!(t.get(f).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn forgotten_directory_goes_with_its_last_child() {
        let mut t = Table::new();
        let d = t.child_or_insert(ROOT_ID, os("d")).unwrap();
        let f = t.child_or_insert(d, os("f")).unwrap();
        t.get_mut(f).unwrap().nlookup = 1;
        t.try_remove(d);
        assert!(t.get(d).is_some(), "a directory with cached children stays");
        t.forget(f, 1);
        assert!(t.get(f).is_none() && t.get(d).is_none());
        assert_eq!(t.child(ROOT_ID, os("d")), None);
    }

    #[test]
    fn exchange_swaps_names() {
        let mut t = Table::new();
        let a = t.child_or_insert(ROOT_ID, os("a")).unwrap();
        let b = t.child_or_insert(ROOT_ID, os("b")).unwrap();
        t.exchange(a, b);
        assert_eq!(t.child(ROOT_ID, os("a")), Some(b));
        assert_eq!(t.child(ROOT_ID, os("b")), Some(a));
    }
}
