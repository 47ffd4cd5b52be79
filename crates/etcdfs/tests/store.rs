//! The etcd store against a real 3-member cluster: the trait's calls, connect errors, calls
//! bounded by the timeout when two members are SIGSTOPped and working again on the same client
//! after SIGCONT, and a full quota mapped to NoSpace (ENOSPC).

mod common;

use std::time::{Duration, Instant};

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::store::{
    prefix_end, CmpOp, CmpTarget, Compare, EtcdConfig, EtcdStore, EventKind, Store, StoreError,
    Txn, TxnOp, WatchStream,
};

use common::{deadline, env};

fn put(key: &[u8], value: &[u8]) -> TxnOp {
    TxnOp::Put {
        key: key.to_vec(),
        value: value.to_vec(),
        lease: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_range_txn_watch_and_leases() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    let s = &env.store;
    deadline(60, async {
        let watch_from = s.status().await.unwrap().revision + 1;
        let mut watch = s
            .watch(b"/w/", &prefix_end(b"/w/"), watch_from)
            .await
            .unwrap();
        // A guarded create, then the same guard fails.
        let create = Txn {
            compares: vec![Compare::absent(b"/w/a".to_vec())],
            then: vec![put(b"/w/a", b"1"), put(b"/w/b", b"2")],
            otherwise: vec![],
        };
        assert!(s.txn(create.clone()).await.unwrap().succeeded);
        assert!(!s.txn(create).await.unwrap().succeeded);
        let a = s.get(b"/w/a").await.unwrap().unwrap();
        assert_eq!((a.value.as_slice(), a.version), (&b"1"[..], 1));
        assert_eq!(s.get(b"/w/zz").await.unwrap(), None);

        // Compares on mod_revision and value; a failed compare runs `otherwise`.
        let t = Txn {
            compares: vec![
                Compare::mod_revision(b"/w/a".to_vec(), a.mod_revision),
                Compare::value(b"/w/b".to_vec(), b"2".to_vec()),
                Compare {
                    key: b"/w/a".to_vec(),
                    op: CmpOp::Greater,
                    target: CmpTarget::Version(0),
                },
            ],
            then: vec![put(b"/w/c", b"3")],
            otherwise: vec![],
        };
        assert!(s.txn(t).await.unwrap().succeeded);
        let t = Txn {
            compares: vec![Compare::value(b"/w/b".to_vec(), b"nope".to_vec())],
            then: vec![],
            otherwise: vec![put(b"/w/else", b"")],
        };
        assert!(!s.txn(t).await.unwrap().succeeded);
        assert!(s.get(b"/w/else").await.unwrap().is_some());

        // Range with a limit, then the rest.
        let end = prefix_end(b"/w/");
        let r = s.range(b"/w/", &end, 2, 0).await.unwrap();
        assert_eq!(r.kvs.len(), 2);
        assert!(r.more);
        let mut next = r.kvs[1].key.clone();
        next.push(0);
        let r2 = s.range(&next, &end, 0, 0).await.unwrap();
        assert_eq!(r2.kvs.len(), 2);
        assert!(!r2.more);

        // Delete a range; the watch saw everything in order.
        let t = Txn {
            compares: vec![],
            then: vec![TxnOp::DeleteRange {
                start: b"/w/".to_vec(),
                end: end.clone(),
            }],
            otherwise: vec![],
        };
        assert!(s.txn(t).await.unwrap().succeeded);
        let mut seen = Vec::new();
        while seen.len() < 8 {
            let batch = watch.next().await.unwrap().expect("watch ended");
            seen.extend(batch.events.into_iter().map(|e| (e.kind, e.kv.key)));
        }
        let puts = seen.iter().filter(|(k, _)| *k == EventKind::Put).count();
        assert_eq!((puts, seen.len() - puts), (4, 4), "{seen:?}");

        // A key attached to a lease lives while the lease is kept alive and goes with it.
        let lease = s.lease_grant(2).await.unwrap();
        let t = Txn {
            compares: vec![],
            then: vec![TxnOp::Put {
                key: b"/l/k".to_vec(),
                value: vec![],
                lease: Some(lease),
            }],
            otherwise: vec![],
        };
        s.txn(t).await.unwrap();
        assert_eq!(s.get(b"/l/k").await.unwrap().unwrap().lease, Some(lease));
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert!(s.lease_keep_alive(lease).await.unwrap() > 0);
        }
        assert!(s.get(b"/l/k").await.unwrap().is_some());
        s.lease_revoke(lease).await.unwrap();
        assert!(s.get(b"/l/k").await.unwrap().is_none());
        assert_eq!(s.lease_keep_alive(lease).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_name_the_endpoints_on_one_line() {
    let config = EtcdConfig::new("127.0.0.1:1,http://127.0.0.1:2").timeout(Duration::from_secs(1));
    let start = Instant::now();
    let err = deadline(10, EtcdStore::connect(&config)).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{msg}");
    assert!(
        msg.contains("http://127.0.0.1:1, http://127.0.0.1:2"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
    assert!(start.elapsed() < Duration::from_secs(5));
    let bad = EtcdStore::connect(&EtcdConfig::new("nohostport"))
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::Endpoint(_)), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_majority_fails_calls_within_the_timeout_then_recovers() {
    let Some(mut env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let timeout = Duration::from_millis(1500);
        let config = EtcdConfig::new(env.cluster.endpoints_arg()).timeout(timeout);
        let s = EtcdStore::connect(&config).await.unwrap();
        let t = Txn {
            compares: vec![],
            then: vec![put(b"/q/k", b"v")],
            otherwise: vec![],
        };
        s.txn(t.clone()).await.unwrap();
        env.cluster.stop(0).unwrap();
        env.cluster.stop(1).unwrap();
        // Every call fails, none later than its timeout (plus scheduling slack).
        for _ in 0..2 {
            let start = Instant::now();
            let get = s.get(b"/q/k").await;
            let txn = s.txn(t.clone()).await;
            let took = start.elapsed();
            let (Err(ge), Err(te)) = (&get, &txn) else {
                panic!("calls succeeded without quorum: {get:?} {txn:?}");
            };
            assert_eq!((ge.errno(), te.errno()), (libc::EIO, libc::EIO));
            assert!(
                took < 2 * timeout + Duration::from_millis(500),
                "took {took:?}"
            );
        }
        env.cluster.cont(0).unwrap();
        env.cluster.cont(1).unwrap();
        // The same client works again once a leader is back.
        let start = Instant::now();
        loop {
            match s.txn(t.clone()).await {
                Ok(r) if r.succeeded => break,
                other => assert!(
                    start.elapsed() < Duration::from_secs(15),
                    "no recovery after SIGCONT: {other:?}"
                ),
            }
        }
        assert_eq!(s.get(b"/q/k").await.unwrap().unwrap().value, b"v");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_quota_is_nospace() {
    let options = ClusterOptions::default().quota_backend_bytes(4 << 20);
    let Some(env) = env(options).await else {
        return;
    };
    let s = &env.store;
    deadline(60, async {
        let blob = vec![7u8; 256 << 10];
        let mut err = None;
        for i in 0..200 {
            let t = Txn {
                compares: vec![],
                then: vec![put(format!("/big/{i}").as_bytes(), &blob)],
                otherwise: vec![],
            };
            if let Err(e) = s.txn(t).await {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("a 4 MiB quota never filled");
        assert!(matches!(err, StoreError::NoSpace), "{err}");
        assert_eq!(err.errno(), libc::ENOSPC);
        // Reads still work.
        assert!(s.get(b"/big/0").await.unwrap().is_some());
    })
    .await;
}
