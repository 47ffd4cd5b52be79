//! Mount options: what the caller asks for, their validation, and their rendering into the
//! two option languages in play — the mount(2) flags plus data string the kernel takes, and
//! the `-o` string fusermount3 takes. No I/O happens here.

use std::path::PathBuf;

use rustix::mount::MountFlags;

use crate::error::MountError;

/// The `source` shown in /proc/self/mountinfo when no fsname is set.
pub const DEFAULT_FSNAME: &str = "fusekit";

/// The root directory mode handed to the kernel: a directory (`S_IFDIR`, octal).
/// fusekit only mounts on directories, so this never varies.
const ROOTMODE: &str = "40000";

/// How to perform the mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountMethod {
    /// mount(2) when the process holds CAP_SYS_ADMIN; fusermount3 when it does not, when
    /// mount(2) answers EPERM, or when `auto_unmount` is asked for (only fusermount3 can
    /// provide it).
    #[default]
    Auto,
    /// mount(2) only. Never falls back to fusermount3; failures say why.
    Strict,
    /// Always fusermount3, even as root.
    Fusermount,
}

/// What to mount and how. Build with [`MountOptions::new`] (or `Default`) and the
/// builder-style setters.
///
/// `rootmode` is always a directory (fusekit only mounts on directories) and
/// `user_id`/`group_id` are the process's real uid/gid: neither is configurable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// The mount's source as shown in mountinfo (default [`DEFAULT_FSNAME`]).
    pub fsname: Option<String>,
    /// Filesystem subtype: the mount's type becomes `fuse.<subtype>`.
    pub subtype: Option<String>,
    /// Let users other than the mounting one access the filesystem.
    pub allow_other: bool,
    /// Let the kernel check permissions from the file modes.
    pub default_permissions: bool,
    /// Mount read-only.
    pub read_only: bool,
    /// Largest read request the kernel will send.
    pub max_read: Option<u32>,
    /// Have fusermount3 unmount the filesystem once this process has let go of it: when
    /// the last [`Unmounter`](crate::Unmounter) clone is dropped *and* the connection is
    /// dead (every /dev/fuse fd closed) — as happens when the process dies. Implies
    /// fusermount3, even as root.
    ///
    /// Caveat (fusermount3 up to at least 3.14, libfuse issue #586): for an unprivileged
    /// user, fusermount3 only performs the unmount if `allow_other` is also set, because
    /// its setuid-root check of the mountpoint is otherwise refused by the kernel.
    pub auto_unmount: bool,
    /// How to mount: see [`MountMethod`].
    pub method: MountMethod,
    /// Raw `-o` options passed through (each without commas, non-empty).
    pub extra: Vec<String>,
    /// The fusermount3 program to run; `None` searches `PATH` for `fusermount3`.
    pub fusermount: Option<PathBuf>,
}

/// Options that fusekit sets itself and callers may not pass in `extra`.
const RESERVED: &[&str] = &["fd", "rootmode", "user_id", "group_id"];

/// Generic VFS options that mount(2) takes as flags, not as data: (name, flag, set?).
const FLAG_OPTIONS: &[(&str, MountFlags, bool)] = &[
    ("ro", MountFlags::RDONLY, true),
    ("rw", MountFlags::RDONLY, false),
    ("nosuid", MountFlags::NOSUID, true),
    ("suid", MountFlags::NOSUID, false),
    ("nodev", MountFlags::NODEV, true),
    ("dev", MountFlags::NODEV, false),
    ("noexec", MountFlags::NOEXEC, true),
    ("exec", MountFlags::NOEXEC, false),
    ("sync", MountFlags::SYNCHRONOUS, true),
    ("async", MountFlags::SYNCHRONOUS, false),
    ("dirsync", MountFlags::DIRSYNC, true),
    ("noatime", MountFlags::NOATIME, true),
    ("atime", MountFlags::NOATIME, false),
    ("nodiratime", MountFlags::NODIRATIME, true),
    ("diratime", MountFlags::NODIRATIME, false),
    ("relatime", MountFlags::RELATIME, true),
    ("norelatime", MountFlags::RELATIME, false),
    ("strictatime", MountFlags::STRICTATIME, true),
];

impl MountOptions {
    /// Default options: fsname "fusekit", no subtype, Auto method.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the fsname (the mount's source).
    pub fn fsname(mut self, name: impl Into<String>) -> Self {
        self.fsname = Some(name.into());
        self
    }

