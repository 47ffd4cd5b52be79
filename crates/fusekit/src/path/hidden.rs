//! Hidden names for hide mode: how they are made and recognised. Names with this prefix are
//! reserved in hide mode: lookup answers ENOENT, readdir leaves them out, and creating one is
//! refused with EPERM.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::attr::Ino;

/// The prefix of every hidden name.
pub const HIDDEN_PREFIX: &str = ".fusekit_hidden";

/// The hidden name for node `ino`, made unique by `serial` (a per-mount counter).
pub(crate) fn hidden_name(ino: Ino, serial: u64) -> OsString {
    OsString::from(format!("{HIDDEN_PREFIX}{ino}_{serial}"))
}

/// True when `name` is reserved for hidden files.
pub fn is_hidden_name(name: &OsStr) -> bool {
    name.as_bytes().starts_with(HIDDEN_PREFIX.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_names_are_recognised() {
        let n = hidden_name(42, 7);
        assert_eq!(n, OsStr::new(".fusekit_hidden42_7"));
        assert!(is_hidden_name(&n));
        assert!(!is_hidden_name(OsStr::new("fusekit_hidden")));
        assert!(!is_hidden_name(OsStr::new(".fuse_hidden0001")));
    }
}
