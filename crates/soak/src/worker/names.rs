//! Name operations: rename (within and across directories, over existing names, directories
//! with their contents), hard links, symlinks and readlink, mkdir/rmdir, unlink, readdir and
//! lstat checks.

use std::fs;

use anyhow::{bail, Context};

use super::model::{parent, Entry};
use super::Worker;

/// Most names one inode gets (keeps link counts small and bounded).
const MAX_LINKS: usize = 4;
/// Most made directories (below the base directories) per worker.
const MAX_SUBDIRS: usize = 6;

impl Worker {
    /// Made directories (one level below a base directory).
    fn subdirs(&self) -> Vec<String> {
        self.model
            .dirs()
            .into_iter()
            .filter(|d| d.contains('/'))
            .collect()
    }

    /// Base directories (`d0`..).
    fn base_dirs(&self) -> Vec<String> {
        self.model
            .dirs()
            .into_iter()
            .filter(|d| !d.contains('/'))
            .collect()
    }

    /// Renames a file, symlink or made directory to a fresh name or over an existing file or
    /// symlink, in the same or another directory.
    pub(super) fn op_rename(&mut self) -> anyhow::Result<()> {
        let movable: Vec<String> = self
            .model
            .entries
            .iter()
            .filter(|(p, e)| !matches!(e, Entry::Dir) || p.contains('/'))
            .map(|(p, _)| p.clone())
            .collect();
        let Some(from) = self.pick(&movable) else {
            return Ok(());
        };
        let is_dir = self.model.entries[&from] == Entry::Dir;
        let to = if is_dir {
            let bases = self.base_dirs();
            let base = self.pick(&bases).expect("base dirs");
            format!("{base}/{}", self.model.fresh_name("s"))
        } else if self.rng.chance(30) {
            let victims: Vec<String> = self
                .model
                .entries
                .iter()
                .filter(|(_, e)| !matches!(e, Entry::Dir))
                .map(|(p, _)| p.clone())
                .collect();
            self.pick(&victims).expect("from itself is one")
        } else {
            let dir = if self.rng.chance(50) {
                parent(&from).to_string()
            } else {
                self.some_dir()
            };
            format!("{dir}/{}", self.model.fresh_name("r"))
        };
        let (a, b) = (self.path(&from), self.path(&to));
        fs::rename(&a, &b).with_context(|| format!("rename {} -> {}", a.display(), b.display()))?;
        self.model.rename(&from, &to);
        if self.model.entries.contains_key(&from) {
            // Hard links to one inode: rename is a no-op, both names stay.
            self.verify_stat(&from)?;
        } else if fs::symlink_metadata(&a).is_ok() {
            bail!(
                "rename {} -> {}: the old name still exists",
                a.display(),
                b.display()
            );
        }
        self.verify_stat(&to)?;
        if self.rng.chance(25) {
            self.verify_listing(parent(&from))?;
            self.verify_listing(parent(&to))?;
        }
        Ok(())
    }

    /// A hard link to an existing file, in a random directory; both names must show the new
    /// link count.
    pub(super) fn op_link(&mut self) -> anyhow::Result<()> {
        let files: Vec<String> = self
            .model
            .files()
            .into_iter()
            .filter(|f| self.model.inode(f).names.len() < MAX_LINKS)
            .collect();
        let Some(existing) = self.pick(&files) else {
            return Ok(());
        };
        let dir = self.some_dir();
        let new = format!("{dir}/{}", self.model.fresh_name("h"));
        let (a, b) = (self.path(&existing), self.path(&new));
        fs::hard_link(&a, &b)
            .with_context(|| format!("link {} -> {}", a.display(), b.display()))?;
        self.model.link(&existing, &new);
        self.verify_stat(&existing)?;
        self.verify_stat(&new)?;
        if self.rng.chance(30) {
            self.verify_file(&new)?;
        }
        Ok(())
    }

    /// A symlink to a sibling file (or to nothing); readlink must return the target, and a
    /// link to a file must read as that file.
    pub(super) fn op_symlink(&mut self) -> anyhow::Result<()> {
        let dir = self.some_dir();
        let siblings: Vec<String> = self
            .model
            .children(&dir)
            .into_iter()
            .filter(|(_, e)| matches!(e, Entry::File(_)))
            .map(|(n, _)| n.to_string())
            .collect();
        let target = match self.pick(&siblings) {
            Some(name) if self.rng.chance(70) => name,
            _ => self.model.fresh_name("nowhere-"),
        };
        let rel = format!("{dir}/{}", self.model.fresh_name("l"));
        let path = self.path(&rel);
        std::os::unix::fs::symlink(&target, &path)
            .with_context(|| format!("symlink {} -> {target}", path.display()))?;
        self.model.add(&rel, Entry::Symlink(target.clone()));
        self.verify_readlink(&rel, &target)?;
        self.read_through(&rel)
    }

