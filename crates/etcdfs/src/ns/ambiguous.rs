//! Committing a transaction whose outcome may be unknown. When the connection to the member
//! that took a transaction breaks before the answer arrives (that member was killed, say), the
//! store fails it with [`StoreError::Ambiguous`]: it may or may not have been applied. Sending
//! it again is wrong either way: its guards would then see its own effects and the operation
//! would answer EEXIST or ENOENT for a change that in fact succeeded.
//!
//! Instead [`commit`] asks the cluster whether the transaction took effect, with a second,
//! read-only transaction (which the store may resend freely): every key the first one put holds
//! exactly the value it put, and every key it deleted is absent. Every namespace transaction
//! puts at least one record that carries a fresh nanosecond timestamp (an inode's ctime, a
//! directory's mtime) or a counter that only grows, so a match means "applied", not "someone
//! else wrote the same bytes". A mismatch means "not applied" (or applied and already changed
//! again by someone else, which the caller's fresh plan then sees as any later change): the
//! caller plans again. Range deletes are not verified; they only come with an inode deletion,
//! which is.
//!
//! The verification is a linearizable read, so it sees every transaction committed before it.
//! A proposal lost with a dying leader is never committed later: a new leader commits the
//! entries it holds before it serves reads. What remains is a write that timed out while it
//! still waits in a slow but live cluster's log: it may be applied after the verification said
//! no, and the operation's second attempt then conflicts and plans a third time, which can
//! answer EEXIST or ENOENT. etcd clients share this limit; a shorter store timeout than the
//! cluster's commit latency makes it likelier.

use super::FsError;
use crate::store::{CmpOp, CmpTarget, Compare, Store, StoreError, Txn, TxnOp};

/// Runs `txn`; `Ok(true)` when it was applied (its compares held), `Ok(false)` when it was not
/// and the caller should plan again. An ambiguous failure is resolved by [`verification`].
pub(crate) async fn commit<S: Store>(store: &S, txn: Txn) -> Result<bool, FsError> {
    let check = verification(&txn);
    match store.txn(txn).await {
        Ok(r) => Ok(r.succeeded),
        Err(StoreError::Ambiguous(why)) => {
            let Some(check) = check else {
                return Err(StoreError::Ambiguous(why).into());
            };
            let applied = store.txn(check).await?.succeeded;
            tracing::info!(applied, cause = %why, "resolved a transaction of unknown outcome");
            Ok(applied)
        }
        Err(e) => Err(e.into()),
    }
}

/// The read-only transaction whose compares hold exactly when `txn`'s writes are in place;
/// `None` when `txn` writes nothing it could check.
fn verification(txn: &Txn) -> Option<Txn> {
    let compares: Vec<Compare> = txn
        .then
        .iter()
        .filter_map(|op| match op {
            TxnOp::Put { key, value, .. } => Some(Compare::value(key.clone(), value.clone())),
            TxnOp::Delete { key } => Some(Compare {
                key: key.clone(),
                op: CmpOp::Equal,
                target: CmpTarget::Version(0),
            }),
            TxnOp::DeleteRange { .. } => None,
        })
        .collect();
    (!compares.is_empty()).then(|| Txn {
        compares,
        then: Vec::new(),
        otherwise: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::verification;
    use crate::store::{CmpTarget, Txn, TxnOp};

    #[test]
    fn verification_checks_every_put_and_delete_but_no_range() {
        let txn = Txn {
            compares: Vec::new(),
            then: vec![
                TxnOp::Put {
                    key: b"a".to_vec(),
                    value: b"1".to_vec(),
                    lease: None,
                },
                TxnOp::Delete { key: b"b".to_vec() },
                TxnOp::DeleteRange {
                    start: b"c".to_vec(),
                    end: b"d".to_vec(),
                },
            ],
            otherwise: Vec::new(),
        };
        let check = verification(&txn).expect("a check");
        assert!(check.then.is_empty() && check.otherwise.is_empty());
        assert_eq!(check.compares.len(), 2);
        assert_eq!(check.compares[0].target, CmpTarget::Value(b"1".to_vec()));
        assert_eq!(check.compares[1].target, CmpTarget::Version(0));
        let only_range = Txn {
            then: txn.then[2..].to_vec(),
            ..Txn::default()
        };
        assert!(verification(&only_range).is_none());
    }
}
