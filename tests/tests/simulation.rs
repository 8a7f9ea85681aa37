//! Deterministic simulations of a consortium: commonware's deterministic runtime and simulated
//! network, the real consensus engine, in-memory stores.
//!
//! Checked after every run: honest nodes never finalize different blocks at one height, every
//! finalized entry passes validation, every submitted entry is finalized, and a run replays
//! exactly from its seed. `VEIL_SIM_SEEDS=N` runs N seeds instead of the bounded CI number:
//!
//! ```text
//! VEIL_SIM_SEEDS=10000 cargo test --release -p veil-tests --test simulation -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use commonware_macros::select;
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{Clock, Metrics, Runner, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::NZUsize;
use veil_node::consensus::{self, Timing, channel};
use veil_node::ledger::{Block, Entry};
use veil_node::runner::{self, NodeChannels};
use veil_node::state::{NodeMetrics, NodeState};
use veil_node::store::Store;
use veil_node::store::memory::MemoryStore;
use veil_node::testkit::{FaultyStore, InvalidProposer, StoreFault, TestConsortium};
use veil_node::validation::Validator;

/// What can go wrong in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Nothing: all validators honest, links reliable.
    None,
    /// Validator 0 proposes blocks with invalid entries and votes for anything.
    InvalidProposer,
    /// Validator 0 signs conflicting votes (two notarizes, two finalizes) in every view.
    Equivocator,
    /// Links drop 10% of messages.
    Lossy,
    /// Validators {0, 1} and {2, 3} cannot talk for a while, then the partition heals.
    Partition,
    /// The faulty validators never start (crashed, or silent from the first message).
    Silent,
    /// The faulty validators replay: they re-sign and re-send votes for proposals of views
    /// long past.
    Outdated,
    /// The last validator's store fails when writing block 2.
    StoreFail,
    /// The last validator's store tears the write of block 2 (part written, then an error).
    StoreTear,
    /// The faulty validators take no part in consensus and gossip lies: bytes that are not an
    /// entry, and their own signed entry with its signature broken.
    LyingGossiper,
}

/// What a run left behind.
#[derive(Debug)]
struct Outcome {
    /// Per honest node: height → block digest.
    chains: Vec<BTreeMap<u64, [u8; 32]>>,
    /// Per honest node: whether every submitted entry is stored.
    complete: Vec<bool>,
    /// Per honest node: entries that fail re-validation.
    invalid: Vec<usize>,
    /// Per honest node: entries refused for a bad proof (proposed by a faulty leader).
    refused_proofs: Vec<u64>,
    /// Per honest node: peers it blocked for gossiping lies.
    peers_blocked: Vec<u64>,
    /// The node with a broken store, if any: why it halted, its head height, and what a
    /// restart's integrity check says of its store.
    broken_store: Option<BrokenStore>,
}

/// Why the node with the broken store halted, its head height, and what a restart's
/// integrity check says.
type BrokenStore = (Option<String>, Option<u64>, Result<(), String>);

fn link(success: f64) -> Link {
    Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(5),
        success_rate: success.try_into().expect("probability"),
    }
}

fn timing() -> Timing {
    Timing {
        leader_timeout: Duration::from_secs(1),
        certification_timeout: Duration::from_millis(1500),
        timeout_retry: Duration::from_secs(2),
        idle_wait: Duration::from_millis(200),
    }
}

