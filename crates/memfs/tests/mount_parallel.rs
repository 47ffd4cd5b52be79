//! Many processes at once through a real mount: readdir stays stable while other processes
//! add and remove entries, and create/write/rename/link/unlink loops in shared directories
//! leave a consistent tree (every file's content matches its name, nlink matches the names).

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::mount::{mount_memfs, require_kernel, temp_dir, with_deadline};
use fusekit_memfs::Limits;

/// Starts `sh -c script` in `dir` with `STOP` naming a file whose existence ends the loop.
fn sh(dir: &Path, stop: &Path, script: &str, worker: usize) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("STOP", stop)
        .env("W", worker.to_string())
        .spawn()
        .expect("spawn sh")
}

fn stop_all(stop: &Path, children: Vec<Child>) {
    fs::write(stop, b"").unwrap();
    for mut c in children {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match c.try_wait().unwrap() {
                Some(status) => {
                    assert!(status.success(), "worker failed: {status}");
                    break;
                }
                None if Instant::now() > deadline => {
                    let _ = c.kill();
                    let _ = c.wait();
                    panic!("worker did not stop");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

const CHURN: &str = r#"
i=0
while [ ! -e "$STOP" ]; do
  : > "c$W-$i"
  rm -f "c$W-$((i - 20))"
  i=$((i + 1))
done
"#;

#[test]
fn readdir_is_stable_under_churn_from_other_processes() {
    if !require_kernel("readdir_is_stable_under_churn_from_other_processes") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let dir = mnt.path().join("d");
        fs::create_dir(&dir).unwrap();
        let stable: Vec<String> = (0..3000).map(|i| format!("s{i:05}")).collect();
        for s in &stable {
            fs::write(dir.join(s), b"").unwrap();
        }
        let ctl = temp_dir("memfs-stop");
        let stop = ctl.path().join("stop");
        let churners: Vec<Child> = (0..3).map(|w| sh(&dir, &stop, CHURN, w)).collect();
        let end = Instant::now() + Duration::from_secs(4);
        let listers: Vec<_> = (0..2)
            .map(|_| {
                let (dir, stable) = (dir.clone(), stable.clone());
                std::thread::spawn(move || {
                    let mut listings = 0;
                    while Instant::now() < end {
                        let mut seen: HashMap<String, usize> = HashMap::new();
                        for e in fs::read_dir(&dir).unwrap() {
                            let name = e.unwrap().file_name().to_string_lossy().into_owned();
                            *seen.entry(name).or_default() += 1;
                        }
                        for s in &stable {
                            assert_eq!(seen.get(s), Some(&1), "stable name {s} seen wrongly");
                        }
                        let dups: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
                        // A churn name removed and re-created during the listing may show
                        // twice; a stable name never does (checked above).
                        assert!(dups.iter().all(|(k, _)| k.starts_with('c')), "{dups:?}");
                        listings += 1;
                    }
                    listings
                })
            })
            .collect();
        let listings: usize = listers.into_iter().map(|t| t.join().unwrap()).sum();
        stop_all(&stop, churners);
        eprintln!("readdir under churn: {listings} full listings of 3000+ entries");
        assert!(listings >= 4, "only {listings} listings");
        drop(mnt);
    });
}

/// Each worker: create `w$W-$i` in d0 with its own name as content, move it to d1, link it
/// back into d0 as `.l`, sometimes move that link over one of four shared `hot-K` names,
/// and unlink an older file.
const MUTATE: &str = r#"
i=0
while [ ! -e "$STOP" ]; do
  n="w$W-$i"
  printf '%s' "$n" > "d0/$n"
  mv "d0/$n" "d1/$n"
  ln "d1/$n" "d0/$n.l"
  if [ $((i % 3)) -eq 0 ]; then mv -f "d0/$n.l" "d$((i % 2))/hot-$((i % 4))"; fi
  rm -f "d1/w$W-$((i - 5))" "d0/w$W-$((i - 7)).l"
  i=$((i + 1))
done
echo "$i" > "$STOP.$W"
"#;

#[test]
fn parallel_processes_leave_a_consistent_tree() {
    if !require_kernel("parallel_processes_leave_a_consistent_tree") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let (engine, mnt) = mount_memfs(Limits::UNLIMITED);
        for d in ["d0", "d1"] {
            fs::create_dir(mnt.path().join(d)).unwrap();
        }
        let ctl = temp_dir("memfs-stop");
        let stop = ctl.path().join("stop");
        let workers: Vec<Child> = (0..8).map(|w| sh(mnt.path(), &stop, MUTATE, w)).collect();
        std::thread::sleep(Duration::from_secs(4));
        stop_all(&stop, workers);
        let rounds: u64 = (0..8)
            .map(|w| {
                let s = fs::read_to_string(format!("{}.{w}", stop.display())).unwrap();
                s.trim().parse::<u64>().unwrap()
            })
            .sum();
        // Consistency: content matches the name, nlink matches the names found.
        let mut names_of: HashMap<u64, Vec<String>> = HashMap::new();
        let mut nlink_of: HashMap<u64, u64> = HashMap::new();
        let mut files = 0;
        for d in ["d0", "d1"] {
            for e in fs::read_dir(mnt.path().join(d)).unwrap() {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                let path = e.path();
                let meta = fs::metadata(&path).unwrap();
                let content = fs::read_to_string(&path).unwrap();
                let base = name.trim_end_matches(".l");
                if name.starts_with("hot-") {
                    assert!(content.starts_with('w'), "{d}/{name}: {content:?}");
                } else {
                    assert_eq!(content, base, "{d}/{name}");
                }
                names_of
                    .entry(meta.ino())
                    .or_default()
                    .push(format!("{d}/{name}"));
                nlink_of.insert(meta.ino(), meta.nlink());
                files += 1;
            }
        }
        for (ino, names) in &names_of {
            assert_eq!(
                nlink_of[ino],
                names.len() as u64,
                "inode {ino}: nlink vs names {names:?}"
            );
        }
        let s = engine.stats();
        eprintln!("8 sh workers: {rounds} rounds, {files} names left, engine {s:?}");
        assert!(rounds >= 8, "workers made no progress");
        drop(mnt);
    });
}
