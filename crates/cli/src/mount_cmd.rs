//! `fusekit mount KIND ...` and `fusekit unmount MNT`: turn arguments into mount options and a
//! filesystem, then hand over to `serve`.

use std::process::ExitCode;

use anyhow::{bail, Context};
use fusekit::mount::{MountMethod, UnmountHow};
use fusekit::MountOptions;
use rustix::process::{getgid, getuid};

use crate::args::{CommonMount, FsKind, MountArgs, MountMethodArg, UnmountArgs};
use crate::serve;

pub fn run(args: MountArgs) -> anyhow::Result<ExitCode> {
    match args.fs {
        FsKind::Memfs {
            mountpoint,
            size_limit,
            max_inodes,
            writeback_cache,
            timeout,
            request_timeout,
            common,
        } => {
            let ttl = seconds("--timeout", timeout)?;
            let options = mount_options(&common, "memfs")?.default_permissions(true);
            let mut limits = fusekit_memfs::Limits::tmpfs_default();
            if let Some(bytes) = size_limit {
                limits.max_bytes = Some(bytes);
            }
            if let Some(n) = max_inodes {
                limits.max_inodes = Some(n);
            }
            let adapter_options = fusekit_memfs::AdapterOptions {
                ttl,
                writeback_cache,
                request_timeout: request_timeout.duration(),
            };
            let fs = memfs(limits, adapter_options);
            serve::serve(fs, &mountpoint, &options, &common, None)
        }
        FsKind::Passthrough {
            source,
            mountpoint,
            no_kernel_passthrough,
            writeback_cache,
            timeout,
            request_timeout,
            common,
        } => {
            let ttl = seconds("--timeout", timeout)?;
            let options = mount_options(&common, "passthrough")?.default_permissions(true);
            let opts = passthrough_options(no_kernel_passthrough, writeback_cache, ttl)
                .request_timeout(request_timeout.duration().unwrap_or_default());
            crate::layout::refuse_self_containing(&source, &mountpoint)?;
            // The library's errors name the source already.
            let fs = fusekit_passthrough::Passthrough::new(&source, opts)?;
            let own = fs.own_mount();
            serve::serve(fs, &mountpoint, &options, &common, Some(own))
        }
        FsKind::Etcd {
            endpoints,
            mountpoint,
            prefix,
            store_timeout,
            timeout,
            session_ttl,
            request_timeout,
            common,
        } => {
            let options = mount_options(&common, "etcdfs")?.default_permissions(true);
            let mount = crate::etcd_cmd::EtcdMount {
                endpoints,
                prefix,
                store_timeout: seconds("--store-timeout", store_timeout)?,
                ttl: seconds("--timeout", timeout)?,
                session_ttl,
                request_timeout: request_timeout.duration(),
            };
            crate::etcd_cmd::mount(mount, &mountpoint, &options, &common)
        }
        FsKind::Hello { mountpoint, common } => {
            let options = mount_options(&common, "hello")?.read_only(true);
            let fs = fusekit_examples::hello::Hello::new(getuid().as_raw(), getgid().as_raw());
            serve::serve(fs, &mountpoint, &options, &common, None)
        }
    }
}

/// memfs as `fusekit mount memfs` serves it. The user who mounts owns the root, as with tmpfs
/// mounted by that user.
pub(crate) fn memfs(
    limits: fusekit_memfs::Limits,
    options: fusekit_memfs::AdapterOptions,
) -> fusekit_memfs::MemFsAdapter {
    let engine = fusekit_memfs::MemFs::new(limits, (getuid().as_raw(), getgid().as_raw()), 0o755);
    fusekit_memfs::MemFsAdapter::new(std::sync::Arc::new(engine), options)
}

/// passthrough's options as `fusekit mount passthrough` sets them (the request timeout
/// aside): kernel passthrough unless refused or impossible with the writeback cache.
pub(crate) fn passthrough_options(
    no_kernel_passthrough: bool,
    writeback_cache: bool,
    ttl: std::time::Duration,
) -> fusekit_passthrough::PassthroughOptions {
    fusekit_passthrough::PassthroughOptions::new()
        .kernel_passthrough(!no_kernel_passthrough && !writeback_cache)
        .writeback_cache(writeback_cache)
        .timeout(ttl)
}

