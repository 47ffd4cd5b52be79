//! setattr: chmod/chown/truncate/utimens rules, setuid clearing, ctime, access().

mod common;
use common::*;
use fusekit_memfs::{Caller, Errno, SetAttr, TimeOrNow, Timestamp, ROOT_ID};

fn set() -> SetAttr {
    SetAttr::default()
}

#[test]
fn chmod_needs_ownership() {
    let fs = fs();
    let alice = user(1000);
    let f = fs.mknod(&alice, ROOT_ID, n("f"), 0o100644, 0).unwrap();
    assert_eq!(
        fs.setattr(
            &user(1001),
            f.ino,
            &SetAttr {
                mode: Some(0o777),
                ..set()
            }
        )
        .err(),
        Some(Errno::PERM)
    );
    let a = fs
        .setattr(
            &alice,
            f.ino,
            &SetAttr {
                mode: Some(0o600),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(a.perm(), 0o600);
    assert!(a.ctime >= f.ctime);
    // With known groups and not a member, chmod cannot set setgid.
    let fs_g = fs
        .setattr(
            &root(),
            f.ino,
            &SetAttr {
                gid: Some(77),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(fs_g.gid, 77);
    let strict = Caller {
        groups: Some(vec![5]),
        ..alice.clone()
    };
    let a = fs
        .setattr(
            &strict,
            f.ino,
            &SetAttr {
                mode: Some(0o2755),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(a.perm(), 0o755);
    // Unknown groups: the kernel already decided.
    let a = fs
        .setattr(
            &alice,
            f.ino,
            &SetAttr {
                mode: Some(0o2755),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(a.perm(), 0o2755);
}

#[test]
fn chown_rules_and_privilege_clearing() {
    let fs = fs();
    let alice = Caller {
        groups: Some(vec![200]),
        ..Caller::new(1000, 100)
    };
    let f = fs.mknod(&alice, ROOT_ID, n("f"), 0o106755, 0).unwrap();
    assert_eq!(f.perm(), 0o6755);
    assert_eq!(
        fs.setattr(
            &alice,
            f.ino,
            &SetAttr {
                uid: Some(1001),
                ..set()
            }
        )
        .err(),
        Some(Errno::PERM)
    );
    assert_eq!(
        fs.setattr(
            &alice,
            f.ino,
            &SetAttr {
                gid: Some(300),
                ..set()
            }
        )
        .err(),
        Some(Errno::PERM)
    );
    assert_eq!(
        fs.setattr(
            &user(1001),
            f.ino,
            &SetAttr {
                gid: Some(1001),
                ..set()
            }
        )
        .err(),
        Some(Errno::PERM)
    );
    let a = fs
        .setattr(
            &alice,
            f.ino,
            &SetAttr {
                gid: Some(200),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(
        (a.gid, a.perm()),
        (200, 0o755),
        "chgrp clears setuid and setgid(+gx)"
    );
    // setgid without group-exec survives chown (mandatory-locking marker).
    fs.setattr(
        &root(),
        f.ino,
        &SetAttr {
            mode: Some(0o6745),
            ..set()
        },
    )
    .unwrap();
    let a = fs
        .setattr(
            &root(),
            f.ino,
            &SetAttr {
                uid: Some(5),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(
        (a.uid, a.perm()),
        (5, 0o2745),
        "even root's chown clears setuid"
    );
    // Directories keep their bits.
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o2755).unwrap();
    let a = fs
        .setattr(
            &root(),
            d.ino,
            &SetAttr {
                uid: Some(9),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(a.perm(), 0o2755);
}

/// chown strips setuid (and setgid with group-exec) from every non-directory, not only from
/// regular files, whether root or the (non-root) owner does it: tmpfs on Linux 6.18 turns
/// 6755 into 755 and 6745 into 2745 for FIFOs, sockets and device nodes alike.
#[test]
fn chown_clears_setuid_on_special_files() {
    let fs = fs();
    let alice = Caller::new(1000, 100);
    let kinds = [
        ("fifo", 0o010000, 0),
        ("socket", 0o140000, 0),
        ("char", 0o020000, 0x103),
        ("block", 0o060000, 0x700),
    ];
    for who in [root(), alice.clone()] {
        for (kind, ifmt, rdev) in kinds {
            for (before, after) in [(0o6755, 0o755), (0o6745, 0o2745)] {
                let name = format!("{kind}-{}-{before:o}", who.uid);
                let node = fs
                    .mknod(&root(), ROOT_ID, n(&name), ifmt | 0o644, rdev)
                    .unwrap();
                let owned = SetAttr {
                    uid: Some(1000),
                    gid: Some(100),
                    ..set()
                };
                fs.setattr(&root(), node.ino, &owned).unwrap();
                let moded = SetAttr {
                    mode: Some(before),
                    ..set()
                };
                let a = fs.setattr(&root(), node.ino, &moded).unwrap();
                assert_eq!(a.perm(), before, "{name}: mode set");
                let a = fs.setattr(&who, node.ino, &owned).unwrap();
                assert_eq!(
                    (a.uid, a.gid, a.perm()),
                    (1000, 100, after),
                    "{name}: chown by uid {} clears the privilege bits",
                    who.uid
                );
            }
        }
    }
}

#[test]
fn write_and_truncate_by_non_root_clear_setuid() {
    let fs = fs();
    let alice = user(1000);
    let (f, fh) = fs.create(&alice, ROOT_ID, n("f"), 0o6755, O_RDWR).unwrap();
    assert_eq!(f.perm(), 0o6755);
    // Root writes keep the bits, unless the kernel asks to kill them.
    fs.write(&root(), f.ino, fh, 0, b"r", false).unwrap();
    assert_eq!(fs.getattr(f.ino).unwrap().perm(), 0o6755);
    fs.write(&alice, f.ino, fh, 0, b"a", false).unwrap();
    assert_eq!(fs.getattr(f.ino).unwrap().perm(), 0o755);
    fs.setattr(
        &root(),
        f.ino,
        &SetAttr {
            mode: Some(0o4755),
            ..set()
        },
    )
    .unwrap();
    fs.write(&root(), f.ino, fh, 0, b"k", true).unwrap();
    assert_eq!(fs.getattr(f.ino).unwrap().perm(), 0o755, "kill_priv flag");
    fs.setattr(
        &root(),
        f.ino,
        &SetAttr {
            mode: Some(0o4755),
            ..set()
        },
    )
    .unwrap();
    let a = fs
        .setattr(
            &alice,
            f.ino,
            &SetAttr {
                size: Some(0),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(a.perm(), 0o755);
    fs.release(f.ino, fh, None).unwrap();
}

#[test]
fn truncate_rules() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    let s = fs.symlink(&root(), ROOT_ID, n("s"), n("t")).unwrap();
    let f = fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    assert_eq!(
        fs.setattr(
            &root(),
            d.ino,
            &SetAttr {
                size: Some(0),
                ..set()
            }
        )
        .err(),
        Some(Errno::ISDIR)
    );
    assert_eq!(
        fs.setattr(
            &root(),
            s.ino,
            &SetAttr {
                size: Some(0),
                ..set()
            }
        )
        .err(),
        Some(Errno::INVAL)
    );
    assert_eq!(
        fs.setattr(
            &root(),
            f.ino,
            &SetAttr {
                size: Some(1 << 63),
                ..set()
            }
        )
        .err(),
        Some(Errno::FBIG)
    );
    let a = fs
        .setattr(
            &root(),
            f.ino,
            &SetAttr {
                size: Some(i64::MAX as u64),
                ..set()
            },
        )
        .unwrap();
    assert_eq!((a.size, a.blocks), (i64::MAX as u64, 0), "sparse");
    std::thread::sleep(std::time::Duration::from_millis(2));
    let b = fs
        .setattr(
            &root(),
            f.ino,
            &SetAttr {
                size: Some(i64::MAX as u64),
                ..set()
            },
        )
        .unwrap();
    assert!(
        b.mtime > a.mtime,
        "truncate to the same size still updates mtime"
    );
    assert_eq!(
        fs.setattr(
            &root(),
            f.ino,
            &SetAttr {
                fh: Some(12345),
                ..set()
            }
        )
        .err(),
        Some(Errno::BADF)
    );
}

#[test]
fn utimens_rules() {
    let fs = fs();
    let alice = user(1000);
    let f = fs.mknod(&alice, ROOT_ID, n("f"), 0o100666, 0).unwrap();
    let t = Timestamp::new(1_000_000, 123_456_789);
    let explicit = SetAttr {
        atime: Some(TimeOrNow::At(t)),
        mtime: Some(TimeOrNow::At(t)),
        ..set()
    };
    assert_eq!(
        fs.setattr(&user(1001), f.ino, &explicit).err(),
        Some(Errno::PERM)
    );
    let a = fs.setattr(&alice, f.ino, &explicit).unwrap();
    assert_eq!((a.atime, a.mtime), (t, t));
    assert!(a.ctime > t, "ctime is now");
    // UTIME_NOW by a non-owner with write permission works; without it EACCES.
    let now = SetAttr {
        mtime: Some(TimeOrNow::Now),
        ..set()
    };
    let b = fs.setattr(&user(1001), f.ino, &now).unwrap();
    assert!(b.mtime > t);
    assert_eq!(b.atime, t, "UTIME_OMIT leaves atime alone");
    fs.setattr(
        &alice,
        f.ino,
        &SetAttr {
            mode: Some(0o644),
            ..set()
        },
    )
    .unwrap();
    assert_eq!(
        fs.setattr(&user(1001), f.ino, &now).err(),
        Some(Errno::ACCESS)
    );
    // Explicit ctime.
    let c = fs
        .setattr(
            &root(),
            f.ino,
            &SetAttr {
                ctime: Some(t),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(c.ctime, t);
    // Pre-epoch and nanosecond precision survive.
    let old = Timestamp::new(-5, 1);
    let d = fs
        .setattr(
            &root(),
            f.ino,
            &SetAttr {
                mtime: Some(TimeOrNow::At(old)),
                ..set()
            },
        )
        .unwrap();
    assert_eq!(d.mtime, old);
}

#[test]
fn access_follows_mode_bits() {
    let fs = fs();
    let alice = Caller {
        groups: Some(vec![]),
        ..Caller::new(1000, 100)
    };
    let f = fs.mknod(&alice, ROOT_ID, n("f"), 0o100640, 0).unwrap();
    assert!(fs.access(&alice, f.ino, 6).is_ok());
    assert_eq!(fs.access(&alice, f.ino, 1), Err(Errno::ACCESS));
    let member = Caller {
        groups: Some(vec![]),
        ..Caller::new(2000, 100)
    };
    assert!(fs.access(&member, f.ino, 4).is_ok());
    assert_eq!(fs.access(&member, f.ino, 2), Err(Errno::ACCESS));
    let other = Caller {
        groups: Some(vec![]),
        ..Caller::new(3000, 300)
    };
    assert_eq!(fs.access(&other, f.ino, 4), Err(Errno::ACCESS));
    assert!(fs.access(&other, f.ino, 0).is_ok());
    assert!(fs.access(&root(), f.ino, 6).is_ok());
    assert_eq!(
        fs.access(&root(), f.ino, 1),
        Err(Errno::ACCESS),
        "root needs some x bit"
    );
    assert!(fs.access(&root(), ROOT_ID, 1).is_ok());
}