/// Runs the consortium from `seed` with validators `0..faulty` faulty as `fault` says
/// (`Lossy` and `Partition` affect the links, not validators).
fn run(
    seed: u64,
    consortium: &TestConsortium,
    entries: &[Entry],
    fault: Fault,
    faulty: usize,
) -> Outcome {
    // The faulty proposer's entry: a loan no honest node is asked to submit.
    let bad = consortium.loan(0, 999_999, 100_000, &[(1, 5000)]);
    let n = consortium.members.len();
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(900)));
    let consortium = consortium.clone();
    let entries: Vec<Vec<u8>> = entries.iter().map(Entry::encode).collect();
    deterministic::Runner::new(config).start(|context| async move {
        let participants: Vec<_> = consortium
            .members
            .iter()
            .map(|m| commonware_cryptography::Signer::public_key(&m.consensus))
            .collect();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::max_message_size(n as u32),
                max_peers_per_set: NZUsize!(n),
                disconnect_on_block: false,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.clone(),
        )
        .await;
        network.start();
        let success = if fault == Fault::Lossy { 0.9 } else { 1.0 };
        for a in &participants {
            for b in &participants {
                if a != b {
                    oracle
                        .add_link(a.clone(), b.clone(), link(success))
                        .await
                        .unwrap();
                }
            }
        }

        let mut nodes = Vec::new();
        for (i, member) in consortium.members.iter().enumerate() {
            let node_context = context.child("node").with_attribute("member", &member.id);
            let broken_store = i == n - 1 && matches!(fault, Fault::StoreFail | Fault::StoreTear);
            let store: Arc<dyn Store> = if broken_store {
                let mode = if fault == Fault::StoreTear {
                    StoreFault::Tear
                } else {
                    StoreFault::Fail
                };
                Arc::new(FaultyStore::new(2, mode))
            } else {
                Arc::new(MemoryStore::new())
            };
            let state = Arc::new(NodeState::new(
                Validator::new(consortium.genesis.clone()).unwrap(),
                member.id.clone(),
                store,
                NodeMetrics::register(&node_context.child("veil")),
            ));
            let control = oracle.control(participants[i].clone());
            let mut pairs = Vec::new();
            for id in 0..=channel::GOSSIP {
                pairs.push(control.register(id, consensus::quota(id)).await.unwrap());
            }
            let mut pairs = pairs.into_iter();
            let mut next = || pairs.next().unwrap();
            let channels = NodeChannels {
                consensus: consensus::Channels {
                    votes: next(),
                    certificates: next(),
                    resolver: next(),
                    backfill: next(),
                    broadcast: next(),
                },
                gossip: next(),
            };
            let faulty_here = i < faulty;
            let byzantine = faulty_here
                && matches!(
                    fault,
                    Fault::InvalidProposer | Fault::Equivocator | Fault::Silent | Fault::Outdated
                );
            let partition = format!("node-{i}");
            if faulty_here && fault == Fault::LyingGossiper {
                let (mut sender, _receiver) = channels.gossip;
                let mut forged = bad.encode();
                let last = forged.len() - 1;
                forged[last] ^= 0x01;
                let lies = [
                    [vec![0u8], forged].concat(),
                    vec![0u8, 0xde, 0xad, 0xbe, 0xef],
                ];
                node_context.child("liar").spawn(move |context| async move {
                    for round in 0..40 {
                        let lie = lies[round % lies.len()].clone();
                        let _ = commonware_p2p::Sender::send(
                            &mut sender,
                            commonware_p2p::Recipients::All,
                            lie,
                            false,
                        );
                        context.sleep(Duration::from_millis(50)).await;
                    }
                });
                nodes.push((true, None));
                continue;
            }
            if faulty_here && fault == Fault::Silent {
                nodes.push((true, None));
                continue;
            }
            if faulty_here && fault == Fault::Outdated {
                let scheme = consensus::Scheme::signer(
                    consensus::CONSENSUS_NAMESPACE,
                    runner::validators(&consortium.genesis).unwrap(),
                    member.consensus.clone(),
                )
                .unwrap();
                let outdated = commonware_consensus::simplex::mocks::outdated::Outdated::<
                    _,
                    _,
                    commonware_cryptography::Sha256,
                >::new(
                    node_context.child("outdated"),
                    commonware_consensus::simplex::mocks::outdated::Config {
                        scheme,
                        view_delta: commonware_consensus::types::ViewDelta::new(3),
                    },
                );
                outdated.start(channels.consensus.votes);
                nodes.push((true, None));
                continue;
            }
            if faulty_here && fault == Fault::Equivocator {
                let scheme = consensus::Scheme::signer(
                    consensus::CONSENSUS_NAMESPACE,
                    runner::validators(&consortium.genesis).unwrap(),
                    member.consensus.clone(),
                )
                .unwrap();
                let conflicter = commonware_consensus::simplex::mocks::conflicter::Conflicter::<
                    _,
                    _,
                    commonware_cryptography::Sha256,
                >::new(
                    node_context.child("conflicter"),
                    commonware_consensus::simplex::mocks::conflicter::Config { scheme },
                );
                conflicter.start(channels.consensus.votes);
                nodes.push((true, None));
                continue;
            }
            let running = if byzantine {
                let bad = InvalidProposer::new(&participants[i], &bad, &member.signing);
                runner::start_with(
                    node_context.child("validator"),
                    state.clone(),
                    member.consensus.clone(),
                    oracle.manager(),
                    control.clone(),
                    channels,
                    timing(),
                    partition,
                    move |_honest| bad,
                )
                .await
            } else {
                runner::start(
                    node_context.child("validator"),
                    state.clone(),
                    member.consensus.clone(),
                    oracle.manager(),
                    control.clone(),
                    channels,
                    timing(),
                    partition,
                )
                .await
            }
            .expect("node starts");
            nodes.push((byzantine || broken_store, Some(running)));
        }

        if fault == Fault::Partition {
            for a in 0..2 {
                for b in 2..4 {
                    let (pa, pb) = (participants[a].clone(), participants[b].clone());
                    oracle.remove_link(pa.clone(), pb.clone()).await.unwrap();
                    oracle.remove_link(pb, pa).await.unwrap();
                }
            }
        }

        // Submit entries round-robin through the honest nodes, a few at a time.
        let honest: Vec<usize> = (0..n).filter(|i| !nodes[*i].0).collect();
        for (k, bytes) in entries.iter().enumerate() {
            let node = &nodes[honest[k % honest.len()]].1.as_ref().unwrap();
            if node.state.admit(bytes).is_ok() {
                node.gossip.broadcast_entry(bytes);
            }
            context.sleep(Duration::from_millis(20)).await;
        }

        if fault == Fault::Partition {
            context.sleep(Duration::from_secs(10)).await;
            for a in 0..2 {
                for b in 2..4 {
                    oracle
                        .add_link(participants[a].clone(), participants[b].clone(), link(1.0))
                        .await
                        .unwrap();
                    oracle
                        .add_link(participants[b].clone(), participants[a].clone(), link(1.0))
                        .await
                        .unwrap();
                }
            }
            // Entries submitted on the minority side may have been gossiped before the cut
            // only to it; resubmit everything that is not yet finalized anywhere.
            for (k, bytes) in entries.iter().enumerate() {
                let node = &nodes[honest[k % honest.len()]].1.as_ref().unwrap();
                if node.state.admit(bytes).is_ok() {
                    node.gossip.broadcast_entry(bytes);
                }
            }
        }

        // Wait until every honest node has every entry, or give up after a bound.
        let ids: Vec<_> = entries_decoded(&entries)
            .iter()
            .map(|e| e.header.id)
            .collect();
        let deadline = context.current() + Duration::from_secs(600);
        loop {
            let done = honest.iter().all(|i| {
                ids.iter().all(|id| {
                    nodes[*i]
                        .1
                        .as_ref()
                        .unwrap()
                        .state
                        .store
                        .contains(id)
                        .unwrap_or(false)
                })
            });
            if done || context.current() > deadline {
                break;
            }
            // Like a gateway, resubmit what is not finalized yet (a repayment is admitted
            // only once its loan is finalized).
            for (k, bytes) in entries.iter().enumerate() {
                let node = &nodes[honest[k % honest.len()]].1.as_ref().unwrap();
                if !node.state.store.contains(&ids[k]).unwrap_or(true)
                    && node.state.admit(bytes).is_ok()
                {
                    node.gossip.broadcast_entry(bytes);
                }
            }
            select! {
                _ = context.sleep(Duration::from_millis(250)) => {},
            }
        }

        let mut outcome = Outcome {
            chains: Vec::new(),
            complete: Vec::new(),
            invalid: Vec::new(),
            refused_proofs: Vec::new(),
            peers_blocked: Vec::new(),
            broken_store: None,
        };
        if matches!(fault, Fault::StoreFail | Fault::StoreTear) {
            let state = &nodes[n - 1].1.as_ref().unwrap().state;
            outcome.broken_store = Some((
                state.halted(),
                state.store.head().unwrap().map(|(height, _)| height),
                runner::check_head(state.store.as_ref()).map_err(|e| e.to_string()),
            ));
        }
        for i in &honest {
            let state = &nodes[*i].1.as_ref().unwrap().state;
            let (head, _) = state.store.head().unwrap().unwrap();
            let mut chain = BTreeMap::new();
            let mut invalid = 0;
            for height in 0..=head {
                let stored = state.store.block(height).unwrap().unwrap();
                chain.insert(height, stored.digest);
                let block =
                    <Block as commonware_codec::DecodeExt<()>>::decode(stored.block.clone())
                        .unwrap();
                for entry in &block.entries {
                    if state.validator.check_stateless(entry).is_err() {
                        invalid += 1;
                    }
                }
            }
            outcome.chains.push(chain);
            outcome.complete.push(
                ids.iter()
                    .all(|id| state.store.contains(id).unwrap_or(false)),
            );
            outcome.invalid.push(invalid);
            outcome
                .refused_proofs
                .push(state.metrics.rejections("proof"));
            outcome
                .peers_blocked
                .push(state.metrics.peers_blocked_total());
        }
        let _ = context.encode();
        outcome
    })
}

