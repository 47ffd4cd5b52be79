//! Mounting through fusermount3 as root (method Fusermount): the mountinfo entry, the
//! connection id, auto_unmount with no zombie left, and — with a fake fusermount3 that
//! records its fds — the rule that the child inherits exactly one fd, its socket.
//! Tests here run one at a time: they count child processes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use common::{
    can_mount, example_binary, have_fusermount, mounts_under, test_fsname, wait_for, Deadline,
    Guard, TestDir,
};
use fusekit_mount::{mount, MountError, MountMethod, MountOptions, MountedBy, CONNECTIONS_DIR};

const LIMIT: Duration = Duration::from_secs(60);
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Children of this process (pid, command name, state), read from /proc.
fn children() -> Vec<(u32, String, char)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..." — comm may contain spaces; split at the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head
            .split_once('(')
            .map(|(_, c)| c.to_string())
            .unwrap_or_default();
        let mut rest = tail.split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if ppid == me {
            found.push((pid, comm, state));
        }
    }
    found
}

#[test]
fn fusermount_mount_as_root_shows_in_mountinfo() {
    let _serial = serial();
    let name = "fusermount_mount_as_root_shows_in_mountinfo";
    if !can_mount(name) || !have_fusermount(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let fsname = test_fsname();
    let opts = MountOptions::new()
        .method(MountMethod::Fusermount)
        .fsname(&fsname)
        .subtype("fmtest")
        .default_permissions(true)
        .max_read(131072);
    let m = mount(&mnt, &opts).expect("fusermount3 mount as root");
    let _guard = Guard(m.unmounter());
    assert_eq!(m.method(), MountedBy::Fusermount);
    assert!(std::os::fd::AsRawFd::as_raw_fd(&m.fd()) > 2);
    let entries = mounts_under(dir.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e.fstype, "fuse.fmtest");
    assert_eq!(e.source, fsname);
    for opt in [
        "nosuid",
        "nodev",
        "user_id=0",
        "group_id=0",
        "default_permissions",
        "max_read=131072",
    ] {
        assert!(e.has_option(opt), "{opt} missing: {e:?}");
    }
    let id = m.connection_id().expect("connection id");
    assert_eq!(Some(id), e.connection_id());
    fusekit_mount::ensure_fusectl().unwrap();
    assert!(Path::new(CONNECTIONS_DIR).join(id.to_string()).is_dir());
    assert!(
        children().iter().all(|(_, comm, _)| comm != "fusermount3"),
        "fusermount3 was not reaped: {:?}",
        children()
    );
    let (fd, unmounter) = m.into_parts();
    unmounter.unmount().unwrap();
    assert!(mounts_under(dir.path()).is_empty());
    drop(fd);
}

#[test]
fn auto_unmount_unmounts_once_the_socket_and_fd_are_closed() {
    let _serial = serial();
    let name = "auto_unmount_unmounts_once_the_socket_and_fd_are_closed";
    if !can_mount(name) || !have_fusermount(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    // Auto + auto_unmount goes through fusermount3 even as root.
    let opts = MountOptions::new().fsname(test_fsname()).auto_unmount(true);
    let m = mount(&mnt, &opts).expect("auto_unmount mount");
    assert_eq!(m.method(), MountedBy::Fusermount);
    assert!(mounts_under(dir.path()).len() == 1);
    let (fd, unmounter) = m.into_parts();
    assert!(unmounter.has_auto_unmount());
    // fusermount3 stays alive, waiting on the socket.
    assert!(children().iter().any(|(_, comm, _)| comm == "fusermount3"));
    let clone = unmounter.clone();
    drop(fd);
    drop(unmounter);
    // One clone still holds the socket: the mount must stay.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        mounts_under(dir.path()).len(),
        1,
        "unmounted while a clone was alive"
    );
    drop(clone);
    assert!(
        wait_for(Duration::from_secs(10), || mounts_under(dir.path())
            .is_empty()),
        "fusermount3 did not auto-unmount"
    );
    assert!(
        wait_for(Duration::from_secs(10), || children().is_empty()),
        "fusermount3 left behind (zombie or alive): {:?}",
        children()
    );
}

/// Runs one fake mount and returns the fds its child had: number -> link target.
fn fake_mount(fake: &Path, mnt: &Path) -> (String, BTreeMap<i32, String>, MountError) {
    let opts = MountOptions::new()
        .method(MountMethod::Fusermount)
        .fusermount(fake);
    let err = mount(mnt, &opts).expect_err("the fake refuses to mount");
    let report = std::fs::read_to_string(mnt.join("fake-fusermount.out")).unwrap();
    std::fs::remove_file(mnt.join("fake-fusermount.out")).unwrap();
    let mut commfd = String::new();
    let mut fds = BTreeMap::new();
    for line in report.lines() {
        if let Some(v) = line.strip_prefix("commfd=") {
            commfd = v.to_string();
        } else if let Some(v) = line.strip_prefix("fd ") {
            let (n, target) = v.split_once(' ').unwrap();
            fds.insert(n.parse().unwrap(), target.to_string());
        }
    }
    (commfd, fds, err)
}

#[test]
fn fusermount_child_inherits_only_its_socket() {
    let _serial = serial();
    let name = "fusermount_child_inherits_only_its_socket";
    if !can_mount(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, LIMIT, dir.path());
    let fake = example_binary("fake_fusermount");
    // Hold plenty of our own (close-on-exec) fds open meanwhile...
    let held: Vec<std::fs::File> = (0..16)
        .map(|_| std::fs::File::open("/dev/null").unwrap())
        .collect();
    let (_a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    // One fd deliberately *not* close-on-exec, as a careless host program might hold:
    // fusermount3 must not get it either.
    let leaky = std::fs::File::open("/dev/null").unwrap();
    rustix::io::fcntl_setfd(&leaky, rustix::io::FdFlags::empty()).unwrap();
    // ...and keep other threads busy mounting for real, opening /dev/fuse fds and sockets.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..2 {
            let dir = &dir;
            let stop = &stop;
            scope.spawn(move || {
                let mnt = dir.subdir(&format!("busy{t}"));
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let m = mount(&mnt, &MountOptions::new().fsname(test_fsname())).unwrap();
                    drop(m);
                }
            });
        }
        // Stops the busy threads however this closure ends (a failed assertion included),
        // or the scope would wait for them forever.
        struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(&stop);
        let mnt = dir.subdir("mnt");
        for round in 0..20 {
            let (commfd, fds, err) = fake_mount(&fake, &mnt);
            let commfd: i32 = commfd.parse().expect("fake saw _FUSE_COMMFD");
            assert!(commfd > 2, "socket on stdio fd {commfd}");
            let numbers: Vec<i32> = fds.keys().copied().collect();
            assert_eq!(
                numbers,
                vec![0, 1, 2, commfd],
                "round {round}: child fds {fds:?}"
            );
            assert!(fds[&commfd].starts_with("socket:["), "{fds:?}");
            assert_eq!(fds[&0], "/dev/null");
            assert_eq!(fds[&1], "/dev/null");
            assert!(fds[&2].starts_with("pipe:["), "stderr is captured: {fds:?}");
            let MountError::FusermountFailed {
                action,
                status,
                ref stderr,
                ref mountpoint,
            } = err
            else {
                panic!("wrong error {err:?}");
            };
            assert_eq!((action, status.code()), ("mount", Some(3)));
            assert_eq!(mountpoint, &mnt);
            assert!(stderr.contains("refusing to mount"), "{stderr}");
            assert!(
                err.to_string().starts_with(&format!(
                    "fusermount3 failed to mount {} (exit status: 3): fake fusermount3: \
                     refusing to mount",
                    mnt.display()
                )),
                "{err}"
            );
        }
    });
    drop((held, leaky));
    assert!(mounts_under(dir.path()).is_empty());
}

