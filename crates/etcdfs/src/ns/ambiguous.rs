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

/// What became of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Applied at this revision.
    Applied(i64),
    /// Applied, as a verification found; its revision is not known.
    AppliedAtUnknownRevision,
    /// Not applied (its compares failed, or it never took effect): plan again.
    NotApplied,
}

impl Outcome {
    /// Whether the transaction took effect.
    pub(crate) fn applied(self) -> bool {
        self != Outcome::NotApplied
    }
}

/// Runs `txn` and finds out whether it was applied. An ambiguous failure is resolved by
/// [`verification`]; so is a full quota, because etcd applies the transaction that crosses
/// the quota and only then answers "no space" (later ones it refuses before applying): if the
/// verification finds it applied, it succeeded; if not, the answer is ENOSPC.
pub(crate) async fn commit<S: Store>(store: &S, txn: Txn) -> Result<Outcome, FsError> {
    let check = verification(&txn);
    let failure = match store.txn(txn).await {
        Ok(r) if r.succeeded => return Ok(Outcome::Applied(r.revision)),
        Ok(_) => return Ok(Outcome::NotApplied),
        Err(e @ (StoreError::Ambiguous(_) | StoreError::NoSpace)) => e,
        Err(e) => return Err(e.into()),
    };
    let Some(check) = check else {
        return Err(failure.into());
    };
    let applied = store.txn(check).await?.succeeded;
    tracing::info!(applied, cause = %failure, "resolved a transaction of unknown outcome");
    match (applied, failure) {
        (true, _) => Ok(Outcome::AppliedAtUnknownRevision),
        (false, StoreError::NoSpace) => Err(StoreError::NoSpace.into()),
        (false, _) => Ok(Outcome::NotApplied),
    }
}

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