    /// Sets the subtype (type becomes `fuse.<subtype>`).
    pub fn subtype(mut self, subtype: impl Into<String>) -> Self {
        self.subtype = Some(subtype.into());
        self
    }

    /// Sets `allow_other`.
    pub fn allow_other(mut self, on: bool) -> Self {
        self.allow_other = on;
        self
    }

    /// Sets `default_permissions`.
    pub fn default_permissions(mut self, on: bool) -> Self {
        self.default_permissions = on;
        self
    }

    /// Mounts read-only.
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Sets `max_read`.
    pub fn max_read(mut self, bytes: u32) -> Self {
        self.max_read = Some(bytes);
        self
    }

    /// Asks fusermount3 to unmount when our handle closes.
    pub fn auto_unmount(mut self, on: bool) -> Self {
        self.auto_unmount = on;
        self
    }

    /// Chooses the mount method.
    pub fn method(mut self, method: MountMethod) -> Self {
        self.method = method;
        self
    }

    /// Adds one raw option (e.g. `noatime`).
    pub fn extra(mut self, option: impl Into<String>) -> Self {
        self.extra.push(option.into());
        self
    }

    /// Uses this fusermount3 program instead of searching `PATH`.
    pub fn fusermount(mut self, program: impl Into<PathBuf>) -> Self {
        self.fusermount = Some(program.into());
        self
    }

    /// The source shown in mountinfo.
    pub fn fsname_or_default(&self) -> &str {
        self.fsname.as_deref().unwrap_or(DEFAULT_FSNAME)
    }

    /// The filesystem type: `fuse` or `fuse.<subtype>`.
    pub fn fstype(&self) -> String {
        match &self.subtype {
            Some(subtype) => format!("fuse.{subtype}"),
            None => "fuse".to_string(),
        }
    }

    /// Checks every option; the error names the offending one.
    pub fn validate(&self) -> Result<(), MountError> {
        if let Some(name) = &self.fsname {
            check_value("fsname", name)?;
        }
        if let Some(subtype) = &self.subtype {
            check_value("subtype", subtype)?;
            if subtype.contains('/') || subtype.chars().any(char::is_whitespace) {
                return Err(invalid(
                    format!("subtype={subtype}"),
                    "a subtype may not contain '/' or whitespace",
                ));
            }
        }
        if self.max_read == Some(0) {
            return Err(invalid("max_read=0", "max_read must be at least 1"));
        }
        for option in &self.extra {
            check_value("option", option)?;
            let key = option.split('=').next().unwrap_or(option);
            if RESERVED.contains(&key) {
                return Err(invalid(option.clone(), "fusekit sets this option itself"));
            }
        }
        Ok(())
    }

    /// The mount(2) flags and the data string (without fd, rootmode, user_id, group_id).
    pub(crate) fn kernel_flags_and_data(&self) -> (MountFlags, Vec<String>) {
        let mut flags = MountFlags::NOSUID | MountFlags::NODEV;
        if self.read_only {
            flags |= MountFlags::RDONLY;
        }
        let mut data = Vec::new();
        if self.allow_other {
            data.push("allow_other".to_string());
        }
        if self.default_permissions {
            data.push("default_permissions".to_string());
        }
        if let Some(max_read) = self.max_read {
            data.push(format!("max_read={max_read}"));
        }
        for option in &self.extra {
            match FLAG_OPTIONS.iter().find(|(name, _, _)| name == option) {
                Some((_, flag, true)) => flags |= *flag,
                Some((_, flag, false)) => flags &= !*flag,
                None => data.push(option.clone()),
            }
        }
        (flags, data)
    }

    /// The full mount(2) data string for device fd `fd`, mounting as `uid`/`gid`.
    pub(crate) fn kernel_data(&self, fd: i32, uid: u32, gid: u32) -> String {
        let mut parts = vec![
            format!("fd={fd}"),
            format!("rootmode={ROOTMODE}"),
            format!("user_id={uid}"),
            format!("group_id={gid}"),
        ];
        parts.extend(self.kernel_flags_and_data().1);
        parts.join(",")
    }