    /// readlink of an existing symlink, and a read through it when it points at a file.
    pub(super) fn op_read_symlink(&mut self) -> anyhow::Result<()> {
        let links = self.model.symlinks();
        let Some(rel) = self.pick(&links) else {
            return Ok(());
        };
        self.verify_stat(&rel)?;
        self.read_through(&rel)
    }

    /// If the symlink at `rel` resolves (in the model) to a file, reads it through the link.
    fn read_through(&mut self, rel: &str) -> anyhow::Result<()> {
        let Some(Entry::Symlink(target)) = self.model.entries.get(rel) else {
            return Ok(());
        };
        let resolved = format!("{}/{target}", parent(rel));
        let Some(ino) = self.model.ino(&resolved) else {
            return Ok(());
        };
        let path = self.path(rel);
        let got =
            fs::read(&path).with_context(|| format!("read through symlink {}", path.display()))?;
        let r = super::verify::compare(
            &format!("{} (via symlink to {resolved})", path.display()),
            0,
            &self.model.inodes[&ino].data,
            &got,
        );
        self.explain(&resolved, r)
    }

    /// mkdir below a base directory (bounded in number).
    pub(super) fn op_mkdir(&mut self) -> anyhow::Result<()> {
        if self.subdirs().len() >= MAX_SUBDIRS {
            return self.op_rmdir();
        }
        let bases = self.base_dirs();
        let base = self.pick(&bases).expect("base dirs");
        let rel = format!("{base}/{}", self.model.fresh_name("s"));
        let path = self.path(&rel);
        fs::create_dir(&path).with_context(|| format!("mkdir {}", path.display()))?;
        self.model.add(&rel, Entry::Dir);
        self.verify_listing(&rel)
    }

    /// rmdir of a made directory: it must succeed when empty and fail with ENOTEMPTY (leaving
    /// everything in place) when not.
    pub(super) fn op_rmdir(&mut self) -> anyhow::Result<()> {
        let subdirs = self.subdirs();
        let Some(rel) = self.pick(&subdirs) else {
            return Ok(());
        };
        let path = self.path(&rel);
        let empty = self.model.children(&rel).is_empty();
        match fs::remove_dir(&path) {
            Ok(()) if empty => {
                self.model.remove(&rel);
                match fs::symlink_metadata(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => bail!(
                        "rmdir {}: still there afterwards ({other:?})",
                        path.display()
                    ),
                }
            }
            Ok(()) => bail!(
                "rmdir {}: succeeded on a directory the model says holds {} names",
                path.display(),
                self.model.children(&rel).len()
            ),
            Err(e)
                if !empty
                    && e.raw_os_error() == Some(rustix::io::Errno::NOTEMPTY.raw_os_error()) =>
            {
                self.verify_listing(&rel)
            }
            Err(e) => Err(e).with_context(|| {
                format!(
                    "rmdir {} ({} names in the model)",
                    path.display(),
                    self.model.children(&rel).len()
                )
            }),
        }
    }

    /// unlink of a file or symlink name; other hard links keep the data and drop a link.
    pub(super) fn op_unlink(&mut self) -> anyhow::Result<()> {
        let names: Vec<String> = self
            .model
            .entries
            .iter()
            .filter(|(_, e)| !matches!(e, Entry::Dir))
            .map(|(p, _)| p.clone())
            .collect();
        let Some(rel) = self.pick(&names) else {
            return Ok(());
        };
        let path = self.path(&rel);
        fs::remove_file(&path).with_context(|| format!("unlink {}", path.display()))?;
        let ino = self.model.ino(&rel);
        self.model.remove(&rel);
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => bail!(
                "unlink {}: still there afterwards ({other:?})",
                path.display()
            ),
        }
        if let Some(other) = ino
            .and_then(|i| self.model.inodes.get(&i))
            .map(|i| i.names[0].clone())
        {
            self.verify_stat(&other)?;
        }
        Ok(())
    }

    /// readdir of a random directory compared with the model.
    pub(super) fn op_readdir(&mut self) -> anyhow::Result<()> {
        let mut dirs = self.model.dirs();
        dirs.push(String::new());
        let dir = self.pick(&dirs).expect("non-empty");
        self.verify_listing(&dir)
    }

    /// lstat of a random name compared with the model.
    pub(super) fn op_stat(&mut self) -> anyhow::Result<()> {
        let paths: Vec<String> = self.model.entries.keys().cloned().collect();
        let rel = self.pick(&paths).expect("base dirs exist");
        self.verify_stat(&rel)
    }
}
