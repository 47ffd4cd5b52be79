//! Extended attributes: set/get/list/remove, XATTR_CREATE/XATTR_REPLACE, size queries and
//! ERANGE, ENODATA for missing names, namespaces, symlinks, and attributes following the inode
//! across links and renames. Skipped as a family when user xattrs answer ENOTSUP.

use std::os::fd::OwnedFd;

use rustix::fs::{OFlags, XattrFlags};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "xattr";
    xattr_set_get_roundtrip ["xattr"] "a user xattr reads back exactly";
    xattr_list_contains_names ["xattr"] "listxattr returns every set name, NUL-terminated";
    xattr_remove_then_enodata ["xattr"] "after removexattr the name answers ENODATA and is not listed";
    xattr_get_missing_enodata ["xattr"] "getxattr of a missing name fails with ENODATA";
    xattr_remove_missing_enodata ["xattr"] "removexattr of a missing name fails with ENODATA";
    xattr_create_existing_eexist ["xattr"] "XATTR_CREATE on an existing name fails with EEXIST and keeps the value";
    xattr_replace_missing_enodata ["xattr"] "XATTR_REPLACE on a missing name fails with ENODATA";
    xattr_replace_existing_ok ["xattr"] "XATTR_REPLACE on an existing name replaces the value";
    xattr_get_size_query ["xattr"] "getxattr with a zero-size buffer returns the value's length";
    xattr_get_small_buffer_erange ["xattr"] "getxattr into a too-small buffer fails with ERANGE";
    xattr_list_size_query ["xattr"] "listxattr with a zero-size buffer returns the list's length";
    xattr_list_small_buffer_erange ["xattr"] "listxattr into a too-small buffer fails with ERANGE";
    xattr_empty_value ["xattr"] "an empty value is stored and reads back with length 0";
    xattr_binary_value_roundtrip ["xattr"] "a value with every byte 0..=255 (including NUL) reads back exactly";
    xattr_on_directory ["xattr"] "user xattrs work on directories";
    xattr_set_updates_ctime ["xattr"] "setxattr moves ctime forward";
    xattr_unknown_namespace_eopnotsupp ["xattr"] "a name outside the known namespaces fails with EOPNOTSUPP";
    xattr_name_too_long_erange ["xattr"] "a 256-byte attribute name fails with ERANGE";
    xattr_user_on_symlink_eperm ["xattr"] "user xattrs on a symlink itself are refused with EPERM";
    xattr_shared_by_hard_links ["xattr"] "an xattr set via one hard link is seen via the other";
    xattr_survives_rename ["xattr"] "xattrs stay with the file across rename";
    xattr_trusted_as_root ["xattr", "root"] "root can set and read trusted.* attributes";
    xattr_trusted_on_symlink ["xattr", "root"] "trusted.* attributes on a symlink itself: set, get, list and remove, the target untouched";
    xattr_2k_value_roundtrip ["xattr"] "a 2000-byte value reads back exactly";
    xattr_many_names_listed ["xattr"] "fifty attributes on one file are all listed";
}

const NAME: &str = "user.fusekit.test";

fn f(c: &Ctx) -> R<OwnedFd> {
    c.create("f", b"")?;
    c.open("f", OFlags::RDONLY)
}

fn set(fd: &OwnedFd, name: &str, v: &[u8], fl: XattrFlags) -> rustix::io::Result<()> {
    rustix::fs::fsetxattr(fd, name, v, fl)
}

fn get(fd: &OwnedFd, name: &str) -> rustix::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let n = rustix::fs::fgetxattr(fd, name, &mut buf[..])?;
    buf.truncate(n);
    Ok(buf)
}

fn list(fd: &OwnedFd) -> R<Vec<String>> {
    let mut buf = vec![0u8; 65536];
    let n = rustix::fs::flistxattr(fd, &mut buf[..]).must("listxattr")?;
    let mut v: Vec<String> = buf[..n]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|s| s.starts_with("user."))
        .collect();
    v.sort();
    Ok(v)
}

fn xattr_set_get_roundtrip(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, b"value-1", XattrFlags::empty()).must("setxattr")?;
    check_eq(
        "value",
        b"value-1".to_vec(),
        get(&fd, NAME).must("getxattr")?,
    )
}