fn entries_decoded(entries: &[Vec<u8>]) -> Vec<Entry> {
    entries.iter().map(|b| Entry::decode(b).unwrap()).collect()
}

fn workload(consortium: &TestConsortium, loans: u32) -> Vec<Entry> {
    let mut entries = Vec::new();
    for k in 0..loans {
        let originator = (k as usize) % consortium.members.len();
        let partner = (originator + 1) % consortium.members.len();
        let loan = consortium.loan(
            originator,
            k,
            300_000 + u64::from(k) * 1000,
            &[(partner, 7000)],
        );
        let repayment = consortium.repayment(&loan, 27_000, "2026-11");
        entries.push(loan);
        entries.push(repayment);
    }
    entries
}

/// Every invariant a run broke:
/// - safety: honest chains agree height by height on their common prefix (no fork);
/// - validity: every finalized entry passes validation again;
/// - progress: every submitted entry was finalized on every honest node (after healing).
fn violations(outcome: &Outcome) -> Vec<String> {
    let mut found = Vec::new();
    let reference = &outcome.chains[0];
    for (node, chain) in outcome.chains.iter().enumerate().skip(1) {
        for (height, digest) in chain {
            if reference.get(height).is_some_and(|other| other != digest) {
                found.push(format!("fork at height {height} (honest node {node})"));
            }
        }
    }
    for (node, invalid) in outcome.invalid.iter().enumerate() {
        if *invalid > 0 {
            found.push(format!(
                "{invalid} invalid entries finalized (honest node {node})"
            ));
        }
    }
    for (node, complete) in outcome.complete.iter().enumerate() {
        if !complete {
            found.push(format!("not every entry finalized (honest node {node})"));
        }
    }
    found
}

