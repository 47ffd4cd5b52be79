//! Are we privileged? One question — does this process hold CAP_SYS_ADMIN, which mount(2)
//! of a FUSE filesystem needs — plus the words that explain a refusal.

use rustix::process::{geteuid, getgid, getuid};
use rustix::thread::{capabilities, CapabilitySet};

/// Whether the process holds CAP_SYS_ADMIN in its effective set (falls back to "euid is 0"
/// if capabilities cannot be read).
pub fn is_privileged() -> bool {
    match capabilities(None) {
        Ok(sets) => sets.effective.contains(CapabilitySet::SYS_ADMIN),
        Err(_) => geteuid().is_root(),
    }
}

/// The real uid and gid, which become the mount's `user_id`/`group_id`.
pub(crate) fn owner_ids() -> (u32, u32) {
    (getuid().as_raw(), getgid().as_raw())
}

/// Why mount(2) answered EPERM, in words for an error message.
pub(crate) fn eperm_cause(privileged: bool) -> String {
    if privileged {
        format!(
            "mount(2) returned EPERM although this process (uid {}) holds CAP_SYS_ADMIN \
             (a user namespace or security policy forbids the mount)",
            geteuid().as_raw()
        )
    } else {
        format!(
            "mount(2) needs CAP_SYS_ADMIN (you are uid {})",
            geteuid().as_raw()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_names_the_uid() {
        let uid = geteuid().as_raw();
        assert_eq!(
            eperm_cause(false),
            format!("mount(2) needs CAP_SYS_ADMIN (you are uid {uid})")
        );
        assert!(eperm_cause(true).contains("holds CAP_SYS_ADMIN"));
    }

    #[test]
    fn root_with_full_caps_is_privileged() {
        // Only meaningful when both facts can be read; a root process without
        // CAP_SYS_ADMIN (a restricted container) is genuinely unprivileged.
        if let Ok(sets) = capabilities(None) {
            assert_eq!(
                is_privileged(),
                sets.effective.contains(CapabilitySet::SYS_ADMIN)
            );
        }
    }
}
