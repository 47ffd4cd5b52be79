//! The soak's final judgement of the tree: every host lists exactly the modelled directories and
//! files, and every file reads as modelled through every host. The last changes may still be
//! on their way to some hosts, so a host gets up to [`VISIBILITY_BOUND`] to agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use super::writer::{compare, VISIBILITY_BOUND};

/// The expected tree.
pub struct Model {
    pub dirs: BTreeSet<String>,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Model {
    /// The listing [`crate::etcd_hosts::walk`] must return.
    fn listing(&self) -> Vec<String> {
        let mut all: Vec<String> = self.dirs.iter().map(|d| format!("{d}/")).collect();
        all.extend(self.files.keys().cloned());
        all.sort();
        all
    }
}

/// `Ok` when host `mount` shows exactly `model` (names and bytes), within the bound.
pub fn host_agrees(host: usize, mount: &Path, model: &Model) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let result = compare_once(mount, model);
        match result {
            Ok(()) => return Ok(()),
            Err(_) if start.elapsed() < VISIBILITY_BOUND => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(format!("host {host}: {e}")),
        }
    }
}

fn compare_once(mount: &Path, model: &Model) -> Result<(), String> {
    let listed = crate::etcd_hosts::walk(mount).map_err(|e| format!("walk: {e}"))?;
    let want = model.listing();
    if listed != want {
        let extra: Vec<_> = listed.iter().filter(|p| !want.contains(p)).collect();
        let missing: Vec<_> = want.iter().filter(|p| !listed.contains(p)).collect();
        return Err(format!(
            "the tree differs from the model: extra {extra:?}, missing {missing:?}"
        ));
    }
    for (path, bytes) in &model.files {
        let got = std::fs::read(mount.join(path)).map_err(|e| format!("read {path}: {e}"))?;
        compare(path, bytes, &got)?;
    }
    Ok(())
}