/// Unmounts; success means the mount is gone (or, with `--lazy`, detached). Errors name the
/// mount point themselves.
pub fn unmount(args: UnmountArgs) -> anyhow::Result<ExitCode> {
    let how = if args.abort {
        UnmountHow::Abort
    } else if args.lazy {
        UnmountHow::Lazy
    } else {
        UnmountHow::Normal
    };
    fusekit::mount::unmount_with(&args.mountpoint, how)?;
    Ok(ExitCode::SUCCESS)
}

/// A non-negative number of seconds given on the command line.
fn seconds(flag: &str, value: f64) -> anyhow::Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow::anyhow!("{flag} {value}: must be a number of seconds >= 0"))
}

/// Parses `-o a,b=c` lists into mount options; unknown options pass through to the kernel.
fn mount_options(common: &CommonMount, fsname: &str) -> anyhow::Result<MountOptions> {
    let mut o = MountOptions::new().fsname(fsname).subtype(fsname);
    o = o.method(match common.method {
        MountMethodArg::Auto => MountMethod::Auto,
        MountMethodArg::Strict => MountMethod::Strict,
        MountMethodArg::Fusermount => MountMethod::Fusermount,
    });
    for opt in common.options.iter().flat_map(|s| s.split(',')) {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        o = match (key, value) {
            ("", _) => bail!("-o: empty option in {:?}", common.options.join(",")),
            ("allow_other", None) => o.allow_other(true),
            ("default_permissions", None) => o.default_permissions(true),
            ("ro", None) => o.read_only(true),
            ("rw", None) => o.read_only(false),
            ("auto_unmount", None) => o.auto_unmount(true),
            ("fsname", Some(v)) if !v.is_empty() => o.fsname(v),
            ("subtype", Some(v)) if !v.is_empty() => o.subtype(v),
            ("max_read", Some(v)) => {
                let n: u32 = v
                    .parse()
                    .with_context(|| format!("-o max_read={v}: not a number of bytes"))?;
                o.max_read(n)
            }
            ("fsname" | "subtype" | "max_read", _) => bail!("-o {opt}: needs a value ({key}=...)"),
            ("allow_other" | "default_permissions" | "ro" | "rw" | "auto_unmount", Some(_)) => {
                bail!("-o {opt}: {key} takes no value")
            }
            _ => o.extra(opt),
        };
    }
    o.validate().context("invalid mount options")?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(opts: &[&str]) -> CommonMount {
        CommonMount {
            options: opts.iter().map(|s| s.to_string()).collect(),
            method: MountMethodArg::Auto,
            transport: crate::args::TransportArg::Auto,
            queue_depth: None,
            workers: None,
            busy_poll_us: None,
        }
    }

    #[test]
    fn known_options_set_fields_and_others_pass_through() {
        let o = mount_options(
            &common(&["allow_other,max_read=65536", "fsname=x,noatime"]),
            "hello",
        )
        .unwrap();
        assert!(o.allow_other);
        assert_eq!(o.max_read, Some(65536));
        assert_eq!(o.fsname.as_deref(), Some("x"));
        assert_eq!(o.extra, vec!["noatime".to_string()]);
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        use crate::args::parse_size;
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        for bad in ["12x", "lots", "abc", "1.5G", "-1k", "k", ""] {
            let e = parse_size(bad).unwrap_err();
            assert!(
                e.contains(&format!("{bad:?} is not a size")) && e.contains("64k, 512M"),
                "{bad}: {e}"
            );
            assert!(!e.contains("suffix 'c'"), "{e}");
        }
        assert!(parse_size("99999999999T")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn mistakes_name_the_option() {
        let e = mount_options(&common(&["max_read=lots"]), "hello").unwrap_err();
        assert!(format!("{e:#}").contains("max_read=lots"), "{e:#}");
        let e = mount_options(&common(&["fsname"]), "hello").unwrap_err();
        assert!(format!("{e:#}").contains("fsname"), "{e:#}");
        let e = mount_options(&common(&["ro=1"]), "hello").unwrap_err();
        assert!(format!("{e:#}").contains("ro=1"), "{e:#}");
    }
}