/// Whether fd `fd` of this process has O_CLOEXEC, per /proc/self/fdinfo.
fn is_cloexec(fd: i32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap();
    flags & 0o2000000 != 0
}

#[test]
fn every_fd_we_hold_is_cloexec_and_above_stdio() {
    let _serial = serial();
    let name = "every_fd_we_hold_is_cloexec_and_above_stdio";
    if !can_mount(name) || !have_fusermount(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, LIMIT, dir.path());
    let before = common::open_fds();
    let kernel = mount(
        &dir.subdir("k"),
        &MountOptions::new().method(MountMethod::Strict),
    )
    .unwrap();
    let helper = mount(
        &dir.subdir("f"),
        &MountOptions::new()
            .method(MountMethod::Fusermount)
            .auto_unmount(true),
    )
    .unwrap();
    let ours: Vec<i32> = common::open_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    // The kernel mount's fd, the helper mount's fd and its auto_unmount socket (plus
    // possibly the reaper's stderr pipe).
    assert!(ours.len() >= 3, "{ours:?}");
    for fd in &ours {
        assert!(*fd > 2, "fd {fd} on stdio");
        assert!(is_cloexec(*fd), "fd {fd} is not close-on-exec");
    }
    let (fd, unmounter) = helper.into_parts();
    unmounter.unmount().unwrap();
    drop((fd, unmounter, kernel));
    assert!(mounts_under(dir.path()).is_empty());
    // The auto_unmount helper exits once its socket closes; let it go before the next test.
    assert!(
        wait_for(Duration::from_secs(10), || children().is_empty()),
        "fusermount3 left behind: {:?}",
        children()
    );
}
