//! As root, nodes created through the mount belong to the caller: the daemon switches the
//! serving thread to the caller's uid, gid and supplementary groups for create-like requests.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{mount_passthrough, require_kernel, temp_dir, with_deadline};
use fusekit_passthrough::PassthroughOptions;
use rustix::process::{Gid, Uid};

const NOBODY: u32 = 65534;

/// Runs `f` on a thread whose credentials are `uid:gid` with supplementary `groups`
/// (per-thread raw syscalls; the test process stays root).
fn as_user<T: Send + 'static>(
    uid: u32,
    gid: u32,
    groups: &[u32],
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let groups: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw(g)).collect();
    std::thread::spawn(move || {
        rustix::thread::set_thread_groups(&groups).expect("setgroups");
        let g = Gid::from_raw(gid);
        rustix::thread::set_thread_res_gid(g, g, g).expect("setresgid");
        let u = Uid::from_raw(uid);
        rustix::thread::set_thread_res_uid(u, u, u).expect("setresuid");
        f()
    })
    .join()
    .expect("user thread")
}

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).expect("stat in source");
    (m.uid(), m.gid())
}

fn create_all(dir: PathBuf) -> Vec<std::io::Result<()>> {
    vec![
        std::fs::write(dir.join("file"), b"mine"),
        std::fs::create_dir(dir.join("dir")),
        std::os::unix::fs::symlink("file", dir.join("link")),
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .map_err(Into::into),
    ]
}

#[test]
fn nodes_created_as_nobody_belong_to_nobody() {
    if !require_kernel("nodes_created_as_nobody_belong_to_nobody") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        for switch in [true, false] {
            let src = temp_dir("own-src");
            std::fs::set_permissions(src.path(), PermissionsExt::from_mode(0o755)).unwrap();
            let public = src.path().join("public");
            std::fs::create_dir(&public).unwrap();
            std::fs::set_permissions(&public, PermissionsExt::from_mode(0o777)).unwrap();
            let (mnt, _) = mount_passthrough(
                src.path(),
                PassthroughOptions::default().switch_credentials(switch),
            );
            let dir = mnt.path().join("public");
            let results = as_user(NOBODY, NOBODY, &[], move || create_all(dir));
            for r in &results {
                assert!(r.is_ok(), "create as nobody: {results:?}");
            }
            let want = if switch { (NOBODY, NOBODY) } else { (0, 0) };
            for name in ["file", "dir", "link", "fifo"] {
                assert_eq!(
                    owner(&public.join(name)),
                    want,
                    "{name}, switching {switch}"
                );
            }
            // The daemon thread got root back: the next create by root is root's.
            std::fs::write(mnt.path().join("public/by-root"), b"").unwrap();
            assert_eq!(owner(&public.join("by-root")), (0, 0));
            drop(mnt);
        }
    });
}

#[test]
fn supplementary_groups_count_on_the_source() {
    if !require_kernel("supplementary_groups_count_on_the_source") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        const GROUP: u32 = 4242;
        let src = temp_dir("grp-src");
        std::fs::set_permissions(src.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let shared = src.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        rustix::fs::chown(&shared, None, Some(Gid::from_raw(GROUP))).unwrap();
        std::fs::set_permissions(&shared, PermissionsExt::from_mode(0o770)).unwrap();
        let (mnt, _) = mount_passthrough(src.path(), PassthroughOptions::default());
        let target = mnt.path().join("shared/f");
        let t = target.clone();
        let member = as_user(NOBODY, NOBODY, &[GROUP], move || std::fs::write(&t, b"x"));
        assert!(
            member.is_ok(),
            "group member creating in a group-writable dir: {member:?}"
        );
        assert_eq!(owner(&shared.join("f")), (NOBODY, NOBODY));
        let t = mnt.path().join("shared/g");
        let outsider = as_user(NOBODY, NOBODY, &[], move || std::fs::write(&t, b"x"));
        assert_eq!(
            outsider.map_err(|e| e.raw_os_error()),
            Err(Some(libc::EACCES)),
            "a non-member must be refused"
        );
        assert!(!shared.join("g").exists());
        drop(mnt);
    });
}

/// Without default_permissions the kernel asks the filesystem (ACCESS); the answer is the
/// source filesystem's verdict for the caller, not for the root daemon.
#[test]
fn access_answers_for_the_caller_without_default_permissions() {
    if !require_kernel("access_answers_for_the_caller_without_default_permissions") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let src = temp_dir("acc-src");
        std::fs::set_permissions(src.path(), PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(src.path().join("secret"), b"").unwrap();
        std::fs::set_permissions(src.path().join("secret"), PermissionsExt::from_mode(0o600))
            .unwrap();
        std::fs::write(src.path().join("public"), b"").unwrap();
        std::fs::set_permissions(src.path().join("public"), PermissionsExt::from_mode(0o644))
            .unwrap();
        let fs = fusekit_passthrough::Passthrough::new(src.path(), PassthroughOptions::default())
            .unwrap();
        let options = common::passthrough_mount_options().default_permissions(false);
        let mnt = common::TestMount::new(fs, &options);
        let m = mnt.path().to_path_buf();
        let answers = as_user(NOBODY, NOBODY, &[], move || {
            let check = |name: &str, a: rustix::fs::Access| {
                rustix::fs::access(m.join(name), a).map_err(|e| e.raw_os_error())
            };
            (
                check("secret", rustix::fs::Access::READ_OK),
                check("public", rustix::fs::Access::READ_OK),
                check("public", rustix::fs::Access::WRITE_OK),
            )
        });
        assert_eq!(answers, (Err(libc::EACCES), Ok(()), Err(libc::EACCES)));
        assert_eq!(
            rustix::fs::access(mnt.path().join("secret"), rustix::fs::Access::WRITE_OK),
            Ok(())
        );
        drop(mnt);
    });
}
