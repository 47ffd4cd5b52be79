//! Changes made in the source directory are visible through the mount and the other way
//! round. With the default options (1 s entry/attribute timeouts, no FOPEN_KEEP_CACHE,
//! AUTO_INVAL_DATA) a change made directly in the source shows through the mount once the
//! timeouts have passed; with timeouts of zero, at once. Changes made through the mount are
//! in the source at once (every operation is done on the source before the reply).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::thread::sleep;
use std::time::Duration;

use common::{mount_passthrough, require_kernel, temp_dir, with_deadline};
use fusekit_passthrough::PassthroughOptions;
use fusekit_testkit::transport;

fn both_ways(test: &'static str, opts: PassthroughOptions, settle: Duration) {
    if !require_kernel(test) {
        return;
    }
    with_deadline(Duration::from_secs(60), move || {
        let src = temp_dir("coh-src");
        let (mnt, _) = mount_passthrough(src.path(), opts);
        let (s, m) = (src.path(), mnt.path());

        // Mount → source: immediately.
        fs::write(m.join("from-mnt"), b"one").unwrap();
        assert_eq!(fs::read(s.join("from-mnt")).unwrap(), b"one");
        fs::create_dir(m.join("dir")).unwrap();
        assert!(s.join("dir").is_dir());
        fs::rename(m.join("from-mnt"), m.join("dir/moved")).unwrap();
        assert!(!s.join("from-mnt").exists());
        assert_eq!(fs::read(s.join("dir/moved")).unwrap(), b"one");

        // Prime the kernel's caches for names and data, then change the source behind them.
        assert!(!m.join("from-src").exists());
        assert_eq!(fs::read(m.join("dir/moved")).unwrap(), b"one");
        fs::write(s.join("from-src"), b"two").unwrap();
        fs::write(s.join("dir/moved"), b"changed in the source").unwrap();
        fs::remove_dir(s.join("dir")).unwrap_err(); // not empty: still there
        fs::set_permissions(
            s.join("from-src"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        sleep(settle);
        assert_eq!(fs::read(m.join("from-src")).unwrap(), b"two");
        assert_eq!(
            fs::read(m.join("dir/moved")).unwrap(),
            b"changed in the source"
        );
        assert_eq!(
            fs::metadata(m.join("from-src")).unwrap().mode() & 0o777,
            0o600
        );
        fs::remove_file(s.join("from-src")).unwrap();
        sleep(settle);
        assert!(!m.join("from-src").exists());
        let names: Vec<_> = fs::read_dir(m)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dir")]);
        drop(mnt);
    });
}

#[test]
fn changes_show_both_ways_with_zero_timeouts() {
    both_ways(
        "changes_show_both_ways_with_zero_timeouts",
        PassthroughOptions::default().timeout(Duration::ZERO),
        Duration::ZERO,
    );
}

#[test]
fn changes_show_both_ways_after_default_timeouts() {
    let opts = PassthroughOptions::default();
    let settle = opts.attr_timeout.max(opts.entry_timeout) + Duration::from_millis(200);
    both_ways(
        "changes_show_both_ways_after_default_timeouts",
        opts,
        settle,
    );
}

#[test]
fn changes_show_both_ways_without_kernel_passthrough() {
    both_ways(
        "changes_show_both_ways_without_kernel_passthrough",
        PassthroughOptions::default()
            .timeout(Duration::ZERO)
            .kernel_passthrough(false),
        Duration::ZERO,
    );
}

/// The source directory is opened before the mount, so a passthrough can be mounted over
/// its own source: the mount point shows the files that are now hidden under it.
#[test]
fn mounted_over_its_own_source() {
    if !require_kernel("mounted_over_its_own_source") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let dir = temp_dir("over");
        std::fs::write(dir.path().join("before"), b"hidden underneath").unwrap();
        let fs = fusekit_passthrough::Passthrough::new(dir.path(), PassthroughOptions::default())
            .unwrap();
        // By hand (TestMount mounts on a fresh directory), over the test transport.
        let test = "mounted_over_its_own_source";
        let _uring_param = transport::param_for_test_transport(test);
        let session = fusekit::Session::mount(fs, dir.path(), &common::passthrough_mount_options())
            .unwrap()
            .transport(fusekit_testkit::test_transport())
            .spawn()
            .unwrap();
        transport::assert_on_test_transport(test, &session);
        let stats = session.stats_handle();
        let result = std::panic::catch_unwind(|| {
            assert_eq!(
                fs::read(dir.path().join("before")).unwrap(),
                b"hidden underneath"
            );
            fs::write(dir.path().join("after"), b"written through").unwrap();
        });
        session.unmount_and_join().unwrap();
        result.unwrap();
        if fusekit_testkit::over_uring() {
            transport::assert_served_over_ring(test, stats.snapshot().requests, stats.uring());
        }
        assert_eq!(
            fs::read(dir.path().join("after")).unwrap(),
            b"written through"
        );
    });
}
