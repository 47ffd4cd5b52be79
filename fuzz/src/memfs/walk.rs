//! memfs has no consistency check of its own, so this is one, from outside, through the
//! engine's public API, run after the connection ended (every kernel reference and handle
//! dropped): walking the tree from the root, every listed name looks up to the inode listed
//! with the type listed; "." and ".." are right; no directory is reached twice; a directory's
//! nlink is 2 + its subdirectories and a non-directory's is its number of names; the live
//! inode count is exactly the reachable inodes (nothing leaked, nothing freed early); the
//! charged inode slots are one per directory plus one per name of everything else. Then the
//! whole tree is removed and the engine must be back to its root alone, with no bytes charged.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::ops::ControlFlow;

use fusekit_memfs::{Caller, FileType, Ino, MemFs, Xattr, ROOT_ID};

/// One directory listing, without "." and "..".
struct Listing {
    entries: Vec<(Ino, FileType, OsString)>,
}

fn list(fs: &MemFs, dir: Ino, parent: Ino) -> Listing {
    let root = Caller::root();
    let fh = fs
        .opendir(&root, dir, 0)
        .expect("opendir of a reachable directory");
    let mut entries = Vec::new();
    let mut dots = Vec::new();
    fs.readdir(dir, fh, 0, |e| {
        if e.name == OsStr::new(".") || e.name == OsStr::new("..") {
            dots.push((e.name.to_owned(), e.ino));
        } else {
            entries.push((e.ino, e.kind, e.name.to_owned()));
        }
        ControlFlow::Continue(())
    })
    .expect("readdir of a reachable directory");
    fs.releasedir(dir, fh).expect("releasedir");
    assert_eq!(
        dots,
        vec![(".".into(), dir), ("..".into(), parent)],
        "directory {dir}: wrong . or .."
    );
    Listing { entries }
}

/// Runs the checks described in the module documentation.
pub fn check_engine(fs: &MemFs) {
    let stats = fs.stats();
    assert_eq!(
        stats.open_handles, 0,
        "handles survive the end of the connection"
    );

    // ino -> (type, number of names); dirs in visiting order with their parents.
    let mut names: BTreeMap<Ino, (FileType, u32)> = BTreeMap::new();
    names.insert(ROOT_ID, (FileType::Directory, 1));
    let mut dirs = vec![(ROOT_ID, ROOT_ID)];
    let mut visited = HashSet::from([ROOT_ID]);
    let mut i = 0;
    while i < dirs.len() {
        let (dir, parent) = dirs[i];
        i += 1;
        let listing = list(fs, dir, parent);
        let mut subdirs = 0;
        for (ino, kind, name) in &listing.entries {
            let attr = fs.lookup(dir, name).unwrap_or_else(|e| {
                panic!("listed name {name:?} in {dir} does not look up: {e:?}")
            });
            assert_eq!(
                attr.ino, *ino,
                "{name:?} in {dir}: lookup and readdir disagree"
            );
            assert_eq!(attr.kind(), Some(*kind), "{name:?} in {dir}: type differs");
            names.entry(*ino).or_insert((*kind, 0)).1 += 1;
            if *kind == FileType::Directory {
                subdirs += 1;
                assert!(visited.insert(*ino), "directory {ino} reached twice");
                dirs.push((*ino, dir));
            }
        }
        let attr = fs.getattr(dir).expect("getattr of a reachable directory");
        assert_eq!(
            attr.nlink,
            2 + subdirs,
            "directory {dir}: nlink vs subdirectories"
        );
    }
    let mut slots = 0;
    for (ino, (kind, count)) in &names {
        let attr = fs.getattr(*ino).expect("getattr of a reachable inode");
        if *kind == FileType::Directory {
            slots += 1;
        } else {
            assert_eq!(attr.nlink, *count, "inode {ino}: nlink vs names");
            slots += u64::from(*count);
        }
    }
    // The walk's lookups hold references; drop them like the kernel's.
    fs.connection_ended();
    let stats = fs.stats();
    assert_eq!(
        stats.inodes,
        names.len() as u64,
        "live inodes vs reachable inodes"
    );
    assert_eq!(stats.inode_slots, slots, "charged inode slots vs names");

    remove_all(fs, &dirs);
    fs.connection_ended();
    let stats = fs.stats();
    assert_eq!(stats.inodes, 1, "inodes left after removing everything");
    assert_eq!(
        stats.inode_slots, 1,
        "inode slots left after removing everything"
    );
    assert_eq!(
        stats.bytes_used, 0,
        "bytes left charged after removing everything"
    );
    assert_eq!(fs.getattr(ROOT_ID).expect("root").nlink, 2);
}

/// Removes every name (deepest directories first) and the root's extended attributes.
fn remove_all(fs: &MemFs, dirs: &[(Ino, Ino)]) {
    let root = Caller::root();
    for &(dir, parent) in dirs.iter().rev() {
        for (_, kind, name) in list(fs, dir, parent).entries {
            let result = if kind == FileType::Directory {
                fs.rmdir(&root, dir, &name)
            } else {
                fs.unlink(&root, dir, &name)
            };
            result.unwrap_or_else(|e| panic!("removing {name:?} from {dir}: {e:?}"));
        }
    }
    let Ok(Xattr::Size(size)) = fs.listxattr(&root, ROOT_ID, 0) else {
        panic!("listxattr size query on the root failed");
    };
    if size == 0 {
        return;
    }
    let Ok(Xattr::Data(list)) = fs.listxattr(&root, ROOT_ID, size) else {
        panic!("listxattr on the root failed");
    };
    for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = <OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name);
        fs.removexattr(&root, ROOT_ID, name)
            .unwrap_or_else(|e| panic!("removexattr {name:?} on the root: {e:?}"));
    }
}
