//! Mounting like any other filesystem: the command lines mount(8) produces.
//!
//! - `mount -t fuse.fusekit SOURCE MNT -o OPTS` (and the fstab type `fuse.fusekit`): mount(8)
//!   runs mount.fuse3, which runs `fusekit SOURCE MNT -o OPTS` (found through the default
//!   PATH, e.g. /usr/local/bin/fusekit).
//! - `mount -t fusekit SOURCE MNT -o OPTS`: mount(8) runs `/sbin/mount.fusekit SOURCE MNT
//!   [-sfnv] [-o OPTS]`, a symlink to `fusekit`.
//!
//! SOURCE is `memfs`, `hello` or `passthrough:/DIR`. The command line is translated into the
//! ordinary `fusekit mount KIND ...` one. As mount helpers do (sshfs, libfuse), the mount is
//! ready when the command returns and the server runs in the background (see `daemon`);
//! `-f` or `-o foreground` keeps it in the foreground.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// Subcommands of the ordinary command line: a first argument among these is not a SOURCE.
const SUBCOMMANDS: &[&str] = &["mount", "unmount", "check", "bench", "fsck", "help"];

/// Options mount(8) and mount.fuse3 hand on that mean nothing to the mount itself: fstab
/// bookkeeping, and the `dev`/`suid` mount.fuse3 adds to every command line (fusekit keeps
/// its nodev,nosuid default; use `fusekit mount ... -o dev,suid` to change it).
const IGNORED: &[&str] = &[
    "defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group", "nofail", "_netdev",
    "dev", "suid",
];

/// A mount-helper command line, translated.
#[derive(Debug, PartialEq)]
pub struct HelperMount {
    /// The equivalent `fusekit ...` argv (argv\[0\] included).
    pub argv: Vec<OsString>,
    /// Stay in the foreground (`-f`, `-o foreground`).
    pub foreground: bool,
    /// Where the background server logs (`-o log=syslog|PATH`); `None`: the default.
    pub log: Option<String>,
}

/// `Some` when `args` (argv\[0\] included) is a mount-helper invocation, translated; an error
/// for a helper invocation that cannot be understood. `None`: the ordinary command line.
pub fn translate(args: &[OsString]) -> Option<Result<HelperMount, String>> {
    let argv0 = Path::new(args.first()?);
    let as_helper = argv0.file_name() == Some(OsStr::new("mount.fusekit"));
    let first = args.get(1)?.to_str().unwrap_or("");
    if !as_helper && (first.starts_with('-') || SUBCOMMANDS.contains(&first) || args.len() < 3) {
        return None;
    }
    let is_source = matches!(first, "memfs" | "hello") || first.starts_with("passthrough:");
    if !as_helper && !is_source {
        // More likely a mistyped subcommand than a mount source.
        return Some(Err(format!(
            "{first:?} is neither a subcommand ({}) nor a mount source (memfs, hello, \
             passthrough:/DIR, as in `mount -t fuse.fusekit SOURCE MOUNTPOINT`)",
            SUBCOMMANDS.join(", ")
        )));
    }
    Some(translate_helper(&args[1..]))
}

