//! When the kernel refuses a backing file, the passthrough falls back to serving READ and
//! WRITE itself, and the data stays right. Made to happen honestly: the source of the outer
//! passthrough is itself a passthrough mount with kernel passthrough, whose files sit one
//! stacking level deep already — more than the outer mount's max_stack_depth of 1 allows.

mod common;

use std::time::Duration;

use common::{mount_passthrough, require_kernel, with_deadline, Tmpfs};
use fusekit_passthrough::PassthroughOptions;

#[test]
fn refused_backing_files_fall_back_to_daemon_io() {
    if !require_kernel("refused_backing_files_fall_back_to_daemon_io") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let src = Tmpfs::mount();
        let data: Vec<u8> = (0..3 << 20).map(|i| (i % 253) as u8).collect();
        std::fs::write(src.path().join("f"), &data).unwrap();
        let (inner, inner_stats) = mount_passthrough(src.path(), PassthroughOptions::default());
        let (outer, outer_stats) = mount_passthrough(inner.path(), PassthroughOptions::default());

        assert_eq!(std::fs::read(outer.path().join("f")).unwrap(), data);
        std::fs::write(outer.path().join("g"), &data[..1 << 20]).unwrap();
        assert_eq!(
            std::fs::read(src.path().join("g")).unwrap(),
            &data[..1 << 20]
        );

        let o = outer_stats.snapshot();
        let i = inner_stats.snapshot();
        println!("outer {o:?}\ninner {i:?}");
        if i.passthrough_opens == 0 {
            eprintln!("SKIPPED: this kernel gives no passthrough even to the inner mount");
        } else {
            assert!(o.backing_failures > 0, "outer: {o:?}");
            assert_eq!(o.passthrough_opens, 0, "outer: {o:?}");
            assert!(
                o.reads > 0 && o.read_bytes >= data.len() as u64,
                "outer: {o:?}"
            );
            assert!(o.writes > 0, "outer: {o:?}");
            // The inner mount still used passthrough for the outer daemon's own opens.
            assert_eq!(i.reads, 0, "inner: {i:?}");
        }
        drop(outer);
        drop(inner);
    });
}