fn xattr_list_contains_names(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    for n in ["user.a", "user.bb", "user.ccc"] {
        set(&fd, n, b"1", XattrFlags::empty()).must(&format!("setxattr {n}"))?;
    }
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::flistxattr(&fd, &mut buf[..]).must("listxattr")?;
    check(
        "list ends with NUL",
        n > 0 && buf[n - 1] == 0,
        "trailing NUL",
        format!("{:?}", &buf[..n]),
    )?;
    check_eq(
        "user names",
        vec!["user.a".to_string(), "user.bb".into(), "user.ccc".into()],
        list(&fd)?,
    )
}

fn xattr_remove_then_enodata(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, b"v", XattrFlags::empty()).must("setxattr")?;
    rustix::fs::fremovexattr(&fd, NAME).must("removexattr")?;
    expect_errno("getxattr after remove", get(&fd, NAME), Errno::NODATA)?;
    check_eq("user names", Vec::<String>::new(), list(&fd)?)
}

fn xattr_get_missing_enodata(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    expect_errno("getxattr missing", get(&fd, "user.missing"), Errno::NODATA)
}

fn xattr_remove_missing_enodata(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    expect_errno(
        "removexattr missing",
        rustix::fs::fremovexattr(&fd, "user.missing"),
        Errno::NODATA,
    )
}

fn xattr_create_existing_eexist(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, b"first", XattrFlags::empty()).must("setxattr")?;
    expect_errno(
        "XATTR_CREATE on existing",
        set(&fd, NAME, b"second", XattrFlags::CREATE),
        Errno::EXIST,
    )?;
    check_bytes("value", b"first", &get(&fd, NAME).must("getxattr")?)
}

fn xattr_replace_missing_enodata(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    expect_errno(
        "XATTR_REPLACE on missing",
        set(&fd, NAME, b"v", XattrFlags::REPLACE),
        Errno::NODATA,
    )?;
    expect_errno("getxattr", get(&fd, NAME), Errno::NODATA)
}

fn xattr_replace_existing_ok(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, b"first", XattrFlags::CREATE).must("XATTR_CREATE")?;
    set(&fd, NAME, b"2nd", XattrFlags::REPLACE).must("XATTR_REPLACE")?;
    check_bytes("value", b"2nd", &get(&fd, NAME).must("getxattr")?)
}

fn xattr_get_size_query(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, &[7u8; 123], XattrFlags::empty()).must("setxattr")?;
    check_eq(
        "size query",
        123,
        rustix::fs::fgetxattr_query(&fd, NAME).must("getxattr size 0")?,
    )
}

fn xattr_get_small_buffer_erange(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, &[7u8; 123], XattrFlags::empty()).must("setxattr")?;
    let mut small = [0u8; 10];
    expect_errno(
        "getxattr into 10 bytes",
        rustix::fs::fgetxattr(&fd, NAME, &mut small[..]),
        Errno::RANGE,
    )
}

fn xattr_list_size_query(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, "user.one", b"1", XattrFlags::empty()).must("setxattr")?;
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::flistxattr(&fd, &mut buf[..]).must("listxattr")?;
    check_eq(
        "size query",
        n,
        rustix::fs::flistxattr_query(&fd).must("listxattr size 0")?,
    )
}

fn xattr_list_small_buffer_erange(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(
        &fd,
        "user.a-rather-long-attribute-name",
        b"1",
        XattrFlags::empty(),
    )
    .must("setxattr")?;
    let mut small = [0u8; 4];
    expect_errno(
        "listxattr into 4 bytes",
        rustix::fs::flistxattr(&fd, &mut small[..]),
        Errno::RANGE,
    )
}

fn xattr_empty_value(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, b"", XattrFlags::empty()).must("setxattr empty")?;
    check_eq("value", Vec::<u8>::new(), get(&fd, NAME).must("getxattr")?)?;
    check_eq("listed", vec![NAME.to_string()], list(&fd)?)
}

fn xattr_binary_value_roundtrip(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    let v: Vec<u8> = (0..=255u8).collect();
    set(&fd, NAME, &v, XattrFlags::empty()).must("setxattr binary")?;
    check_eq("value", v, get(&fd, NAME).must("getxattr")?)
}

fn xattr_on_directory(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let fd = c.open("d", OFlags::RDONLY | OFlags::DIRECTORY)?;
    set(&fd, NAME, b"dir", XattrFlags::empty()).must("setxattr on dir")?;
    check_eq(
        "value",
        b"dir".to_vec(),
        get(&fd, NAME).must("getxattr on dir")?,
    )
}

