//! One optimistic transaction in the making: every key read through the plan becomes a compare
//! (its mod_revision, or its absence), every change is buffered per key, and [`Plan::build`]
//! turns both into a single etcd transaction. If anything read changed meanwhile, the
//! transaction fails as a whole and the operation starts over with a fresh plan.
//!
//! Reads are cached, so an inode seen twice (the same parent on both sides of a rename, an
//! ancestor that is also a parent) is one compare and at most one write.

use std::collections::BTreeMap;

use super::{FsError, Namespace};
use crate::schema::{Entry, Inode, Keys};
use crate::store::{prefix_end, Compare, LeaseId, Store, Txn, TxnOp};

struct Slot<T> {
    value: Option<T>,
    dirty: bool,
}

/// Reads with their guards, and buffered writes.
pub(crate) struct Plan<'a, S> {
    ns: &'a Namespace<S>,
    keys: &'a Keys,
    compares: BTreeMap<Vec<u8>, Compare>,
    inodes: BTreeMap<u64, Slot<Inode>>,
    entries: BTreeMap<Vec<u8>, Slot<Entry>>,
    other: BTreeMap<Vec<u8>, TxnOp>,
    ranges: Vec<TxnOp>,
}

impl<'a, S: Store> Plan<'a, S> {
    pub(crate) fn new(ns: &'a Namespace<S>) -> Plan<'a, S> {
        Plan {
            ns,
            keys: &ns.keys,
            compares: BTreeMap::new(),
            inodes: BTreeMap::new(),
            entries: BTreeMap::new(),
            other: BTreeMap::new(),
            ranges: Vec::new(),
        }
    }

    /// Reads `key` and guards the transaction on it being unchanged.
    async fn read_guarded(&mut self, key: Vec<u8>) -> Result<Option<Vec<u8>>, FsError> {
        let kv = self.ns.read_key(&key).await?;
        let rev = kv.as_ref().map_or(0, |kv| kv.mod_revision);
        self.compares
            .insert(key.clone(), Compare::mod_revision(key, rev));
        Ok(kv.map(|kv| kv.value))
    }

    /// The inode `ino` as this plan sees it (after its own changes); `None` if absent.
    pub(crate) async fn inode(&mut self, ino: u64) -> Result<Option<Inode>, FsError> {
        if let Some(slot) = self.inodes.get(&ino) {
            return Ok(slot.value.clone());
        }
        let raw = self.read_guarded(self.keys.inode(ino)).await?;
        let value = match raw {
            Some(v) => Some(
                Inode::decode(&v).ok_or_else(|| FsError::Corrupt(format!("inode {ino} record")))?,
            ),
            None => None,
        };
        self.inodes.insert(
            ino,
            Slot {
                value: value.clone(),
                dirty: false,
            },
        );
        Ok(value)
    }

    /// Like [`Plan::inode`], with absence as `NotFound`.
    pub(crate) async fn need_inode(&mut self, ino: u64) -> Result<Inode, FsError> {
        self.inode(ino).await?.ok_or(FsError::NotFound)
    }

    /// A directory that can take or lose entries: exists, is a directory, not removed.
    pub(crate) async fn need_dir(&mut self, ino: u64) -> Result<Inode, FsError> {
        let dir = self.need_inode(ino).await?;
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir.nlink == 0 {
            return Err(FsError::NotFound);
        }
        Ok(dir)
    }

    /// Writes `inode` (a new inode is guarded on its key being absent).
    pub(crate) fn put_inode(&mut self, ino: u64, inode: Inode) {
        if !self.inodes.contains_key(&ino) {
            let key = self.keys.inode(ino);
            self.compares.insert(key.clone(), Compare::absent(key));
        }
        self.inodes.insert(
            ino,
            Slot {
                value: Some(inode),
                dirty: true,
            },
        );
    }

    /// Deletes inode `ino` with its chunks, xattrs, locks and orphan key.
    pub(crate) fn delete_inode(&mut self, ino: u64) {
        self.inodes.insert(
            ino,
            Slot {
                value: None,
                dirty: true,
            },
        );
        for prefix in [
            self.keys.chunks(ino),
            self.keys.xattrs(ino),
            self.keys.locks(ino),
        ] {
            self.ranges.push(TxnOp::DeleteRange {
                end: prefix_end(&prefix),
                start: prefix,
            });
        }
        let orphan = self.keys.orphan(ino);
        self.other
            .insert(orphan.clone(), TxnOp::Delete { key: orphan });
    }

    /// The entry `name` of `parent`, guarded.
    pub(crate) async fn entry(
        &mut self,
        parent: u64,
        name: &[u8],
    ) -> Result<Option<Entry>, FsError> {
        let key = self.keys.entry(parent, name);
        if let Some(slot) = self.entries.get(&key) {
            return Ok(slot.value);
        }
        let value = match self.read_guarded(key.clone()).await? {
            Some(v) => Some(Entry::decode(&v).ok_or_else(|| {
                FsError::Corrupt(format!(
                    "entry {:?} of {parent}",
                    String::from_utf8_lossy(name)
                ))
            })?),
            None => None,
        };
        self.entries.insert(
            key,
            Slot {
                value,
                dirty: false,
            },
        );
        Ok(value)
    }

    /// Sets (`Some`) or removes (`None`) the entry `name` of `parent`; the entry must have been
    /// read through [`Plan::entry`] first, so that it is guarded.
    pub(crate) fn set_entry(&mut self, parent: u64, name: &[u8], entry: Option<Entry>) {
        let key = self.keys.entry(parent, name);
        debug_assert!(
            self.entries.contains_key(&key),
            "entry written without a read"
        );
        self.entries.insert(
            key,
            Slot {
                value: entry,
                dirty: true,
            },
        );
    }

    /// Whether directory `dir` has no entries. Guarded through the directory's own inode:
    /// every change of a directory's entries rewrites its inode (mtime).
    pub(crate) async fn dir_is_empty(&mut self, dir: u64) -> Result<bool, FsError> {
        self.need_inode(dir).await?;
        let prefix = self.keys.entries(dir);
        let kvs = self.ns.read_range(&prefix, &prefix_end(&prefix), 1).await?;
        Ok(kvs.is_empty())
    }

    /// Marks inode `ino` as an orphan held by `lease`, guarded on the session key existing
    /// (an orphan of an ended session would be reclaimed under its holder's feet).
    pub(crate) async fn put_orphan(&mut self, ino: u64, lease: LeaseId) -> Result<(), FsError> {
        if self
            .read_guarded(self.keys.session(lease.0))
            .await?
            .is_none()
        {
            return Err(FsError::SessionEnded);
        }
        let key = self.keys.orphan(ino);
        self.other.insert(
            key.clone(),
            TxnOp::Put {
                key,
                value: lease.0.to_be_bytes().to_vec(),
                lease: None,
            },
        );
        Ok(())
    }

    /// Records that session `lease` holds `ino` open (the key dies with the lease). Every
    /// change of an inode's open records also rewrites the inode, so that a change guarded
    /// on the inode sees every holder.
    pub(crate) fn put_open(&mut self, ino: u64, lease: LeaseId) {
        let key = self.keys.open(ino, lease.0);
        self.other.insert(
            key.clone(),
            TxnOp::Put {
                key,
                value: Vec::new(),
                lease: Some(lease),
            },
        );
    }

    /// Drops session `lease`'s open record of `ino`.
    pub(crate) fn delete_open(&mut self, ino: u64, lease: LeaseId) {
        let key = self.keys.open(ino, lease.0);
        self.other.insert(key.clone(), TxnOp::Delete { key });
    }

    /// The sessions other than `except` holding `ino` open (as this plan will leave them).
    /// Not guarded itself: read after [`Plan::inode`], whose guard covers every change of
    /// the open records (see [`Plan::put_open`]).
    pub(crate) async fn other_holders(
        &mut self,
        ino: u64,
        except: Option<LeaseId>,
    ) -> Result<Vec<LeaseId>, FsError> {
        let prefix = self.keys.opens(ino);
        let kvs = self.ns.read_range(&prefix, &prefix_end(&prefix), 0).await?;
        Ok(kvs
            .iter()
            .filter_map(|kv| match self.keys.parse(&kv.key) {
                Some(crate::schema::ParsedKey::Open { lease, .. }) => Some(LeaseId(lease)),
                _ => None,
            })
            .filter(|&l| Some(l) != except)
            .filter(|l| {
                !matches!(
                    self.other.get(&self.keys.open(ino, l.0)),
                    Some(TxnOp::Delete { .. })
                )
            })
            .collect())
    }

    /// Data chunk `index` of `ino`, guarded; `None` for a hole.
    pub(crate) async fn chunk(&mut self, ino: u64, index: u64) -> Result<Option<Vec<u8>>, FsError> {
        let key = self.keys.chunk(ino, index);
        if let Some(TxnOp::Put { value, .. }) = self.other.get(&key) {
            return Ok(Some(value.clone()));
        }
        self.read_guarded(key).await
    }

    /// Writes data chunk `index` of `ino`.
    pub(crate) fn put_chunk(&mut self, ino: u64, index: u64, data: Vec<u8>) {
        let key = self.keys.chunk(ino, index);
        self.other.insert(
            key.clone(),
            TxnOp::Put {
                key,
                value: data,
                lease: None,
            },
        );
    }

    /// Deletes every data chunk of `ino` from chunk `index` on (guarded through the inode,
    /// which every write rewrites).
    pub(crate) fn delete_chunks_from(&mut self, ino: u64, index: u64) {
        self.ranges.push(TxnOp::DeleteRange {
            start: self.keys.chunk(ino, index),
            end: prefix_end(&self.keys.chunks(ino)),
        });
    }

    /// Deletes the data chunks of `ino` with index in `[from, to)` (guarded through the
    /// inode, which every data change rewrites).
    pub(crate) fn delete_chunk_range(&mut self, ino: u64, from: u64, to: u64) {
        self.ranges.push(TxnOp::DeleteRange {
            start: self.keys.chunk(ino, from),
            end: self.keys.chunk(ino, to),
        });
    }

    /// Any other key (an xattr), guarded.
    pub(crate) async fn other(&mut self, key: Vec<u8>) -> Result<Option<Vec<u8>>, FsError> {
        self.read_guarded(key).await
    }

    /// Writes (`Some`) or deletes (`None`) a key read through [`Plan::other`].
    pub(crate) fn set_other(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let op = match value {
            Some(value) => TxnOp::Put {
                key: key.clone(),
                value,
                lease: None,
            },
            None => TxnOp::Delete { key: key.clone() },
        };
        self.other.insert(key, op);
    }

    /// Adds a raw guard.
    pub(crate) fn guard(&mut self, compare: Compare) {
        self.compares.insert(compare.key.clone(), compare);
    }

    /// The single transaction: all guards, then all buffered writes.
    pub(crate) fn build(self) -> Txn {
        let mut then = Vec::new();
        for (ino, slot) in self.inodes {
            if !slot.dirty {
                continue;
            }
            let key = self.keys.inode(ino);
            then.push(match slot.value {
                Some(inode) => TxnOp::Put {
                    key,
                    value: inode.encode(),
                    lease: None,
                },
                None => TxnOp::Delete { key },
            });
        }
        for (key, slot) in self.entries {
            if !slot.dirty {
                continue;
            }
            then.push(match slot.value {
                Some(e) => TxnOp::Put {
                    key,
                    value: e.encode(),
                    lease: None,
                },
                None => TxnOp::Delete { key },
            });
        }
        then.extend(self.other.into_values());
        then.extend(self.ranges);
        Txn {
            compares: self.compares.into_values().collect(),
            then,
            otherwise: Vec::new(),
        }
    }
}
