//! Runs pathfs, the path-level passthrough:
//! `cargo run -p fusekit-examples --example pathfs -- SOURCE MOUNTPOINT`.
//! Mirrors the directory SOURCE at MOUNTPOINT until Ctrl-C, SIGTERM, `fusekit unmount` or
//! `umount`; exits 0 once unmounted.

use fusekit::path::UnlinkMode;
use fusekit::{MountOptions, Session};
use fusekit_examples::pathfs::PathPassthrough;

const USAGE: &str = "usage: pathfs SOURCE MOUNTPOINT (two existing directories; \
                     the mount point outside the source)";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pathfs: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(source), Some(mountpoint), None) = (args.next(), args.next(), args.next()) else {
        return Err(USAGE.into());
    };
    let source = std::fs::canonicalize(&source)
        .map_err(|e| format!("source {}: {e}", source.to_string_lossy()))?;
    if !source.is_dir() {
        return Err(format!("source {}: not a directory\n{USAGE}", source.display()).into());
    }
    if let Ok(mnt) = std::fs::canonicalize(&mountpoint) {
        if mnt.starts_with(&source) && mnt != source {
            // The mount would contain itself: a lookup of it would wait on this very mount.
            return Err(format!("the mount point is inside the source\n{USAGE}").into());
        }
    }
    let fs = PathPassthrough::new(&source).adapter(UnlinkMode::HandleBased);
    // The kernel checks permissions against the modes pathfs reports.
    let options = MountOptions::default()
        .fsname("pathfs")
        .subtype("pathfs")
        .default_permissions(true);
    let session = Session::mount(fs, &mountpoint, &options)?;
    let hint = format!("it mirrors {}", source.display());
    fusekit_examples::foreground::serve(session, "pathfs", &hint)
}
