//! The case tables. Each family module declares its cases with `cases!`: the function name is
//! the case name, followed by the feature tags it needs and a one-line description. A case is
//! a `fn(&Ctx) -> R<()>`: `Ok(())` is a pass, `Err(outcome)` a failure or a skip.

use std::sync::OnceLock;

use crate::ctx::Ctx;
use crate::util::R;

/// One case.
#[derive(Debug)]
pub struct Case {
    /// Name (the function's name).
    pub name: &'static str,
    /// Family (the module's name).
    pub family: &'static str,
    /// What it checks.
    pub desc: &'static str,
    /// Feature tags (see `env::FEATURES`).
    pub needs: &'static [&'static str],
    /// The check itself.
    pub run: fn(&Ctx) -> R<()>,
}

/// Declares a family's case table `CASES`.
macro_rules! cases {
    ($family:literal; $( $f:ident [$($need:literal),*] $desc:literal; )*) => {
        pub(crate) const CASES: &[$crate::cases::Case] = &[
            $( $crate::cases::Case {
                name: stringify!($f),
                family: $family,
                desc: $desc,
                needs: &[$($need),*],
                run: $f,
            }, )*
        ];
    };
}

mod attr;
mod copy;
mod dir;
mod fallocate;
mod handles;
mod link;
mod lock;
mod mmap;
mod node;
mod open;
mod peer;
mod peer_lock;
mod peer_open;
mod privs;
mod race;
mod race_data;
mod readdir;
mod rename;
mod sparse;
mod statx;
mod symlink;
mod times;
mod tmpfile;
mod truncate;
mod unlinked;
mod xattr;

/// All cases, family by family, in a fixed order.
pub fn all() -> &'static [&'static Case] {
    static ALL: OnceLock<Vec<&'static Case>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            open::CASES,
            truncate::CASES,
            attr::CASES,
            privs::CASES,
            link::CASES,
            dir::CASES,
            rename::CASES,
            unlinked::CASES,
            tmpfile::CASES,
            handles::CASES,
            readdir::CASES,
            mmap::CASES,
            sparse::CASES,
            lock::CASES,
            xattr::CASES,
            fallocate::CASES,
            copy::CASES,
            statx::CASES,
            symlink::CASES,
            node::CASES,
            times::CASES,
            race::CASES,
            race_data::CASES,
            peer::CASES,
            peer_open::CASES,
            peer_lock::CASES,
        ]
        .iter()
        .flat_map(|t| t.iter())
        .collect()
    })
}
