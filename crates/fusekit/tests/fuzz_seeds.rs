//! Replays the `decode` fuzz target's committed seeds (fuzz/seeds/decode, see
//! docs/fuzzing.md) through the public decoder on every negotiated minor, so a decoder change
//! that breaks on them fails the normal test run, not only a nightly fuzz run. Each seed is
//! two selector bytes (see fuzz/src/decode.rs) followed by a well-formed 7.45 request.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use fusekit::abi::KERNEL_MINOR_VERSION;
use fusekit::op::{decode, DecodeContext, Op};

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/decode");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("reading a seed"))
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 40,
        "expected one seed per opcode, found {}",
        seeds.len()
    );
    seeds
}

/// Names a decoded op carries (enough to check they are clean).
fn names<'a>(op: &'a Op<'a>) -> Vec<&'a [u8]> {
    match op {
        Op::Lookup { name }
        | Op::Unlink { name }
        | Op::Rmdir { name }
        | Op::Removexattr { name }
        | Op::Mknod { name, .. }
        | Op::Mkdir { name, .. }
        | Op::Create { name, .. }
        | Op::Getxattr { name, .. }
        | Op::Setxattr { name, .. } => vec![name.as_bytes()],
        Op::Link { newname, .. } => vec![newname.as_bytes()],
        Op::Symlink { name, target } => vec![name.as_bytes(), target.as_bytes()],
        Op::Rename { name, newname, .. } => vec![name.as_bytes(), newname.as_bytes()],
        _ => Vec::new(),
    }
}

#[test]
fn decode_seeds_decode_on_current_minor() {
    for (name, seed) in seeds() {
        let request = &seed[2..];
        let d = decode(request, &DecodeContext::default())
            .unwrap_or_else(|e| panic!("seed {name} no longer decodes: {e}"));
        assert_eq!(d.header.len as usize, request.len(), "seed {name}");
        assert!(
            !matches!(d.op, Op::Unknown { .. }),
            "seed {name} decoded as Unknown"
        );
        for n in names(&d.op) {
            assert!(
                !n.is_empty() && !n.contains(&0),
                "seed {name}: bad name {n:?}"
            );
        }
    }
}

#[test]
fn decode_seeds_never_panic_on_any_minor_or_truncation() {
    for (_, seed) in seeds() {
        let request = &seed[2..];
        for minor in 0..=KERNEL_MINOR_VERSION {
            for setxattr_ext in [false, true] {
                let ctx = DecodeContext {
                    minor,
                    setxattr_ext,
                };
                if let Ok(d) = decode(request, &ctx) {
                    assert_eq!(d.header.len as usize, request.len());
                }
                // Every prefix with a matching length field: argument areas cut short.
                for cut in 40..request.len() {
                    let mut short = request[..cut].to_vec();
                    short[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
                    if let Ok(d) = decode(&short, &ctx) {
                        assert_eq!(d.header.len as usize, cut);
                        for n in names(&d.op) {
                            assert!(!n.is_empty() && !n.contains(&0));
                        }
                    }
                }
            }
        }
    }
}