fn assert_healthy(outcome: &Outcome) {
    let found = violations(outcome);
    assert!(found.is_empty(), "{found:?}: {outcome:?}");
}

fn seeds() -> u64 {
    std::env::var("VEIL_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

#[test]
fn honest_consortium_finalizes_everything_and_replays_from_its_seed() {
    let consortium = TestConsortium::new(4, 1, 30_000);
    let entries = workload(&consortium, 3);
    let first = run(7, &consortium, &entries, Fault::None, 0);
    assert_healthy(&first);
    let again = run(7, &consortium, &entries, Fault::None, 0);
    assert_eq!(first.chains, again.chains, "same seed, same chain");
}

#[test]
fn an_invalid_proposer_never_gets_an_invalid_entry_finalized() {
    let consortium = TestConsortium::new(4, 2, 30_000);
    let entries = workload(&consortium, 3);
    for seed in 0..seeds() {
        let outcome = run(seed, &consortium, &entries, Fault::InvalidProposer, 1);
        assert_healthy(&outcome);
        // The faulty leader did propose: every honest node refused its invalid entry.
        assert!(
            outcome.refused_proofs.iter().all(|n| *n > 0),
            "the invalid proposals were never checked: {:?}",
            outcome.refused_proofs
        );
    }
    eprintln!(
        "an_invalid_proposer_never_gets_an_invalid_entry_finalized: {} seeds, no violation",
        seeds()
    );
}

#[test]
fn an_equivocating_validator_cannot_fork_the_ledger() {
    let consortium = TestConsortium::new(4, 4, 30_000);
    let entries = workload(&consortium, 2);
    for seed in 0..seeds() {
        assert_healthy(&run(seed, &consortium, &entries, Fault::Equivocator, 1));
    }
    eprintln!(
        "an_equivocating_validator_cannot_fork_the_ledger: {} seeds, no violation",
        seeds()
    );
}

#[test]
fn lossy_links_and_a_healed_partition_keep_safety_and_progress() {
    let consortium = TestConsortium::new(4, 3, 30_000);
    let entries = workload(&consortium, 2);
    for seed in 0..seeds() {
        assert_healthy(&run(seed, &consortium, &entries, Fault::Lossy, 0));
        assert_healthy(&run(seed, &consortium, &entries, Fault::Partition, 0));
    }
    eprintln!(
        "lossy_links_and_a_healed_partition_keep_safety_and_progress: {} seeds, no violation",
        seeds()
    );
}

/// A member that gossips lies (an entry whose signature it broke, bytes that are not an
/// entry) is blocked by every honest node, and the others finalize everything.
#[test]
fn a_member_gossiping_lies_is_blocked_and_the_others_carry_on() {
    let consortium = TestConsortium::new(4, 11, 30_000);
    let entries = workload(&consortium, 2);
    for seed in 0..seeds().min(8) {
        let outcome = run(seed, &consortium, &entries, Fault::LyingGossiper, 1);
        assert_healthy(&outcome);
        assert!(
            outcome.peers_blocked.iter().all(|&blocked| blocked >= 1),
            "seed {seed}: every honest node blocks the liar: {:?}",
            outcome.peers_blocked
        );
    }
}

#[test]
fn seven_validators_tolerate_two_byzantine_of_each_kind() {
    let consortium = TestConsortium::new(7, 5, 30_000);
    let entries = workload(&consortium, 2);
    for seed in 0..seeds() {
        for fault in [
            Fault::Equivocator,
            Fault::Silent,
            Fault::Outdated,
            Fault::InvalidProposer,
        ] {
            let outcome = run(seed, &consortium, &entries, fault, 2);
            let found = violations(&outcome);
            assert!(found.is_empty(), "seed {seed}, {fault:?}: {found:?}");
        }
    }
    eprintln!(
        "seven_validators_tolerate_two_byzantine_of_each_kind: {} seeds, no violation",
        seeds()
    );
}

#[test]
fn a_silent_or_replaying_validator_among_four_changes_nothing() {
    let consortium = TestConsortium::new(4, 6, 30_000);
    let entries = workload(&consortium, 2);
    for seed in 0..seeds() {
        assert_healthy(&run(seed, &consortium, &entries, Fault::Silent, 1));
        assert_healthy(&run(seed, &consortium, &entries, Fault::Outdated, 1));
    }
    eprintln!(
        "a_silent_or_replaying_validator_among_four_changes_nothing: {} seeds, no violation",
        seeds()
    );
}

/// Control: beyond the fault bound (f + 1 = 2 of 4 silent) no quorum forms, and the checker
/// reports the broken progress invariant — it is not a checker that always passes. Its fork
/// detection is checked on a forged pair of chains.
#[test]
fn control_beyond_the_fault_bound_the_checker_reports_a_violation() {
    let consortium = TestConsortium::new(4, 8, 30_000);
    let entries = workload(&consortium, 1);
    let outcome = run(3, &consortium, &entries, Fault::Silent, 2);
    let found = violations(&outcome);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("not every entry finalized")),
        "{found:?}"
    );

    let forked = Outcome {
        chains: vec![
            BTreeMap::from([(0, [0; 32]), (1, [1; 32])]),
            BTreeMap::from([(0, [0; 32]), (1, [2; 32])]),
        ],
        complete: vec![true, true],
        invalid: vec![0, 0],
        refused_proofs: vec![0, 0],
        peers_blocked: vec![0, 0],
        broken_store: None,
    };
    assert_eq!(
        violations(&forked),
        vec!["fork at height 1 (honest node 1)".to_owned()]
    );
}

