//! Extended attributes: one key per attribute (`P x <ino> <name>`), each change one
//! transaction with the inode's ctime.

use super::{transact, FsError, Namespace};
use crate::schema::Timestamp;
use crate::store::{prefix_end, Store};

/// Longest attribute name (Linux XATTR_NAME_MAX).
pub const XATTR_NAME_MAX: usize = 255;
/// Largest attribute value (Linux XATTR_SIZE_MAX).
pub const XATTR_SIZE_MAX: usize = 64 * 1024;

/// setxattr(2) flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XattrFlags {
    /// XATTR_CREATE: fail with EEXIST if the attribute exists.
    pub create: bool,
    /// XATTR_REPLACE: fail with ENODATA if it does not.
    pub replace: bool,
}

fn check_name(name: &[u8]) -> Result<(), FsError> {
    match name.len() {
        0 => Err(FsError::Range),
        n if n > XATTR_NAME_MAX => Err(FsError::Range),
        _ => Ok(()),
    }
}

impl<S: Store> Namespace<S> {
    /// Sets attribute `name` of `ino` to `value`.
    pub async fn setxattr(
        &self,
        ino: u64,
        name: &[u8],
        value: &[u8],
        flags: XattrFlags,
    ) -> Result<(), FsError> {
        check_name(name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(FsError::TooBig);
        }
        transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            let key = self.keys.xattr(ino, name);
            let exists = plan.other(key.clone()).await?.is_some();
            if exists && flags.create {
                return Err(FsError::Exists);
            }
            if !exists && flags.replace {
                return Err(FsError::NoData);
            }
            plan.set_other(key, Some(value.to_vec()));
            inode.ctime = Timestamp::now();
            plan.put_inode(ino, inode);
        });
        Ok(())
    }

    /// The value of attribute `name` of `ino`.
    pub async fn getxattr(&self, ino: u64, name: &[u8]) -> Result<Vec<u8>, FsError> {
        check_name(name)?;
        match self.read_key(&self.keys.xattr(ino, name)).await? {
            Some(kv) => Ok(kv.value),
            None => {
                self.getattr(ino).await?;
                Err(FsError::NoData)
            }
        }
    }

    /// The names of every attribute of `ino`, in byte order.
    pub async fn listxattr(&self, ino: u64) -> Result<Vec<Vec<u8>>, FsError> {
        self.getattr(ino).await?;
        let prefix = self.keys.xattrs(ino);
        let kvs = self.read_range(&prefix, &prefix_end(&prefix), 0).await?;
        Ok(kvs
            .into_iter()
            .map(|kv| kv.key[prefix.len()..].to_vec())
            .collect())
    }

    /// Removes attribute `name` of `ino`.
    pub async fn removexattr(&self, ino: u64, name: &[u8]) -> Result<(), FsError> {
        check_name(name)?;
        transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            let key = self.keys.xattr(ino, name);
            if plan.other(key.clone()).await?.is_none() {
                return Err(FsError::NoData);
            }
            plan.set_other(key, None);
            inode.ctime = Timestamp::now();
            plan.put_inode(ino, inode);
        });
        Ok(())
    }
}
