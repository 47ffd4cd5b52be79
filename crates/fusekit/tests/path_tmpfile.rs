//! O_TMPFILE through the path-level API, in both unlink modes: an unnamed open file (nlink 0,
//! not listed), written, then given a name with linkat through /proc/self/fd — after which
//! it is visible with its data, and nothing hidden is left once it is closed. In hide mode
//! the filesystem does I/O by path, so writes after the link must follow the new name.

mod common;
#[path = "path_mapfs.rs"]
mod mapfs;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{require_kernel, with_deadline, TestMount};
use fusekit::path::{PathAdapter, PathConfig, UnlinkMode};
use fusekit::MountOptions;
use mapfs::MapFs;
use rustix::fs::{AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

fn tmpfile(dir: &Path) -> OwnedFd {
    rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::RDWR,
        Mode::from_raw_mode(0o600),
    )
    .expect("open O_TMPFILE")
}

fn link(fd: &OwnedFd, to: &Path) -> Result<(), Errno> {
    let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rustix::fs::linkat(CWD, proc_path.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn tmpfile_then_link(mode: UnlinkMode) {
    let by_path = mode == UnlinkMode::Hide;
    let fs = MapFs::new(by_path, Duration::ZERO);
    let inner = Arc::clone(&fs.inner);
    let mount = TestMount::new(
        PathAdapter::new(fs, PathConfig::new(mode).io_paths(by_path)),
        &MountOptions::default(),
    );
    let dir = mount.path().join("dir");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("taken"), b"keep").expect("write taken");

    // Unnamed, open, writable, invisible.
    let fd = tmpfile(&dir);
    rustix::io::pwrite(&fd, b"tmpdata", 0).expect("write tmpfile");
    let st = rustix::fs::fstat(&fd).expect("fstat tmpfile");
    assert_eq!(st.st_nlink, 0, "an unnamed tmpfile has no links");
    assert_eq!(st.st_size, 7);
    assert_eq!(names(&dir), vec!["taken"], "the tmpfile must not be listed");

    // Reopening the unnamed file through /proc reaches the same data.
    let again = std::fs::read(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("reopen");
    assert_eq!(again, b"tmpdata");

    // Linking over an existing name fails and leaves that name alone.
    assert_eq!(link(&fd, &dir.join("taken")), Err(Errno::EXIST));
    assert_eq!(
        std::fs::read(dir.join("taken")).expect("read taken"),
        b"keep"
    );

    // Give it a name: visible with its data, and later writes follow the name.
    link(&fd, &dir.join("named")).expect("linkat into the tree");
    assert_eq!(names(&dir), vec!["named", "taken"]);
    assert_eq!(
        std::fs::read(dir.join("named")).expect("read named"),
        b"tmpdata"
    );
    rustix::io::pwrite(&fd, b"+more", 7).expect("write after link");
    drop(fd);
    assert_eq!(
        std::fs::read(dir.join("named")).expect("read named again"),
        b"tmpdata+more"
    );

    // A tmpfile closed without a name leaves nothing behind.
    let fd = tmpfile(&dir);
    rustix::io::pwrite(&fd, b"scratch", 0).expect("write scratch");
    drop(fd);
    assert!(
        inner.wait_closed(Duration::from_secs(20)),
        "releases did not arrive"
    );
    assert_eq!(names(&dir), vec!["named", "taken"]);
    let left = inner.hidden_left();
    let backing: Vec<_> = inner.map.lock().unwrap().keys().cloned().collect();
    let violations = inner.violations.lock().unwrap().clone();
    assert_eq!(
        inner.contents("/dir/named").as_deref(),
        Some(&b"tmpdata+more"[..])
    );
    drop(mount);
    assert!(left.is_empty(), "hidden files left: {left:?}");
    assert_eq!(
        backing.len(),
        4,
        "backing store holds only /, dir, named, taken: {backing:?}"
    );
    assert!(violations.is_empty(), "violations: {violations:?}");
}

#[test]
fn path_tmpfile_link_handle_based() {
    if !require_kernel("path_tmpfile_link_handle_based") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        tmpfile_then_link(UnlinkMode::HandleBased)
    });
}

#[test]
fn path_tmpfile_link_hide() {
    if !require_kernel("path_tmpfile_link_hide") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        tmpfile_then_link(UnlinkMode::Hide)
    });
}
