//! A file deleted behind the mount while the kernel still holds its node, its inode number
//! then given to a new file (forced: the source is a tiny ext4 with 256 inodes, filled up),
//! and the daemon's descriptor of it evicted: access through the old kernel inode must fail
//! with ESTALE (or ENOENT) — never read or stat the new file — while the new file's own name
//! shows the new file.

mod common;

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{mount_passthrough, open_fds, require_kernel, temp_dir, with_deadline};
use fusekit_passthrough::PassthroughOptions;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// A tiny ext4 image loop-mounted on a temp dir; unmounted (lazily) on drop.
struct TinyExt4 {
    dir: tempfile::TempDir,
    mnt: PathBuf,
}

impl TinyExt4 {
    fn mount() -> Result<TinyExt4, String> {
        let dir = temp_dir("ext4");
        let img = dir.path().join("img");
        let mnt = dir.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        fs::File::create(&img)
            .and_then(|f| f.set_len(8 << 20))
            .unwrap();
        let run = |cmd: &mut Command| -> Result<(), String> {
            let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
            out.status
                .success()
                .then_some(())
                .ok_or_else(|| format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
        };
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "1024", "-N", "256"])
            .arg(&img))?;
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&img)
            .arg(&mnt))?;
        Ok(TinyExt4 { dir, mnt })
    }

    fn path(&self) -> &Path {
        &self.mnt
    }
}

impl Drop for TinyExt4 {
    fn drop(&mut self) {
        // mount(8) set up the loop device to detach itself once the filesystem is gone.
        let _ = rustix::mount::unmount(&self.mnt, rustix::mount::UnmountFlags::DETACH);
        let _ = self.dir.path();
    }
}

#[test]
fn a_deleted_files_old_node_never_reaches_the_file_that_reused_its_number() {
    if !require_kernel("a_deleted_files_old_node_never_reaches_the_file_that_reused_its_number") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let src = match TinyExt4::mount() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("SKIPPED: cannot make a loop-mounted ext4 here: {e}");
                return;
            }
        };
        let s = src.path();
        fs::write(s.join("old"), b"old contents").unwrap();
        for i in 0..100 {
            fs::write(s.join(format!("c{i}")), b"").unwrap();
        }
        let old_ino = fs::metadata(s.join("old")).unwrap().ino();
        let opts = PassthroughOptions::new()
            .inode_fd_budget(64)
            .attr_timeout(Duration::ZERO);
        let (mnt, stats) = mount_passthrough(s, opts);
        let m = mnt.path();

        // Hold the old file's kernel inode (an O_PATH open sends no OPEN: just the node).
        let old =
            rustix::fs::open(m.join("old"), OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        assert_eq!(rustix::fs::fstat(&old).unwrap().st_size, 12);
        fs::remove_file(s.join("old")).unwrap();

        // Enough other inodes through the mount to push the old one's descriptor out.
        for i in 0..100 {
            fs::metadata(m.join(format!("c{i}"))).unwrap();
        }
        let st = stats.snapshot();
        assert!(st.fd_evictions > 0, "{st:?}");
        let holds_old = open_fds()
            .into_iter()
            .any(|l| l.contains(&*s.to_string_lossy()) && l.contains("/old (deleted)"));
        assert!(!holds_old, "the daemon still pins the deleted file: {st:?}");

        // Fill the filesystem: one of the new files must get the freed inode number.
        let mut reused = None;
        for i in 0.. {
            let name = format!("n{i}");
            match fs::write(s.join(&name), b"new!") {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("create {name}: {e}"),
            }
            if fs::metadata(s.join(&name)).unwrap().ino() == old_ino {
                reused = Some(name);
            }
        }
        let reused = reused.expect("the full filesystem reused the deleted file's number");

        // Through the old kernel inode: stale, not the new file.
        let stale = |r: Result<(), Errno>, what: &str| match r {
            Err(Errno::STALE | Errno::NOENT) => {}
            other => panic!("{what} through the deleted file's node: {other:?}"),
        };
        stale(
            rustix::fs::fstat(&old).map(|st| {
                panic!(
                    "fstat gave attributes (size {}) of another file",
                    st.st_size
                )
            }),
            "fstat",
        );
        let proc_link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&old));
        stale(
            rustix::fs::open(proc_link.as_str(), OFlags::RDONLY, Mode::empty()).map(|fd| {
                let mut buf = [0u8; 16];
                let n = rustix::io::read(fd.as_fd(), &mut buf).unwrap_or(0);
                panic!("opened another file: {:?}", &buf[..n])
            }),
            "open",
        );
        assert!(stats.snapshot().stale_handles >= 1);

        // Through its own name the new file is itself.
        assert_eq!(fs::read(m.join(&reused)).unwrap(), b"new!");
        assert_eq!(fs::metadata(m.join(&reused)).unwrap().ino(), old_ino);
        drop(old);
        drop(mnt);
    });
}
