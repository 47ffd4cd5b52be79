//! Replays the committed seed corpus (`fuzz/seeds/<target>/*`) through exactly the code the
//! libFuzzer targets run, on stable and without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml --test seeds`.

use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    for path in seeds(target) {
        let data = std::fs::read(&path).expect("reading a seed");
        eprintln!("{target}: {}", path.display());
        run(&data);
    }
}

#[test]
fn decode_seeds() {
    replay("decode", fusekit_fuzz::decode::run);
}

#[test]
fn reply_seeds() {
    replay("reply", fusekit_fuzz::reply::run);
}

#[test]
fn memfs_seeds() {
    replay("memfs", fusekit_fuzz::memfs::run);
}

/// Writes `seeds/decode/`: one well-formed request per opcode the `memfs` target's encoder
/// produced from the local `corpus/memfs/`, plus the two INIT layouts, each prefixed with the
/// `decode` target's selector bytes (minor 45, no flags). Run by hand:
/// `cargo test --manifest-path fuzz/Cargo.toml --test seeds -- --ignored write_decode_seeds`.
#[test]
#[ignore = "generates the committed decode seeds from a local memfs corpus"]
fn write_decode_seeds() {
    use arbitrary::{Arbitrary, Unstructured};
    use fusekit::abi::{self, Opcode};
    use fusekit_fuzz::memfs::{Seen, Step};
    use fusekit_fuzz::wire::RequestBuilder;
    use std::collections::BTreeMap;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(root.join("corpus/memfs"))
        .expect("a local corpus/memfs (run the memfs target first)")
        .map(|e| e.expect("entry").path())
        .collect();
    corpus.sort();
    let seen = Seen {
        nodes: vec![1],
        fhs: vec![],
    };
    let mut by_opcode: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for path in corpus {
        let data = std::fs::read(&path).expect("corpus file");
        let Ok(steps) = Vec::<Step>::arbitrary_take_rest(Unstructured::new(&data)) else {
            continue;
        };
        for (i, step) in steps.iter().enumerate() {
            let enc = step.encode(i as u64 + 1, &seen);
            if !enc.raw {
                by_opcode.entry(enc.opcode).or_insert(enc.bytes);
            }
        }
    }
    let init = abi::InitIn {
        major: 7,
        minor: 45,
        max_readahead: 1 << 17,
        flags: u32::MAX,
        flags2: 0x3ff,
        unused: [0; 11],
    };
    let init_full = RequestBuilder::new(Opcode::Init as u32, 1, 0, 0, 0)
        .arg(&init)
        .finish();
    let init_old = RequestBuilder::new(Opcode::Init as u32, 1, 0, 0, 0)
        .bytes(&zerocopy::IntoBytes::as_bytes(&init)[..16])
        .finish();
    let out = root.join("seeds/decode");
    std::fs::create_dir_all(&out).expect("seeds dir");
    let write = |name: String, request: &[u8]| {
        let mut bytes = vec![45, 0];
        bytes.extend_from_slice(request);
        std::fs::write(out.join(name), bytes).expect("writing a seed");
    };
    for (opcode, request) in &by_opcode {
        let name = Opcode::try_from(*opcode)
            .map(fusekit::op::opcode_name)
            .unwrap_or("UNKNOWN");
        write(name.to_lowercase(), request);
    }
    write("init".into(), &init_full);
    write("init-7.35".into(), &init_old);
}
