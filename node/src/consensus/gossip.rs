//! Entry gossip and status beacons on their own p2p channel.
//!
//! An entry submitted at one node is validated there and sent to every peer, which validates
//! it again before admitting it to its own mempool, so whichever validator leads next can
//! include it. A peer that sends bytes that do not decode as an entry, or an entry that fails
//! the stateless checks (which every honest node ran before sending it, with the same
//! verdict: they depend only on the entry's bytes and the genesis), is lying and is blocked:
//! disconnected, and its connections refused from then on. Entries that fail against the
//! ledger are dropped but not blamed: the ledger may have moved between the sender's check and
//! this one. Every few seconds each node also announces its finalized height and head,
//! which feeds `status.peers` and the console's view of the consortium.
//!
//! Message: `u8 tag` then, for an entry (tag 0), the entry bytes; for a status (tag 1),
//! `u64_be(height) || head (32)`.

use std::sync::Arc;
use std::time::Duration;

use commonware_macros::select;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner};
use futures::StreamExt as _;
use futures::channel::mpsc;

use super::PublicKey;
use crate::ledger::Entry;
use crate::ledger::entry::MAX_ENTRY_LEN;
use crate::state::NodeState;

/// Largest gossip message.
pub const MAX_GOSSIP_MESSAGE: usize = MAX_ENTRY_LEN + 1;
/// How often a node announces its status.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(1);

const TAG_ENTRY: u8 = 0;
const TAG_STATUS: u8 = 1;

/// Sends entries to peers.
#[derive(Debug, Clone)]
pub struct GossipHandle {
    outbound: mpsc::UnboundedSender<Vec<u8>>,
}

impl GossipHandle {
    /// A handle whose entries reach no peer: a node alone in a test or a benchmark, whose
    /// store the caller writes itself.
    #[cfg(any(test, feature = "testkit"))]
    pub fn disconnected() -> Self {
        let (outbound, _) = mpsc::unbounded::<Vec<u8>>();
        Self { outbound }
    }

    /// Sends an admitted entry to every peer.
    pub fn broadcast_entry(&self, bytes: &[u8]) {
        let mut message = Vec::with_capacity(1 + bytes.len());
        message.push(TAG_ENTRY);
        message.extend_from_slice(bytes);
        let _ = self.outbound.unbounded_send(message);
    }
}

/// Starts the gossip task; `blocker` blocks the peers that lie (see the module docs).
pub fn start<E, S, R, B>(
    context: E,
    state: Arc<NodeState>,
    (mut sender, mut receiver): (S, R),
    mut blocker: B,
) -> (GossipHandle, Handle<()>)
where
    E: Spawner + Clock,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let (outbound, mut queue) = mpsc::unbounded::<Vec<u8>>();
    let handle = context.spawn(move |context| async move {
        let mut beacon = context.current() + STATUS_INTERVAL;
        loop {
            select! {
                message = queue.next() => {
                    let Some(message) = message else { break };
                    sender.send(Recipients::All, message, false);
                },
                received = receiver.recv() => {
                    let Ok((peer, message)) = received else { break };
                    if let Some(lie) = receive(&state, &peer, message.as_ref()) {
                        tracing::warn!(%peer, %lie, "blocking a peer that gossiped a lie");
                        state.metrics.peer_blocked();
                        #[allow(clippy::disallowed_methods)]
                        let _ = blocker.block(peer);
                    }
                },
                _ = context.sleep_until(beacon) => {
                    beacon = context.current() + STATUS_INTERVAL;
                    if let Ok(Some((height, head))) = state.store.head() {
                        let mut message = Vec::with_capacity(41);
                        message.push(TAG_STATUS);
                        message.extend_from_slice(&height.to_be_bytes());
                        message.extend_from_slice(&head);
                        sender.send(Recipients::All, message, false);
                    }
                },
            }
        }
    });
    (GossipHandle { outbound }, handle)
}

/// What a peer gossiped that no honest node sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Lie {
    #[error("an entry that does not decode")]
    Malformed,
    #[error("an entry that fails the stateless checks: {0}")]
    Invalid(String),
}

/// Handles one gossip message from `peer`; a lie is returned for the caller to block the peer.
fn receive(state: &NodeState, peer: &PublicKey, message: &[u8]) -> Option<Lie> {
    let (&tag, body) = message.split_first()?;
    let member = state
        .genesis
        .member_by_consensus_key(peer)
        .map(|m| m.id.clone())?;
    match tag {
        TAG_ENTRY => {
            let Ok(entry) = Entry::decode(body) else {
                return Some(Lie::Malformed);
            };
            if let Err(rejection) = state.check_stateless_cached(&entry, &entry.digest()) {
                state.metrics.rejected(&rejection);
                return Some(Lie::Invalid(rejection.to_string()));
            }
            if let Err(error) = state.admit_decoded(entry, body.len()) {
                tracing::debug!(peer = %member, %error, "gossiped entry not admitted");
            }
            None
        }
        TAG_STATUS if body.len() == 40 => {
            let mut height = [0u8; 8];
            height.copy_from_slice(&body[..8]);
            let mut head = [0u8; 32];
            head.copy_from_slice(&body[8..]);
            state.peer_status(member, u64::from_be_bytes(height), head);
            None
        }
        _ => {
            tracing::debug!(peer = %member, "malformed gossip message");
            None
        }
    }
}
