//! Path locks: how operations that use paths keep them true while the filesystem works.
//!
//! Every operation takes, once and all at once, a set of node locks and holds it for the whole
//! of its callbacks:
//! - *read* locks on every node of each path it hands out (the node and all directories
//!   above it), so no rename or unlink can change those paths meanwhile;
//! - *write* locks on the nodes whose name it changes (unlink, rmdir, rename source and
//!   target) or whose fate it decides (hide-mode release), plus read locks on their parents'
//!   paths.
//!
//! Acquisition is all-or-nothing under the table mutex and an operation never acquires twice,
//! so no operation waits while holding a lock: there is no lock order to get wrong and no
//! deadlock. A writer that has to wait marks its nodes as *pending*, and plain readers
//! arriving later queue behind it, so a rename of a busy directory is not starved by a stream
//! of reads. (Writers ignore the marks: a reader waits only for writers, a writer only for
//! locks actually held, so no two waiters can wait for each other.)
//! The table mutex itself is held only to check and update counters and to copy names — never
//! across a call into the filesystem.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};

use rustix::io::Errno;

use super::table::{join, Table};
use crate::attr::Ino;

/// A node to lock for writing: a known node, or whatever node currently has a name (nothing
/// when the name is not in the table; its parent is read-locked either way).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// This node.
    Node(Ino),
    /// The node named `.1` in directory `.0`, resolved at acquisition time.
    Child(Ino, &'a OsStr),
    /// The hidden files directly inside the directory named `.1` in `.0` (hide mode's rmdir
    /// moves them out of the way).
    HiddenIn(Ino, &'a OsStr),
}

/// The node table with its lock-wait condition.
#[derive(Debug)]
pub(crate) struct Shared {
    table: Mutex<Table>,
    cond: Condvar,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            table: Mutex::new(Table::new()),
            cond: Condvar::new(),
        }
    }

    /// The table, for a short update. Never call the filesystem while holding it.
    pub fn table(&self) -> MutexGuard<'_, Table> {
        // A panic inside a table method leaves consistent counters (they are plain fields
        // updated in place); keep serving rather than poisoning every later request.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the paths of `reads` and the nodes of `writes` (see the module docs). Fails with
    /// ENOENT when a node in `reads` (or a `Node` target) is not in the table.
    pub fn lock(&self, reads: &[Ino], writes: &[Target<'_>]) -> Result<PathGuard<'_>, Errno> {
        let mut table = self.table();
        let mut marked: Vec<Ino> = Vec::new();
        loop {
            let (w, r) = match resolve(&table, reads, writes) {
                Ok(sets) => sets,
                Err(e) => {
                    unmark(&mut table, &marked);
                    return Err(e);
                }
            };
            let free = w.iter().all(|i| {
                let n = table.get(*i).expect("resolved");
                n.readers == 0 && !n.writer
            }) && r.iter().all(|i| {
                // Plain readers queue behind waiting writers; writers do not, so two writers
                // can never wait on each other's marks.
                let n = table.get(*i).expect("resolved");
                !n.writer && (n.pending_writers == 0 || !w.is_empty())
            });
            if free {
                unmark(&mut table, &marked);
                for i in &w {
                    table.get_mut(*i).expect("resolved").writer = true;
                }
                for i in &r {
                    table.get_mut(*i).expect("resolved").readers += 1;
                }
                return Ok(PathGuard {
                    shared: self,
                    writes: w,
                    reads: r,
                });
            }
            if marked != w {
                unmark(&mut table, &marked);
                for i in &w {
                    table.get_mut(*i).expect("resolved").pending_writers += 1;
                }
                marked = w;
            }
            table.waiters += 1;
            table = self.cond.wait(table).unwrap_or_else(|e| e.into_inner());
            table.waiters -= 1;
        }
    }
}

/// Write set and read set for one attempt: writes resolved, reads = the read nodes and every
/// ancestor of reads and writes, minus the writes.
fn resolve(
    table: &Table,
    reads: &[Ino],
    writes: &[Target<'_>],
) -> Result<(Vec<Ino>, Vec<Ino>), Errno> {
    let mut w = Vec::with_capacity(writes.len());
    let mut r = Vec::new();
    for t in writes {
        match *t {
            Target::Node(ino) => {
                table.get(ino).ok_or(Errno::NOENT)?;
                w.push(ino);
                r.extend(table.ancestors(ino));
            }
            Target::Child(parent, name) => {
                table.get(parent).ok_or(Errno::NOENT)?;
                r.push(parent);
                r.extend(table.ancestors(parent));
                if let Some(ino) = table.child(parent, name) {
                    w.push(ino);
                }
            }
            Target::HiddenIn(parent, name) => {
                if let Some(dir) = table.child(parent, name) {
                    let hidden = table.get(dir).into_iter().flat_map(|d| {
                        d.children
                            .values()
                            .copied()
                            .filter(|c| table.get(*c).is_some_and(|n| n.hidden))
                    });
                    w.extend(hidden);
                    r.extend(table.ancestors(dir));
                }
            }
        }
    }
    for &ino in reads {
        table.get(ino).ok_or(Errno::NOENT)?;
        r.push(ino);
        r.extend(table.ancestors(ino));
    }
    w.sort_unstable();
    w.dedup();
    r.sort_unstable();
    r.dedup();
    r.retain(|i| w.binary_search(i).is_err());
    Ok((w, r))
}

fn unmark(table: &mut Table, marked: &[Ino]) {
    for &i in marked {
        if let Some(n) = table.get_mut(i) {
            n.pending_writers -= 1;
        }
        table.try_remove(i);
    }
}

/// Locks held by one operation; released on drop.
#[derive(Debug)]
pub(crate) struct PathGuard<'a> {
    shared: &'a Shared,
    writes: Vec<Ino>,
    reads: Vec<Ino>,
}

impl PathGuard<'_> {
    /// The current path of `ino` (stable while this guard covers it), or `None` when the node
    /// has no name.
    pub fn path(&self, ino: Ino) -> Option<PathBuf> {
        let names = self.shared.table().names(ino);
        names.map(|n| join(&n))
    }

    /// True when this guard holds `ino` exclusively.
    pub fn holds_write(&self, ino: Ino) -> bool {
        self.writes.binary_search(&ino).is_ok()
    }

    /// The node named `name` in `parent` if this guard holds it exclusively (it was resolved
    /// from a [`Target::Child`]).
    pub fn locked_child(&self, parent: Ino, name: &OsStr) -> Option<Ino> {
        let ino = self.shared.table().child(parent, name)?;
        self.holds_write(ino).then_some(ino)
    }

    /// The table, for a short update under the locks this guard holds.
    pub fn table(&self) -> MutexGuard<'_, Table> {
        self.shared.table()
    }
}

