//! Multi-threaded lifetime and I/O stress: threads open, write, unlink, look up, forget and
//! release the same few names at once (the release/unlink/forget races of ARCHITECTURE rule
//! 5, at the engine level), and write disjoint stripes of one shared file in parallel.
//! Afterwards every byte and every inode must be accounted for.

mod common;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fusekit_memfs::*;

#[test]
fn open_unlink_release_forget_races_return_all_memory() {
    let fs = Arc::new(fs());
    let base = fs.stats();
    let (tx, rx) = mpsc::channel();
    for t in 0..8u64 {
        let (fs, tx) = (Arc::clone(&fs), tx.clone());
        std::thread::spawn(move || {
            let c = root();
            let mut s = 0x2545_F491_4F6C_DD1D ^ (t + 7);
            for _ in 0..2000 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let name = format!("x{}", s % 4);
                match (s >> 8) % 4 {
                    0 => {
                        if let Ok((a, fh)) = fs.create(&c, ROOT_ID, n(&name), 0o644, O_RDWR) {
                            // Write and read back through our handle whatever happens to the name.
                            let data = [t as u8 + 1; 5000];
                            assert_eq!(fs.write(&c, a.ino, fh, 0, &data, false), Ok(5000));
                            let _ = fs.unlink(&c, ROOT_ID, n(&name));
                            let mut out = Vec::new();
                            fs.read(a.ino, fh, 0, 5000, &mut out).unwrap();
                            assert_eq!(out.len(), 5000);
                            assert!(fs.getattr(a.ino).is_ok(), "open file must stay alive");
                            fs.forget(a.ino, 1);
                            fs.release(a.ino, fh, None).unwrap();
                        }
                    }
                    1 => {
                        if let Ok(a) = fs.lookup(ROOT_ID, n(&name)) {
                            if let Ok(fh) = fs.open(&c, a.ino, O_RDWR) {
                                let _ = fs.write(&c, a.ino, fh, 100, b"z", false);
                                fs.release(a.ino, fh, None).unwrap();
                            }
                            fs.forget(a.ino, 1);
                        }
                    }
                    2 => {
                        let _ = fs.unlink(&c, ROOT_ID, n(&name));
                    }
                    _ => {
                        let other = format!("x{}", (s >> 16) % 4);
                        let _ =
                            fs.rename(&c, ROOT_ID, n(&name), ROOT_ID, n(&other), RenameFlags(0));
                    }
                }
            }
            tx.send(()).unwrap();
        });
    }
    drop(tx);
    for _ in 0..8 {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("a worker hung or panicked");
    }
    for name in list(&fs, ROOT_ID) {
        fs.unlink(&root(), ROOT_ID, n(&name)).unwrap();
    }
    assert_eq!(fs.stats(), base, "every inode, page and handle returned");
}

#[test]
fn parallel_writers_to_one_file_each_keep_their_stripe() {
    let fs = Arc::new(fs());
    let (a, fh) = create(&fs, ROOT_ID, "shared");
    const STRIPE: usize = 10_000;
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let fs = Arc::clone(&fs);
            std::thread::spawn(move || {
                for chunk in 0..10 {
                    let off = (t as usize * 10 + chunk) * STRIPE;
                    let w = fs.write(&root(), a.ino, fh, off as u64, &[t + 1; STRIPE], false);
                    assert_eq!(w, Ok(STRIPE as u32));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let data = read_all(&fs, a.ino, fh);
    assert_eq!(data.len(), 80 * STRIPE);
    for (i, chunk) in data.chunks(STRIPE).enumerate() {
        let want = (i / 10) as u8 + 1;
        assert!(chunk.iter().all(|&b| b == want), "stripe {i} corrupted");
    }
}