fn translate_helper(args: &[OsString]) -> Result<HelperMount, String> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    let mut foreground = false;
    let mut verbose = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.to_str() {
            Some("-o") => {
                let value = iter.next().ok_or("-o needs a value")?;
                options.push(
                    value
                        .to_str()
                        .ok_or("-o: options must be UTF-8")?
                        .to_string(),
                );
            }
            Some(o) if o.starts_with("-o") => options.push(o[2..].to_string()),
            Some("-t") => {
                iter.next();
            }
            Some("-f") => foreground = true,
            Some("-v") => verbose = true,
            // No mtab (-n), sloppy (-s): nothing to do.
            Some("-n" | "-s") => {}
            Some(o) if o.starts_with('-') => return Err(format!("unknown option {o}")),
            _ => positional.push(arg.clone()),
        }
    }
    let [source, mountpoint] = <[OsString; 2]>::try_from(positional).map_err(|p| {
        format!(
            "expected SOURCE MOUNTPOINT, got {} argument(s); {USAGE}",
            p.len()
        )
    })?;
    let mut argv: Vec<OsString> = vec!["fusekit".into()];
    if verbose {
        argv.push("-v".into());
    }
    argv.push("mount".into());
    let source_text = source.to_string_lossy();
    let kind = match source_text.split_once(':') {
        None if source_text == "memfs" || source_text == "hello" => source_text.to_string(),
        Some(("passthrough", dir)) if !dir.is_empty() => {
            argv.push("passthrough".into());
            argv.push(dir.into());
            "passthrough".to_string()
        }
        _ => return Err(format!("unknown source {source_text:?}; {USAGE}")),
    };
    if kind != "passthrough" {
        argv.push(kind.clone().into());
    }
    argv.push(mountpoint);
    let mut log = None;
    let mut pass = Vec::new();
    for opt in options
        .iter()
        .flat_map(|o| o.split(','))
        .filter(|o| !o.is_empty())
    {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        match (key, value) {
            ("foreground", None) => foreground = true,
            ("log", Some(v)) if !v.is_empty() => log = Some(v.to_string()),
            ("size", Some(v)) if kind == "memfs" => push_flag(&mut argv, "--size-limit", v),
            ("nr_inodes", Some(v)) if kind == "memfs" => push_flag(&mut argv, "--max-inodes", v),
            ("transport", Some(v)) => push_flag(&mut argv, "--transport", v),
            ("workers", Some(v)) => push_flag(&mut argv, "--workers", v),
            (k, _) if IGNORED.contains(&k) || k.starts_with("x-") || k == "comment" => {}
            _ => pass.push(opt),
        }
    }
    if !pass.is_empty() {
        argv.push("-o".into());
        argv.push(pass.join(",").into());
    }
    Ok(HelperMount {
        argv,
        foreground,
        log,
    })
}

fn push_flag(argv: &mut Vec<OsString>, flag: &str, value: &str) {
    argv.push(flag.into());
    argv.push(value.into());
}

const USAGE: &str = "usage: mount -t fuse.fusekit SOURCE MOUNTPOINT [-o OPTIONS], SOURCE one \
                     of memfs, hello, passthrough:/DIR";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    fn argv(h: &HelperMount) -> Vec<String> {
        h.argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn ordinary_command_lines_are_left_alone() {
        for a in [
            &["fusekit", "mount", "memfs", "/m"][..],
            &["fusekit", "--help"],
            &["fusekit", "check", "/x"],
            &["fusekit", "memfs"],
            &["fusekit"],
        ] {
            assert_eq!(translate(&args(a)), None, "{a:?}");
        }
    }

    #[test]
    fn mount_fuse3_and_mount_fusekit_lines_translate() {
        let h = translate(&args(&[
            "fusekit",
            "passthrough:/srv/data",
            "/mnt/x",
            "-o",
            "rw,dev,suid,noatime,nofail,x-systemd.automount,log=/tmp/l,allow_other",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            argv(&h),
            [
                "fusekit",
                "mount",
                "passthrough",
                "/srv/data",
                "/mnt/x",
                "-o",
                "rw,noatime,allow_other"
            ]
        );
        assert!(!h.foreground);
        assert_eq!(h.log.as_deref(), Some("/tmp/l"));

        let h = translate(&args(&[
            "/sbin/mount.fusekit",
            "memfs",
            "/mnt/y",
            "-n",
            "-v",
            "-o",
            "size=1G,nr_inodes=1000,foreground,transport=dev",
            "-t",
            "fusekit",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            argv(&h),
            [
                "fusekit",
                "-v",
                "mount",
                "memfs",
                "/mnt/y",
                "--size-limit",
                "1G",
                "--max-inodes",
                "1000",
                "--transport",
                "dev"
            ]
        );
        assert!(h.foreground);
    }

    #[test]
    fn mistakes_say_what_is_accepted() {
        let e = translate(&args(&["mount.fusekit", "nfs", "/m"]))
            .unwrap()
            .unwrap_err();
        assert!(
            e.contains("unknown source \"nfs\"") && e.contains("passthrough:/DIR"),
            "{e}"
        );
        let e = translate(&args(&["fusekit", "moutn", "memfs", "/m"]))
            .unwrap()
            .unwrap_err();
        assert!(
            e.contains("\"moutn\" is neither a subcommand (mount, unmount")
                && e.contains("passthrough:/DIR"),
            "{e}"
        );
        let e = translate(&args(&["mount.fusekit", "memfs"]))
            .unwrap()
            .unwrap_err();
        assert!(e.contains("SOURCE MOUNTPOINT"), "{e}");
        let e = translate(&args(&["fusekit", "passthrough:", "/m"]))
            .unwrap()
            .unwrap_err();
        assert!(e.contains("unknown source"), "{e}");
    }
}
