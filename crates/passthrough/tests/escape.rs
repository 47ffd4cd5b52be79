//! What symlinks planted in the source can and cannot do. The daemon never follows a symlink
//! (unit tests in `src/tests.rs` send it raw names like `../x` and `a/b` and planted links);
//! through the mount, symlinks are resolved by the *calling* process's kernel in the caller's
//! own namespace, with the caller's own permissions — exactly as in the source directory
//! itself. So `MNT/link/x` with `link -> /outside` does create `/outside/x`: the caller does,
//! not the daemon, and the daemon receives no create request for it.

mod common;

use std::os::fd::AsFd;
use std::time::Duration;

use common::{mount_passthrough, require_kernel, temp_dir, with_deadline};
use fusekit_passthrough::PassthroughOptions;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

#[test]
fn symlinks_out_of_the_source_resolve_on_the_callers_side() {
    if !require_kernel("symlinks_out_of_the_source_resolve_on_the_callers_side") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let outside = temp_dir("outside");
        let src = temp_dir("esc-src");
        std::os::unix::fs::symlink(outside.path(), src.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("new"), src.path().join("dangling"))
            .unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("passwd")).unwrap();
        let (mnt, stats) = mount_passthrough(src.path(), PassthroughOptions::default());
        let m = mnt.path();

        // Reading through a link to /etc/passwd reads the host's file: the kernel followed
        // the absolute target in the caller's namespace.
        assert_eq!(
            std::fs::read(m.join("passwd")).unwrap(),
            std::fs::read("/etc/passwd").unwrap()
        );
        assert!(std::fs::symlink_metadata(m.join("passwd"))
            .unwrap()
            .file_type()
            .is_symlink());

        // O_NOFOLLOW on a planted dangling link: refused, nothing created anywhere.
        let before = stats.snapshot().creates;
        let r = rustix::fs::open(
            m.join("dangling"),
            OFlags::CREATE | OFlags::WRONLY | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        );
        assert_eq!(r.map(|_| ()), Err(Errno::LOOP));
        assert!(!outside.path().join("new").exists());

        // Creating through the links: the caller's kernel walks to the host path and
        // creates there itself; the daemon sees lookups and readlinks, never a create.
        std::fs::write(m.join("link/x"), b"by the caller").unwrap();
        let fd = rustix::fs::open(
            m.join("dangling"),
            OFlags::CREATE | OFlags::WRONLY,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        rustix::io::write(fd.as_fd(), b"also by the caller").unwrap();
        drop(fd);
        assert_eq!(
            stats.snapshot().creates,
            before,
            "the daemon created something"
        );
        assert_eq!(
            std::fs::read(outside.path().join("x")).unwrap(),
            b"by the caller"
        );
        assert!(outside.path().join("new").exists());
        // The source tree itself is unchanged: only the three links.
        let mut names: Vec<_> = std::fs::read_dir(src.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["dangling", "link", "passwd"]);
        drop(mnt);
    });
}
