//! Node-level benchmark: a consortium of 4 to 64 nodes on loopback (real consensus over TCP,
//! RocksDB with synced writes), each node on its own runtime in this process, fed realistic
//! entries (joint loans and repayments, each with an aggregated range proof and relation
//! proofs, the repayments with their Groth16 settlement proofs).
//!
//! ```text
//! cargo bench -p veil-tests --bench consensus                 # 4 nodes, 400 entries
//! VEIL_BENCH_ENTRIES=2000 cargo bench -p veil-tests --bench consensus
//! VEIL_BENCH_MEMBERS=4,7,13,21 cargo bench -p veil-tests --bench consensus
//! ```
//!
//! Prints one JSON report per consortium size (`VEIL_BENCH_MEMBERS`, comma-separated, default
//! 4): finalized entries per second at saturation, finalize latency p50/p99 in ms (from
//! submission to durable finalization as the submitter sees it), this process's peak resident
//! memory and its share per node, and the share of the process's CPU time that the nodes spent
//! verifying entries (signatures and proofs): the number of verifications the nodes did times
//! the cost of one, measured alone afterwards (the peak memory is the process's so far: list
//! the sizes in ascending order). Loans have one to three partners drawn from the
//! whole consortium, so every member takes part.

use std::time::{Duration, Instant};

use rayon::prelude::*;
use veil_gateway::consortium::{self, InitOptions};
use veil_node::config::NodeConfig;
use veil_node::ledger::Entry;
use veil_node::process::NodeThread;
use veil_node::state::VerifiedEntries;
use veil_node::testkit::TestConsortium;

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `VmHWM` (peak resident set) of this process, in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib * 1024.0 / 1e6)
}

fn main() {
    let entries_wanted: usize = std::env::var("VEIL_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let sizes: Vec<usize> = std::env::var("VEIL_BENCH_MEMBERS")
        .ok()
        .map(|v| {
            v.split(',')
                .map(|n| match n.trim().parse() {
                    Ok(n) if (4..=64).contains(&n) => n,
                    _ => panic!("VEIL_BENCH_MEMBERS: {n:?} is not a consortium size of 4 to 64"),
                })
                .collect()
        })
        .unwrap_or_else(|| vec![4]);
    for members in sizes {
        let report = run(members, entries_wanted);
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    }
}

/// One consortium of `members` nodes, `entries_wanted` entries: the report.
fn run(members: usize, entries_wanted: usize) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = veil_tests::free_base_port(members, 1);
    consortium::init(
        dir.path(),
        &InitOptions {
            banks: members,
            base_port: ports.base(),
            force: true,
            circuits: veil_gateway::consortium::CircuitSource::Dev(
                veil_gateway::consortium::DEFAULT_CAPACITIES.to_vec(),
            ),
            // Node-level test entries (testkit loans) carry no screening proof.
            screening: false,
            ..Default::default()
        },
    )
    .expect("init");
    let consortium = TestConsortium::from_dir(dir.path());

    // Realistic entries, made before the clock starts: loans with one to three partners
    // (each a 7-to-11-value aggregated range proof and two relation proofs), then one
    // repayment per loan.
    eprintln!("generating {entries_wanted} entries...");
    let loans: Vec<Entry> = (0..entries_wanted / 2)
        .into_par_iter()
        .map(|k| {
            let originator = k % members;
            // Partners drawn from the other members, moving with k over the whole consortium.
            let others: Vec<usize> = (0..members).filter(|&m| m != originator).collect();
            let partners: Vec<(usize, u64)> = (1..=(k % 3) + 1)
                .map(|p| (others[(k + p) % others.len()], 8000 / ((k % 3) as u64 + 1)))
                .collect();
            consortium.loan(
                originator,
                k as u32,
                300_000 + (k as u64 % 97) * 10_000,
                &partners,
            )
        })
        .collect();
    let repayments: Vec<Entry> = loans
        .par_iter()
        .map(|loan| consortium.repayment(loan, 31_250, "2026-11"))
        .collect();

    let banks = consortium::bank_ids(members);
    let nodes: Vec<NodeThread> = (0..members)
        .map(|i| {
            let bank = banks[i].clone();
            let config =
                NodeConfig::load(&dir.path().join(&bank).join("node.toml")).expect("config");
            // Each node verifies every entry itself, as on separate hosts.
            NodeThread::spawn(config, 1, VerifiedEntries::default()).expect("node")
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let latencies = runtime.block_on(async {
        let mut latencies = Vec::new();
        for phase in [&loans, &repayments] {
            let tasks: Vec<_> = phase
                .iter()
                .enumerate()
                .map(|(k, entry)| {
                    let origin = consortium
                        .members
                        .iter()
                        .position(|m| m.id == entry.header.submitter)
                        .unwrap_or(k % members);
                    let node = nodes[origin].local.clone();
                    let bytes = entry.encode();
                    tokio::spawn(async move {
                        let submitted = Instant::now();
                        loop {
                            match node.submit(&bytes, Duration::from_secs(60)).await {
                                Ok(_) | Err(veil_node::link::LinkError::Replay) => {
                                    return submitted.elapsed().as_secs_f64() * 1000.0;
                                }
                                // An invalid entry never becomes valid: retrying would hang.
                                Err(veil_node::link::LinkError::Rejected(reason)) => {
                                    panic!("the nodes refused a benchmark entry: {reason}")
                                }
                                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                            }
                        }
                    })
                })
                .collect();
            for task in tasks {
                latencies.push(task.await.expect("submit task"));
            }
        }
        latencies
    });
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let heights: Vec<u64> = nodes.iter().map(|n| n.local.status().height).collect();
    let verifications: u64 = nodes
        .iter()
        .map(|n| n.local.state.metrics.entries_verified_total())
        .sum();
    for node in nodes {
        node.stop().expect("stop");
    }

    // The nodes' wall-clock verification timers overcount on shared cores, so the CPU cost of
    // one verification is measured alone, on one thread, over the same entries.
    let validator = veil_node::validation::Validator::new(consortium.genesis.clone()).unwrap();
    let alone = Instant::now();
    for entry in loans.iter().chain(&repayments) {
        validator.check_stateless(entry).expect("valid entry");
    }
    let per_verification = alone.elapsed().as_secs_f64() / (loans.len() + repayments.len()) as f64;
    let verification_cpu = per_verification * verifications as f64;

    let mut sorted = latencies.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let peak = peak_rss_mb();
    serde_json::json!({
        "nodes": members,
        "entries": latencies.len(),
        "seconds": seconds,
        "entries_per_s": latencies.len() as f64 / seconds,
        "latency_ms": {"p50": percentile(&sorted, 50.0), "p99": percentile(&sorted, 99.0)},
        "blocks": heights.iter().max(),
        "cpu_seconds": cpu,
        "verifications": verifications,
        "verify_ms_per_entry": per_verification * 1000.0,
        "proof_verification_cpu_seconds": verification_cpu,
        "proof_verification_cpu_share": if cpu > 0.0 { verification_cpu / cpu } else { 0.0 },
        "peak_rss_mb": peak.round(),
        "peak_rss_mb_per_node": (peak / members as f64).round(),
    })
}
