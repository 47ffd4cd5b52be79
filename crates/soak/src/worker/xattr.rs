//! Extended attributes in the `user.soak.` namespace: set, get, list and remove, checked
//! against the model (attributes belong to the inode, so every hard link shows them).
//!
//! A filesystem may not support them: the first setxattr decides (ENOTSUP/EOPNOTSUPP means
//! "unsupported"), and from then on every answer must agree with that decision.

use std::fmt;

use anyhow::{bail, Context};
use rustix::fs::XattrFlags;
use rustix::io::Errno;

use super::Worker;

/// Prefix of every attribute a worker sets.
const PREFIX: &str = "user.soak.";
/// Largest value set. Four names of up to 512 bytes fit the one 4 KiB block ext4 gives an
/// inode's attributes, so a passthrough source on ext4 does not answer ENOSPC.
const MAX_VALUE: u64 = 512;

/// Whether the filesystem under test supports `user.` extended attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrSupport {
    /// No setxattr answered yet.
    Unknown,
    Supported,
    Unsupported,
}

impl fmt::Display for XattrSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XattrSupport::Unknown => "unknown",
            XattrSupport::Supported => "supported",
            XattrSupport::Unsupported => "unsupported",
        })
    }
}

impl Worker {
    /// One attribute operation on a random file: set (create or replace) a value of 0..512 bytes,
    /// get one (present or absent), list, or remove one.
    pub(super) fn op_xattr(&mut self) -> anyhow::Result<()> {
        let files = self.model.files();
        let Some(rel) = self.pick(&files) else {
            return Ok(());
        };
        let path = self.path(&rel);
        let name = format!("{PREFIX}k{}", self.rng.below(4));
        let what = format!("{} {name}", path.display());
        if self.xattr != XattrSupport::Supported || self.rng.chance(40) {
            let n = self.rng.below(MAX_VALUE + 1) as usize;
            let value = self.rng.bytes(n);
            match rustix::fs::setxattr(&path, &name, &value, XattrFlags::empty()) {
                Ok(()) if self.xattr == XattrSupport::Unsupported => {
                    bail!("setxattr {what}: succeeded after an earlier ENOTSUP (inconsistent)")
                }
                Ok(()) => {
                    self.xattr = XattrSupport::Supported;
                    self.model
                        .inode_mut(&rel)
                        .xattrs
                        .insert(name.clone(), value);
                }
                Err(Errno::NOTSUP) if self.xattr != XattrSupport::Supported => {
                    self.xattr = XattrSupport::Unsupported;
                    return Ok(());
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("setxattr {what} ({})", self.xattr))
                }
            }
        }
        match self.rng.below(3) {
            0 => self.verify_xattr_get(&rel, &name),
            1 => self.verify_xattr_list(&rel),
            _ => {
                let present = self.model.inode(&rel).xattrs.contains_key(&name);
                match rustix::fs::removexattr(&path, &name) {
                    Ok(()) if present => {
                        self.model.inode_mut(&rel).xattrs.remove(&name);
                        self.verify_xattr_get(&rel, &name)
                    }
                    Ok(()) => bail!("removexattr {what}: succeeded on an absent attribute"),
                    Err(Errno::NODATA) if !present => Ok(()),
                    Err(e) => Err(e).with_context(|| {
                        format!(
                            "removexattr {what} (the model says {})",
                            if present { "present" } else { "absent" }
                        )
                    }),
                }
            }
        }
    }

    /// getxattr must return the model's value, or ENODATA when the model has none.
    fn verify_xattr_get(&self, rel: &str, name: &str) -> anyhow::Result<()> {
        let path = self.path(rel);
        let what = format!("getxattr {} {name}", path.display());
        let mut buf = vec![0u8; 4096];
        let expected = self.model.inode(rel).xattrs.get(name);
        match (rustix::fs::getxattr(&path, name, &mut buf[..]), expected) {
            (Ok(n), Some(v)) => super::verify::compare(&what, 0, v, &buf[..n]),
            (Ok(n), None) => bail!("{what}: {n} bytes, expected ENODATA (removed or never set)"),
            (Err(Errno::NODATA), None) => Ok(()),
            (Err(e), v) => Err(e).with_context(|| {
                format!(
                    "{what} (the model has {})",
                    v.map_or("no value".into(), |v| format!("{} bytes", v.len()))
                )
            }),
        }
    }

    /// listxattr, restricted to `user.soak.`, must equal the model's names (only once the
    /// filesystem said it supports attributes).
    pub(super) fn verify_xattr_list(&self, rel: &str) -> anyhow::Result<()> {
        if self.xattr != XattrSupport::Supported {
            return Ok(());
        }
        let path = self.path(rel);
        let mut buf = vec![0u8; 4096];
        let n = rustix::fs::listxattr(&path, &mut buf[..])
            .with_context(|| format!("listxattr {}", path.display()))?;
        let mut got: Vec<String> = buf[..n]
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .filter(|s| s.starts_with(PREFIX))
            .collect();
        got.sort();
        let expected: Vec<String> = self.model.inode(rel).xattrs.keys().cloned().collect();
        if got != expected {
            bail!(
                "listxattr {}: {got:?}, expected {expected:?}",
                path.display()
            );
        }
        Ok(())
    }
}
