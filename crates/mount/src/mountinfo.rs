//! Parsing /proc/self/mountinfo: the only way this crate observes mounts (it never stats a
//! mountpoint, which would hang on a FUSE mount that nobody serves yet).
//!
//! Format (proc(5)): `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER`,
//! where ROOT, MOUNTPOINT and SOURCE escape space, tab, newline and backslash as `\ooo`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::error::MountError;

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Unique id of the mount.
    pub mount_id: u32,
    /// Id of the parent mount.
    pub parent_id: u32,
    /// Major number of the filesystem's st_dev.
    pub major: u32,
    /// Minor number of the filesystem's st_dev.
    pub minor: u32,
    /// Root of the mount within its filesystem.
    pub root: PathBuf,
    /// Mountpoint, relative to the process's root.
    pub mount_point: PathBuf,
    /// Per-mount options (e.g. `rw,nosuid,nodev`).
    pub mount_options: String,
    /// Optional fields such as `shared:1`.
    pub optional_fields: Vec<String>,
    /// Filesystem type, e.g. `fuse.memfs`.
    pub fstype: String,
    /// Mount source (the FUSE fsname).
    pub source: String,
    /// Per-superblock options (e.g. `rw,user_id=0,group_id=0`).
    pub super_options: String,
}

impl MountInfo {
    /// Whether this is a FUSE mount (`fuse`, `fuse.*`, `fuseblk`, `fuseblk.*`).
    pub fn is_fuse(&self) -> bool {
        let base = self.fstype.split('.').next().unwrap_or("");
        base == "fuse" || base == "fuseblk"
    }

    /// The subtype, if the type is `fuse.<subtype>`.
    pub fn subtype(&self) -> Option<&str> {
        self.fstype.split_once('.').map(|(_, sub)| sub)
    }

    /// The kernel's encoding of st_dev: the name of the directory under
    /// /sys/fs/fuse/connections for a FUSE mount.
    pub fn dev(&self) -> u32 {
        (self.major << 20) | self.minor
    }

    /// The FUSE connection id (see [`MountInfo::dev`]), or `None` for other mounts.
    pub fn connection_id(&self) -> Option<u32> {
        self.is_fuse().then(|| self.dev())
    }

    /// Whether `option` (e.g. `ro` or `max_read=4096`) is among the mount or super options.
    pub fn has_option(&self, option: &str) -> bool {
        self.mount_options
            .split(',')
            .chain(self.super_options.split(','))
            .any(|o| o == option)
    }
}

/// Parses a whole mountinfo text; malformed lines are an error naming the line.
pub fn parse(text: &[u8]) -> Result<Vec<MountInfo>, MountError> {
    text.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            parse_line(line).ok_or_else(|| {
                MountError::io(
                    format!(
                        "cannot parse {MOUNTINFO} line {:?}",
                        String::from_utf8_lossy(line)
                    ),
                    std::io::ErrorKind::InvalidData,
                )
            })
        })
        .collect()
}

/// Parses one line; `None` if it does not follow the format.
pub fn parse_line(line: &[u8]) -> Option<MountInfo> {
    let mut fields = line.split(|&b| b == b' ');
    let mut next = || fields.next();
    let mount_id = number(next()?)?;
    let parent_id = number(next()?)?;
    let (major, minor) = {
        let dev = std::str::from_utf8(next()?).ok()?;
        let (major, minor) = dev.split_once(':')?;
        (major.parse().ok()?, minor.parse().ok()?)
    };
    let root = PathBuf::from(OsString::from_vec(unescape(next()?)));
    let mount_point = PathBuf::from(OsString::from_vec(unescape(next()?)));
    let mount_options = text(next()?)?;
    let mut optional_fields = Vec::new();
    loop {
        let field = next()?;
        if field == b"-" {
            break;
        }
        optional_fields.push(text(field)?);
    }
    let fstype = text(next()?)?;
    let source = String::from_utf8_lossy(&unescape(next()?)).into_owned();
    let super_options = text(next()?)?;
    Some(MountInfo {
        mount_id,
        parent_id,
        major,
        minor,
        root,
        mount_point,
        mount_options,
        optional_fields,
        fstype,
        source,
        super_options,
    })
}

/// Reads and parses /proc/self/mountinfo.
pub fn read() -> Result<Vec<MountInfo>, MountError> {
    let text = std::fs::read(MOUNTINFO)
        .map_err(|e| MountError::io(format!("cannot read {MOUNTINFO}"), e))?;
    parse(&text)
}

/// All FUSE mounts of this mount namespace, in mount order.
pub fn fuse_mounts() -> Result<Vec<MountInfo>, MountError> {
    Ok(read()?.into_iter().filter(MountInfo::is_fuse).collect())
}