fn xattr_set_updates_ctime(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    let before = fst(&fd).must("fstat")?;
    c.tick();
    set(&fd, NAME, b"v", XattrFlags::empty()).must("setxattr")?;
    let after = fst(&fd).must("fstat")?;
    check(
        "ctime",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn xattr_unknown_namespace_eopnotsupp(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    expect_errno(
        "setxattr bogus.name",
        set(&fd, "bogus.name", b"v", XattrFlags::empty()),
        Errno::OPNOTSUPP,
    )
}

fn xattr_name_too_long_erange(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    let name = format!("user.{}", "n".repeat(251));
    expect_errno(
        "setxattr with a 256-byte name",
        set(&fd, &name, b"v", XattrFlags::empty()),
        Errno::RANGE,
    )
}

fn xattr_user_on_symlink_eperm(c: &Ctx) -> R<()> {
    c.create("t", b"")?;
    c.symlink("t", "l")?;
    let r = rustix::fs::lsetxattr(c.p("l"), NAME, b"v", XattrFlags::empty());
    expect_errno("lsetxattr user.* on a symlink", r, Errno::PERM)
}

fn xattr_shared_by_hard_links(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    c.link("f", "g")?;
    set(&fd, NAME, b"linked", XattrFlags::empty()).must("setxattr via f")?;
    let g = c.open("g", OFlags::RDONLY)?;
    check_eq(
        "value via g",
        b"linked".to_vec(),
        get(&g, NAME).must("getxattr via g")?,
    )
}

fn xattr_survives_rename(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, NAME, b"moved", XattrFlags::empty()).must("setxattr")?;
    drop(fd);
    c.rename("f", "g")?;
    let g = c.open("g", OFlags::RDONLY)?;
    check_eq(
        "value after rename",
        b"moved".to_vec(),
        get(&g, NAME).must("getxattr")?,
    )
}

fn xattr_trusted_as_root(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    set(&fd, "trusted.fusekit", b"t", XattrFlags::empty()).must("setxattr trusted.fusekit")?;
    check_eq(
        "value",
        b"t".to_vec(),
        get(&fd, "trusted.fusekit").must("getxattr trusted.fusekit")?,
    )
}

fn xattr_2k_value_roundtrip(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    let v = c.rng().bytes(2000);
    set(&fd, NAME, &v, XattrFlags::empty()).must("setxattr 2000 bytes")?;
    check_bytes("value", &v, &get(&fd, NAME).must("getxattr")?)
}

fn xattr_many_names_listed(c: &Ctx) -> R<()> {
    let fd = f(c)?;
    let mut want: Vec<String> = (0..50).map(|i| format!("user.n{i:02}")).collect();
    for n in &want {
        set(&fd, n, b"v", XattrFlags::empty()).must(&format!("setxattr {n}"))?;
    }
    want.sort();
    check_eq("user names", want, list(&fd)?)
}

fn xattr_trusted_on_symlink(c: &Ctx) -> R<()> {
    c.create("target", b"")?;
    c.symlink("target", "l")?;
    let (l, t) = (c.p("l"), c.p("target"));
    rustix::fs::lsetxattr(&l, "trusted.fusekit.sl", b"on-link", XattrFlags::empty())
        .must("lsetxattr trusted.fusekit.sl on the symlink")?;
    let mut buf = vec![0u8; 64];
    let n = rustix::fs::lgetxattr(&l, "trusted.fusekit.sl", &mut buf)
        .must("lgetxattr trusted.fusekit.sl")?;
    check_bytes("value on the symlink", b"on-link", &buf[..n])?;
    let n = rustix::fs::llistxattr(&l, &mut buf).must("llistxattr of the symlink")?;
    check(
        "symlink's attribute list",
        buf[..n]
            .split(|b| *b == 0)
            .any(|x| x == b"trusted.fusekit.sl"),
        "contains trusted.fusekit.sl",
        String::from_utf8_lossy(&buf[..n]).replace('\0', " "),
    )?;
    expect_errno(
        "getxattr trusted.fusekit.sl on the target",
        rustix::fs::getxattr(&t, "trusted.fusekit.sl", &mut buf),
        Errno::NODATA,
    )?;
    rustix::fs::lremovexattr(&l, "trusted.fusekit.sl").must("lremovexattr")?;
    expect_errno(
        "lgetxattr after removal",
        rustix::fs::lgetxattr(&l, "trusted.fusekit.sl", &mut buf),
        Errno::NODATA,
    )
}
