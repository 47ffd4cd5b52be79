//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

pub mod mount;

use std::ffi::OsStr;
use std::ops::ControlFlow;

use fusekit_memfs::{Caller, Fh, FileAttr, Ino, Limits, MemFs, ROOT_ID};

pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_EXCL: u32 = 0o200;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;

pub fn n(s: &str) -> &OsStr {
    OsStr::new(s)
}

pub fn root() -> Caller {
    Caller::root()
}

pub fn user(uid: u32) -> Caller {
    Caller::new(uid, uid)
}

/// A fresh unlimited filesystem with a world-writable root owned by root.
pub fn fs() -> MemFs {
    MemFs::new(Limits::UNLIMITED, (0, 0), 0o777)
}

/// Creates and opens `name` in `parent` read-write as root.
pub fn create(fs: &MemFs, parent: Ino, name: &str) -> (FileAttr, Fh) {
    fs.create(&root(), parent, n(name), 0o644, O_RDWR | O_EXCL)
        .expect("create")
}

pub fn read_all(fs: &MemFs, ino: Ino, fh: Fh) -> Vec<u8> {
    let mut out = Vec::new();
    fs.read(ino, fh, 0, u32::MAX, &mut out).expect("read");
    out
}

/// Names in a directory listing (without "." and "..").
pub fn list(fs: &MemFs, dir: Ino) -> Vec<String> {
    let fh = fs.opendir(&root(), dir, 0).expect("opendir");
    let mut names = Vec::new();
    fs.readdir(dir, fh, 0, |e| {
        let s = e.name.to_string_lossy().into_owned();
        if s != "." && s != ".." {
            names.push(s);
        }
        ControlFlow::Continue(())
    })
    .expect("readdir");
    fs.releasedir(dir, fh).expect("releasedir");
    names
}

pub fn root_ino() -> Ino {
    ROOT_ID
}