/// The topmost FUSE mount whose mountpoint is exactly `path` (no resolving is done).
pub(crate) fn fuse_mount_at(mounts: &[MountInfo], path: &Path) -> Option<MountInfo> {
    mounts
        .iter()
        .rev()
        .find(|m| m.is_fuse() && m.mount_point == path)
        .cloned()
}

fn number(field: &[u8]) -> Option<u32> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn text(field: &[u8]) -> Option<String> {
    String::from_utf8(field.to_vec()).ok()
}

/// Undoes the kernel's `\ooo` octal escaping; anything else is kept as is.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 3 < field.len() {
            let digits = &field[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
36 22 0:31 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
98 22 0:52 / /tmp/a\\040b\\011c\\012d\\134e rw,nosuid,nodev,relatime shared:60 master:3 - fuse.memfs my\\040fs rw,user_id=0,group_id=0,max_read=4096
99 22 0:53 / /mnt/plain rw,nosuid,nodev - fuse fusekit ro,user_id=1000,group_id=1000
";

    #[test]
    fn parses_fields_and_optional_fields() {
        let all = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(all.len(), 4);
        let root = &all[0];
        assert_eq!((root.mount_id, root.parent_id), (22, 1));
        assert_eq!((root.major, root.minor), (8, 1));
        assert_eq!(root.mount_point, Path::new("/"));
        assert_eq!(root.optional_fields, vec!["shared:1"]);
        assert_eq!(root.fstype, "ext4");
        assert_eq!(root.source, "/dev/sda1");
        assert!(!root.is_fuse());
        assert_eq!(root.connection_id(), None);
        let plain = &all[3];
        assert!(plain.optional_fields.is_empty());
        assert_eq!(plain.fstype, "fuse");
        assert_eq!(plain.subtype(), None);
        assert_eq!(plain.connection_id(), Some(53));
        assert!(plain.has_option("ro") && plain.has_option("nodev"));
    }

    #[test]
    fn unescapes_space_tab_newline_backslash() {
        let all = parse(SAMPLE.as_bytes()).unwrap();
        let fuse = &all[2];
        assert_eq!(fuse.mount_point, Path::new("/tmp/a b\tc\nd\\e"));
        assert_eq!(fuse.source, "my fs");
        assert_eq!(fuse.optional_fields, vec!["shared:60", "master:3"]);
        assert_eq!(fuse.subtype(), Some("memfs"));
        assert!(fuse.is_fuse());
        assert!(fuse.has_option("max_read=4096"));
        assert_eq!(fuse.connection_id(), Some(52));
    }

    #[test]
    fn keeps_bytes_that_are_not_escapes() {
        assert_eq!(unescape(b"a\\x"), b"a\\x");
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"\\040"), b" ");
        assert_eq!(unescape(b"\\777"), b"\\777");
        assert_eq!(unescape(b"\\0401"), b" 1");
        assert_eq!(unescape(b"x\\"), b"x\\");
    }

    #[test]
    fn non_utf8_mountpoints_survive() {
        let line = b"5 1 0:9 / /mnt/\xff\\040x rw - fuse src rw";
        let info = parse_line(line).unwrap();
        assert_eq!(
            info.mount_point.as_os_str().as_encoded_bytes(),
            b"/mnt/\xff x"
        );
    }

    #[test]
    fn dev_encodes_major_like_the_kernel() {
        let line = b"5 1 1:2 / /m rw - fuseblk /dev/x rw";
        let info = parse_line(line).unwrap();
        assert!(info.is_fuse());
        assert_eq!(info.connection_id(), Some((1 << 20) | 2));
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse_line(b"").is_none());
        assert!(parse_line(b"1 2 3:4 / /m rw fuse src rw").is_none());
        assert!(parse_line(b"x 2 3:4 / /m rw - fuse src rw").is_none());
        assert!(parse_line(b"1 2 34 / /m rw - fuse src rw").is_none());
        let err = parse(b"garbage\n").unwrap_err().to_string();
        assert!(err.contains("garbage"), "{err}");
    }

    #[test]
    fn finds_topmost_fuse_mount_at_exact_path() {
        let mut all = parse(SAMPLE.as_bytes()).unwrap();
        let mut upper = all[3].clone();
        upper.mount_id = 100;
        all.push(upper);
        let found = fuse_mount_at(&all, Path::new("/mnt/plain")).unwrap();
        assert_eq!(found.mount_id, 100);
        assert!(fuse_mount_at(&all, Path::new("/mnt")).is_none());
        assert!(fuse_mount_at(&all, Path::new("/sys")).is_none());
    }

    #[test]
    fn reads_this_process_mountinfo() {
        let all = read().unwrap();
        assert!(all.iter().any(|m| m.mount_point == Path::new("/")));
    }
}
