//! Transactions of unknown outcome, deterministically: a store wrapping a real cluster's client
//! answers one chosen write transaction with `StoreError::Ambiguous` (what a connection broken
//! after sending gives), either after running it ("applied, answer lost") or without running
//! it ("lost"). Every namespace change must then succeed exactly once: not answer EEXIST or
//! ENOENT for its own effects, not apply twice, and leave the checker clean.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::ns::{Namespace, NewNode, RenameFlags};
use fusekit_etcdfs::schema::ROOT_INO;
use fusekit_etcdfs::store::{
    EtcdStore, KeyValue, LeaseId, RangeResult, Store, StoreError, Txn, TxnResult,
};

use common::{assert_clean, deadline, env, none_open};

/// What happens to the next write transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// Runs, then its answer is lost.
    AppliedThenLost,
    /// Never reaches the cluster, but the caller cannot tell.
    Lost,
}

/// [`EtcdStore`] with one injectable fault on write transactions.
#[derive(Clone)]
struct Flaky {
    inner: EtcdStore,
    next: Arc<Mutex<Fault>>,
    fired: Arc<AtomicUsize>,
}

impl Flaky {
    fn arm(&self, fault: Fault) {
        *self.next.lock().unwrap() = fault;
    }
}

impl Store for Flaky {
    type Watch = <EtcdStore as Store>::Watch;

    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        self.inner.get(key).await
    }

    async fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.inner.range(start, end, limit, revision).await
    }

    async fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.inner.range_keys(start, end, limit, revision).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResult, StoreError> {
        let fault = if txn.then.is_empty() {
            Fault::None
        } else {
            std::mem::replace(&mut *self.next.lock().unwrap(), Fault::None)
        };
        if fault != Fault::None {
            self.fired.fetch_add(1, Ordering::SeqCst);
        }
        match fault {
            Fault::None => self.inner.txn(txn).await,
            Fault::AppliedThenLost => {
                self.inner.txn(txn).await?;
                Err(StoreError::Ambiguous("injected: answer lost".into()))
            }
            Fault::Lost => Err(StoreError::Ambiguous("injected: request lost".into())),
        }
    }

    async fn watch(&self, start: &[u8], end: &[u8], from: i64) -> Result<Self::Watch, StoreError> {
        self.inner.watch(start, end, from).await
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<LeaseId, StoreError> {
        self.inner.lease_grant(ttl_secs).await
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<i64, StoreError> {
        self.inner.lease_keep_alive(lease).await
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.inner.lease_revoke(lease).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_succeeds_once_whatever_became_of_its_answer() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let p = "/ambiguous/";
        let store = Flaky {
            inner: env.store.clone(),
            next: Arc::new(Mutex::new(Fault::None)),
            fired: Arc::new(AtomicUsize::new(0)),
        };
        let ns = Namespace::new(store.clone(), p.as_bytes().to_vec(), None);
        ns.format(0, 0).await.expect("format");
        let file = || NewNode::new(libc::S_IFREG | 0o644, 0, 0);
        // The inode allocator takes its first batch now, so the faults below hit the
        // namespace transactions themselves.
        ns.create(ROOT_INO, b"warm", file()).await.unwrap();

        for fault in [Fault::AppliedThenLost, Fault::Lost] {
            let tag = if fault == Fault::Lost {
                "lost"
            } else {
                "applied"
            };
            let name = |s: &str| format!("{s}-{tag}").into_bytes();

            store.arm(fault);
            let (ino, _) = ns
                .create(ROOT_INO, &name("file"), file())
                .await
                .unwrap_or_else(|e| panic!("create ({fault:?}): {e}"));
            assert_eq!(ns.lookup(ROOT_INO, &name("file")).await.unwrap().0, ino);

            store.arm(fault);
            ns.write(ino, 0, b"payload")
                .await
                .unwrap_or_else(|e| panic!("write ({fault:?}): {e}"));
            assert_eq!(ns.read(ino, 0, 100).await.unwrap(), b"payload");

            store.arm(fault);
            let (dir, _) = ns
                .mkdir(ROOT_INO, &name("dir"), 0o755, 0, 0)
                .await
                .unwrap_or_else(|e| panic!("mkdir ({fault:?}): {e}"));

            store.arm(fault);
            ns.rename(
                ROOT_INO,
                &name("file"),
                dir,
                b"moved",
                RenameFlags::default(),
                &none_open,
            )
            .await
            .unwrap_or_else(|e| panic!("rename ({fault:?}): {e}"));
            assert_eq!(ns.lookup(dir, b"moved").await.unwrap().0, ino);
            assert!(ns.lookup(ROOT_INO, &name("file")).await.is_err());

            store.arm(fault);
            ns.unlink(dir, b"moved", &none_open)
                .await
                .unwrap_or_else(|e| panic!("unlink ({fault:?}): {e}"));
            assert!(ns.lookup(dir, b"moved").await.is_err());

            store.arm(fault);
            ns.rmdir(ROOT_INO, &name("dir"), &none_open)
                .await
                .unwrap_or_else(|e| panic!("rmdir ({fault:?}): {e}"));
        }
        assert_eq!(store.fired.load(Ordering::SeqCst), 12, "faults injected");
        let names: Vec<Vec<u8>> = ns
            .readdir(ROOT_INO, b"", 0)
            .await
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec![b"warm".to_vec()]);
        assert_clean(&env.store, p).await;
    })
    .await;
}