/// A node whose store fails, or tears a write, halts instead of finalizing or serving past the
/// fault; the others carry on; and a restart over the torn store is refused by the integrity
/// check (the operator then restores or wipes it, and the node recovers from its peers: see
/// `processes.rs`).
#[test]
fn a_node_whose_store_fails_or_tears_halts_and_the_others_carry_on() {
    let consortium = TestConsortium::new(4, 9, 30_000);
    let entries = workload(&consortium, 3);
    for seed in 0..seeds() {
        for fault in [Fault::StoreFail, Fault::StoreTear] {
            let outcome = run(seed, &consortium, &entries, fault, 0);
            assert_healthy(&outcome);
            let (halted, head, restart) = outcome.broken_store.clone().unwrap();
            assert!(
                halted
                    .as_deref()
                    .is_some_and(|r| r.contains("injected I/O error")),
                "seed {seed}, {fault:?}: not halted: {halted:?}"
            );
            match fault {
                Fault::StoreFail => {
                    assert_eq!(head, Some(1), "seed {seed}: nothing past the fault");
                    assert_eq!(restart, Ok(()), "seed {seed}");
                }
                _ => {
                    assert_eq!(head, Some(2), "seed {seed}: the torn block is there");
                    assert!(
                        restart.as_ref().is_err_and(|e| e.contains("corrupt")),
                        "seed {seed}: a torn store must not be used: {restart:?}"
                    );
                }
            }
        }
    }
    eprintln!(
        "a_node_whose_store_fails_or_tears_halts_and_the_others_carry_on: {} seeds, no violation",
        seeds()
    );
}
