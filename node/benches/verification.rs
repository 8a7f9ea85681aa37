//! What a node spends verifying entries: the stateless checks (signature, shapes, range,
//! relation and audit proofs, a repayment's settlement proof) of the entries `veil bench` writes.
//!
//! `cargo bench -p veil-node --bench verification` makes, with the testkit, a 4-member
//! consortium's entries with one regulator (12 loans of one to three partners, a repayment of
//! each with its Groth16 settlement proof), then checks them `VEIL_VERIFY_ROUNDS` times
//! (default 10) and prints:
//!
//! - a block of all 24, on both cores: the median time per entry checking them one by one in
//!   parallel, and as one batch (`Validator::check_stateless_batch`: the repayments'
//!   settlement proofs with one multi-pairing), with the batch's time per kind of proof;
//! - each type one by one on one core: the median time per entry and where it went, per kind
//!   of proof (the validator's `ProofTimer`, as the node's metrics record it).
//!
//! `cargo test --all-targets` runs it without `--bench`: one round.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use veil_node::ledger::Entry;
use veil_node::testkit::TestConsortium;
use veil_node::validation::{ProofKind, ProofTimer, Validator};

const LOANS: usize = 12;

/// Sums the time of each kind of proof.
#[derive(Debug, Default)]
struct Totals(Mutex<Vec<(ProofKind, Duration, u64)>>);

impl ProofTimer for Totals {
    fn observe(&self, kind: ProofKind, elapsed: Duration) {
        let mut totals = self.0.lock().unwrap();
        match totals.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, total, count)) => {
                *total += elapsed;
                *count += 1;
            }
            None => totals.push((kind, elapsed, 1)),
        }
    }
}

impl Totals {
    /// Per entry of `entries`: "kind total ms (count)" for each kind, and resets.
    fn take(&self, entries: usize) -> String {
        let mut totals = self.0.lock().unwrap();
        let out = totals
            .iter()
            .map(|(kind, total, count)| {
                format!(
                    "{} {:.2} ms ({:.1})",
                    kind.name(),
                    ms(*total) / entries as f64,
                    *count as f64 / entries as f64
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        totals.clear();
        out
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds: usize = match (bench, std::env::var("VEIL_VERIFY_ROUNDS")) {
        (false, _) => 1,
        (true, Ok(v)) => v.parse().expect("VEIL_VERIFY_ROUNDS is a number"),
        (true, Err(_)) => 10,
    };
    let months = veil_node::view_keys::months_from_through("2026-01", "2026-11");
    let (consortium, _regulator) = TestConsortium::new(4, 23, 44_000).with_regulator(&months);
    let loans: Vec<Entry> = (0..LOANS)
        .map(|t| {
            let partners: Vec<(usize, u64)> = (1..=t % 3 + 1)
                .map(|p| (p, 8_000 / (t as u64 % 3 + 1)))
                .collect();
            consortium.loan(0, t as u32, 300_000 + 50_000 * t as u64, &partners)
        })
        .collect();
    let repayments: Vec<Entry> = loans
        .iter()
        .map(|loan| consortium.repayment(loan, 40_000, "2026-11"))
        .collect();
    let totals = Arc::new(Totals::default());
    let validator = Validator::new(consortium.genesis.clone())
        .unwrap()
        .with_timer(totals.clone());

    // A block of them all, as a node checks a block of entries it has not seen: one by one
    // (each in parallel, as before) and as one batch (repayments' proofs in one multi-pairing).
    let block: Vec<&Entry> = loans.iter().chain(&repayments).collect();
    let mut one_by_one = Vec::new();
    let mut batched = Vec::new();
    for _ in 0..rounds {
        use rayon::prelude::*;
        let started = Instant::now();
        assert!(
            block
                .par_iter()
                .all(|e| validator.check_stateless(e).is_ok())
        );
        one_by_one.push(started.elapsed());
    }
    let _ = totals.take(1);
    for _ in 0..rounds {
        let started = Instant::now();
        assert!(
            validator
                .check_stateless_batch(&block)
                .iter()
                .all(Result::is_ok)
        );
        batched.push(started.elapsed());
    }
    let settlement_batched = totals.take(rounds * block.len());
    println!(
        "block of {} entries ({LOANS} loans, {LOANS} repayments), both cores: one by one median \
         {:.2} ms per entry, batched {:.2} ms per entry; batched, per entry of the block: {}",
        block.len(),
        ms(median(one_by_one)) / block.len() as f64,
        ms(median(batched)) / block.len() as f64,
        settlement_batched,
    );

    for (kind, entries) in [("loan.originated", &loans), ("loan.repaid", &repayments)] {
        let mut times = Vec::new();
        for _ in 0..rounds {
            for entry in entries {
                let started = Instant::now();
                validator.check_stateless(entry).unwrap();
                times.push(started.elapsed());
            }
        }
        let checks = times.len();
        println!(
            "{kind}: one by one, median {:.2} ms per entry ({checks} checks); per entry: {}",
            ms(median(times)),
            totals.take(checks),
        );
    }
}