impl Drop for PathGuard<'_> {
    fn drop(&mut self) {
        let mut table = self.shared.table();
        for &i in &self.writes {
            if let Some(n) = table.get_mut(i) {
                n.writer = false;
            }
        }
        for &i in &self.reads {
            if let Some(n) = table.get_mut(i) {
                n.readers -= 1;
            }
        }
        for &i in self.writes.iter().chain(&self.reads) {
            table.try_remove(i);
        }
        if table.waiters > 0 {
            self.shared.cond.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::attr::ROOT_ID;

    fn setup() -> (Arc<Shared>, Ino, Ino) {
        let s = Arc::new(Shared::new());
        let (d, f) = {
            let mut t = s.table();
            let d = t.child_or_insert(ROOT_ID, OsStr::new("d")).unwrap();
            let f = t.child_or_insert(d, OsStr::new("f")).unwrap();
            t.get_mut(d).unwrap().nlookup = 1;
            t.get_mut(f).unwrap().nlookup = 1;
            (d, f)
        };
        (s, d, f)
    }

    #[test]
    fn readers_share_and_exclude_a_writer_on_an_ancestor() {
        let (s, d, f) = setup();
        let r1 = s.lock(&[f], &[]).unwrap();
        let r2 = s.lock(&[f], &[]).unwrap();
        assert_eq!(r1.path(f).unwrap(), PathBuf::from("/d/f"));
        let done = Arc::new(AtomicBool::new(false));
        let (s2, done2) = (Arc::clone(&s), Arc::clone(&done));
        let writer = std::thread::spawn(move || {
            let _w = s2.lock(&[], &[Target::Node(d)]).unwrap();
            done2.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !done.load(Ordering::SeqCst),
            "writer waits for readers below"
        );
        drop(r1);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!done.load(Ordering::SeqCst));
        drop(r2);
        writer.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
        let t = s.table();
        let (dn, fnode) = (t.get(d).unwrap(), t.get(f).unwrap());
        assert!(dn.readers == 0 && !dn.writer && dn.pending_writers == 0);
        assert!(fnode.readers == 0 && !fnode.writer);
    }

    #[test]
    fn a_waiting_writer_holds_back_new_readers() {
        let (s, d, f) = setup();
        let r1 = s.lock(&[f], &[]).unwrap();
        let s2 = Arc::clone(&s);
        let writer = std::thread::spawn(move || {
            let _w = s2.lock(&[], &[Target::Node(d)]).unwrap();
            std::thread::sleep(Duration::from_millis(30));
        });
        while s.table().get(d).unwrap().pending_writers == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let s3 = Arc::clone(&s);
        let got = Arc::new(AtomicBool::new(false));
        let got2 = Arc::clone(&got);
        let reader = std::thread::spawn(move || {
            let _r = s3.lock(&[f], &[]).unwrap();
            got2.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            !got.load(Ordering::SeqCst),
            "new reader queues behind the writer"
        );
        drop(r1);
        writer.join().unwrap();
        reader.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
    }

    #[test]
    fn missing_nodes_answer_enoent_and_absent_children_lock_nothing() {
        let (s, d, _f) = setup();
        assert_eq!(s.lock(&[999], &[]).unwrap_err(), Errno::NOENT);
        let g = s
            .lock(&[], &[Target::Child(d, OsStr::new("nope"))])
            .unwrap();
        assert!(g.writes.is_empty());
        assert!(g.reads.contains(&d) && g.reads.contains(&ROOT_ID));
    }

    #[test]
    fn random_lock_sets_stay_exclusive_and_never_deadlock() {
        use std::sync::atomic::{AtomicI64, AtomicU64};
        let s = Arc::new(Shared::new());
        let nodes: Vec<Ino> = {
            let mut t = s.table();
            let a = t.child_or_insert(ROOT_ID, OsStr::new("a")).unwrap();
            let b = t.child_or_insert(ROOT_ID, OsStr::new("b")).unwrap();
            let a1 = t.child_or_insert(a, OsStr::new("1")).unwrap();
            let a2 = t.child_or_insert(a, OsStr::new("2")).unwrap();
            let b1 = t.child_or_insert(b, OsStr::new("1")).unwrap();
            let all = vec![a, b, a1, a2, b1];
            for &n in &all {
                t.get_mut(n).unwrap().nlookup = 1;
            }
            all
        };
        // Shadow state: >0 readers, -1 a writer.
        let shadow: Arc<Vec<AtomicI64>> = Arc::new((0..16).map(|_| AtomicI64::new(0)).collect());
        let (tx, rx) = std::sync::mpsc::channel();
        for seed in 1..=4u64 {
            let (s, shadow, nodes, tx) = (
                Arc::clone(&s),
                Arc::clone(&shadow),
                nodes.clone(),
                tx.clone(),
            );
            std::thread::spawn(move || {
                let body = std::panic::AssertUnwindSafe(|| {
                    let rng = AtomicU64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    let next = || {
                        let mut x = rng.load(Ordering::Relaxed);
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        rng.store(x, Ordering::Relaxed);
                        x
                    };
                    for _ in 0..3000 {
                        let pick = |r: u64| nodes[(r % nodes.len() as u64) as usize];
                        let g = match next() % 3 {
                            0 => s.lock(&[pick(next())], &[]).unwrap(),
                            1 => s.lock(&[], &[Target::Node(pick(next()))]).unwrap(),
                            _ => s
                                .lock(
                                    &[],
                                    &[Target::Node(pick(next())), Target::Node(pick(next()))],
                                )
                                .unwrap(),
                        };
                        for &w in &g.writes {
                            let prev = shadow[w as usize].swap(-1, Ordering::SeqCst);
                            assert_eq!(prev, 0, "write lock on {w} while held ({prev})");
                        }
                        for &r in &g.reads {
                            let prev = shadow[r as usize].fetch_add(1, Ordering::SeqCst);
                            assert!(prev >= 0, "read lock on {r} while write-locked");
                        }
                        std::thread::yield_now();
                        for &w in &g.writes {
                            shadow[w as usize].store(0, Ordering::SeqCst);
                        }
                        for &r in &g.reads {
                            shadow[r as usize].fetch_sub(1, Ordering::SeqCst);
                        }
                        drop(g);
                    }
                });
                tx.send(std::panic::catch_unwind(body).is_ok()).unwrap();
            });
        }
        for _ in 0..4 {
            let ok = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("a locking thread finished (no deadlock)");
            assert!(ok, "a locking thread saw two conflicting holders");
        }
        let t = s.table();
        for &n in &nodes {
            let node = t.get(n).unwrap();
            assert!(node.readers == 0 && !node.writer && node.pending_writers == 0);
        }
    }
}
