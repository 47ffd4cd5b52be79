//! Multi-threaded stress: 8 threads create, link, unlink, rename (within and across
//! directories, including directory moves that must not form loops) and write, all on a small
//! set of names so they collide. Afterwards the tree must be consistent: every entry resolves,
//! link counts are exact, directory parents are right, and once every name is removed the
//! filesystem is back to its root alone. A deadline turns a deadlock into a failure.

mod common;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fusekit_memfs::*;

const THREADS: u64 = 8;
const OPS: u64 = 3000;

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// What a walk of the tree found: (directory, parent) pairs, names per inode, and every
/// (directory, name) entry in breadth-first order.
type Walk = (Vec<(Ino, Ino)>, HashMap<Ino, u32>, Vec<(Ino, String)>);

/// All directories reachable from the root, with their parent.
fn walk(fs: &MemFs) -> Walk {
    let mut dirs = vec![(ROOT_ID, ROOT_ID)];
    let mut names_per_ino: HashMap<Ino, u32> = HashMap::new();
    let mut all_entries = Vec::new();
    let mut i = 0;
    while i < dirs.len() {
        let (d, _) = dirs[i];
        let fh = fs.opendir(&root(), d, 0).unwrap();
        let mut entries = Vec::new();
        fs.readdir(d, fh, 0, |e| {
            let name = e.name.to_string_lossy().into_owned();
            if name != "." && name != ".." {
                entries.push((e.ino, e.kind, name));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        fs.releasedir(d, fh).unwrap();
        for (ino, kind, name) in entries {
            *names_per_ino.entry(ino).or_default() += 1;
            if kind == FileType::Directory {
                dirs.push((ino, d));
            }
            all_entries.push((d, name));
        }
        i += 1;
    }
    (dirs, names_per_ino, all_entries)
}

#[test]
fn parallel_namespace_operations_keep_invariants() {
    let fs = Arc::new(fs());
    let a = fs.mkdir(&root(), ROOT_ID, n("A"), 0o777).unwrap().ino;
    let b = fs.mkdir(&root(), ROOT_ID, n("B"), 0o777).unwrap().ino;
    fs.forget(a, 1);
    fs.forget(b, 1);
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let fs = Arc::clone(&fs);
        let tx = tx.clone();
        handles.push(std::thread::spawn(move || {
            let mut s = 0x9E37_79B9 ^ ((t + 1) * 0x1000_0001);
            let c = root();
            for _ in 0..OPS {
                let r = rng(&mut s);
                let dirs = [a, b];
                let p = dirs[(r % 2) as usize];
                let np = dirs[((r >> 1) % 2) as usize];
                let name = format!("n{}", (r >> 2) % 24);
                let newname = format!("n{}", (r >> 8) % 24);
                let dname = format!("d{}", (r >> 14) % 6);
                match (r >> 20) % 10 {
                    0 | 1 => {
                        if let Ok((attr, fh)) = fs.create(&c, p, n(&name), 0o644, O_RDWR) {
                            let _ = fs.write(&c, attr.ino, fh, 0, b"data", false);
                            fs.release(attr.ino, fh, None).unwrap();
                            fs.forget(attr.ino, 1);
                        }
                    }
                    2 => {
                        let _ = fs.unlink(&c, p, n(&name));
                    }
                    3 | 4 => {
                        let _ = fs.rename(
                            &c,
                            p,
                            n(&name),
                            np,
                            n(&newname),
                            RenameFlags((r >> 30) as u32 % 3),
                        );
                    }
                    5 => {
                        if let Ok(attr) = fs.lookup(p, n(&name)) {
                            if let Ok(l) = fs.link(&c, attr.ino, np, n(&newname)) {
                                fs.forget(l.ino, 1);
                            }
                            fs.forget(attr.ino, 1);
                        }
                    }
                    6 => {
                        if let Ok(attr) = fs.mkdir(&c, p, n(&dname), 0o755) {
                            fs.forget(attr.ino, 1);
                        }
                    }
                    7 => {
                        let _ = fs.rmdir(&c, p, n(&dname));
                    }
                    _ => {
                        // Directory moves, including into other moving directories: loops
                        // must be refused, never created.
                        let target = format!("d{}", (r >> 40) % 6);
                        if let Ok(into) = fs.lookup(np, n(&target)) {
                            if into.kind() == Some(FileType::Directory) {
                                let _ = fs.rename(
                                    &c,
                                    p,
                                    n(&dname),
                                    into.ino,
                                    n(&dname),
                                    RenameFlags(0),
                                );
                            }
                            fs.forget(into.ino, 1);
                        }
                        let _ = fs.rename(&c, p, n(&dname), np, n(&dname), RenameFlags(0));
                    }
                }
            }
            tx.send(t).unwrap();
        }));
    }
    drop(tx);
    for _ in 0..THREADS {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("a worker hung: deadlock?");
    }
    for h in handles {
        h.join().unwrap();
    }

    let (dirs, names_per_ino, entries) = walk(&fs);
    eprintln!(
        "after the storm: {} directories, {} named inodes",
        dirs.len(),
        names_per_ino.len()
    );
    assert!(
        names_per_ino.len() > 10,
        "the workload should leave a populated tree"
    );
    // Every inode in the table is reachable (no leaked, unreferenced inodes) ...
    assert_eq!(
        fs.stats().inodes as usize,
        1 + names_per_ino.len(),
        "leaked or lost inodes"
    );
    // ... link counts are exact, and directories' ".." is their real parent.
    for (&ino, &names) in &names_per_ino {
        let attr = fs.getattr(ino).unwrap();
        if attr.kind() == Some(FileType::Directory) {
            assert_eq!(names, 1, "a directory has one name");
            let subdirs = dirs.iter().filter(|&&(_, p)| p == ino).count() as u32;
            assert_eq!(attr.nlink, 2 + subdirs, "dir nlink");
        } else {
            assert_eq!(attr.nlink, names, "file nlink");
        }
    }
    for &(d, parent) in &dirs {
        assert_eq!(fs.lookup(d, n("..")).unwrap().ino, parent);
        fs.forget(parent, 1);
    }
    // Remove everything, deepest directories last: back to the root alone.
    for (d, name) in entries.iter().rev() {
        let _ = fs.unlink(&root(), *d, n(name));
    }
    for (d, name) in entries.iter().rev() {
        let _ = fs.rmdir(&root(), *d, n(name));
    }
    let s = fs.stats();
    assert_eq!((s.inodes, s.bytes_used, s.open_handles), (1, 0, 0));
}