    /// The `-o` argument for fusermount3.
    pub(crate) fn fusermount_options(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.extra.iter().any(|o| o == "suid") {
            parts.push("nosuid".into());
        }
        if !self.extra.iter().any(|o| o == "dev") {
            parts.push("nodev".into());
        }
        if self.read_only {
            parts.push("ro".into());
        }
        parts.push(format!("fsname={}", self.fsname_or_default()));
        if let Some(subtype) = &self.subtype {
            parts.push(format!("subtype={subtype}"));
        }
        if self.allow_other {
            parts.push("allow_other".into());
        }
        if self.default_permissions {
            parts.push("default_permissions".into());
        }
        if let Some(max_read) = self.max_read {
            parts.push(format!("max_read={max_read}"));
        }
        if self.auto_unmount {
            parts.push("auto_unmount".into());
        }
        parts.extend(self.extra.iter().cloned());
        parts.join(",")
    }
}

fn invalid(option: impl Into<String>, reason: impl Into<String>) -> MountError {
    MountError::InvalidOption {
        option: option.into(),
        reason: reason.into(),
    }
}

/// A value that lands inside a comma-separated option list.
fn check_value(what: &str, value: &str) -> Result<(), MountError> {
    let shown = if what == "option" {
        value.to_string()
    } else {
        format!("{what}={value}")
    };
    if value.is_empty() {
        return Err(invalid(shown, format!("{what} may not be empty")));
    }
    if value.contains(',') {
        return Err(invalid(
            shown,
            "options are comma-separated, so a comma cannot appear inside one",
        ));
    }
    if value.contains('\0') {
        return Err(invalid(shown, "contains a NUL byte"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_kernel_data() {
        let o = MountOptions::new();
        assert_eq!(
            o.kernel_data(7, 0, 0),
            "fd=7,rootmode=40000,user_id=0,group_id=0"
        );
        let (flags, _) = o.kernel_flags_and_data();
        assert_eq!(flags, MountFlags::NOSUID | MountFlags::NODEV);
        assert_eq!(o.fstype(), "fuse");
        assert_eq!(o.fsname_or_default(), "fusekit");
    }

    #[test]
    fn full_kernel_data_and_flags() {
        let o = MountOptions::new()
            .subtype("memfs")
            .allow_other(true)
            .default_permissions(true)
            .read_only(true)
            .max_read(65536)
            .extra("noatime")
            .extra("suid")
            .extra("blksize=4096");
        assert_eq!(
            o.kernel_data(12, 1000, 100),
            "fd=12,rootmode=40000,user_id=1000,group_id=100,allow_other,\
             default_permissions,max_read=65536,blksize=4096"
        );
        let (flags, _) = o.kernel_flags_and_data();
        assert_eq!(
            flags,
            MountFlags::NODEV | MountFlags::RDONLY | MountFlags::NOATIME
        );
        assert_eq!(o.fstype(), "fuse.memfs");
    }

    #[test]
    fn fusermount_option_string() {
        let o = MountOptions::new();
        assert_eq!(o.fusermount_options(), "nosuid,nodev,fsname=fusekit");
        let o = MountOptions::new()
            .fsname("mem")
            .subtype("memfs")
            .allow_other(true)
            .default_permissions(true)
            .read_only(true)
            .max_read(4096)
            .auto_unmount(true)
            .extra("noatime")
            .extra("dev");
        assert_eq!(
            o.fusermount_options(),
            "nosuid,ro,fsname=mem,subtype=memfs,allow_other,default_permissions,\
             max_read=4096,auto_unmount,noatime,dev"
        );
    }

    #[test]
    fn validation_names_the_bad_option() {
        let bad = |o: MountOptions| o.validate().unwrap_err().to_string();
        assert_eq!(
            bad(MountOptions::new().extra("a,b")),
            "invalid mount option \"a,b\": options are comma-separated, so a comma \
             cannot appear inside one"
        );
        assert_eq!(
            bad(MountOptions::new().extra("")),
            "invalid mount option \"\": option may not be empty"
        );
        assert_eq!(
            bad(MountOptions::new().fsname("")),
            "invalid mount option \"fsname=\": fsname may not be empty"
        );
        assert!(bad(MountOptions::new().fsname("x,y")).contains("\"fsname=x,y\""));
        assert!(bad(MountOptions::new().subtype("a/b")).contains("'/'"));
        assert_eq!(
            bad(MountOptions::new().extra("fd=3")),
            "invalid mount option \"fd=3\": fusekit sets this option itself"
        );
        assert!(bad(MountOptions::new().extra("user_id")).contains("user_id"));
        assert!(bad(MountOptions::new().max_read(0)).contains("max_read=0"));
        MountOptions::new()
            .fsname("my fs")
            .subtype("memfs")
            .extra("noatime")
            .extra("blksize=512")
            .validate()
            .unwrap();
    }
}
