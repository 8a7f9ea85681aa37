//! Settlement circuit figures: constraints per repayment, setup, prove and verify times, proof
//! and key sizes, for capacities 16, 256 and 1024 (4 banks, every slot filled).
//!
//! `cargo bench -p veil-circuits --bench circuits [-- CAPACITY...]`. Proving a 1024-slot
//! settlement takes tens of seconds here, so this is a plain timing harness (median of a few
//! runs) rather than criterion's statistics.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use ark_relations::r1cs::{
    ConstraintSynthesizer as _, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use ark_std::rand::rngs::OsRng;
use veil_circuits::Fr;
use veil_circuits::settlement::{
    Repayment, SettlementCircuit, SettlementPublic, SettlementWitness, Shape, due_commitment, dues,
    root,
};

const BANKS: usize = 4;

fn statement(shape: Shape) -> (SettlementPublic, SettlementWitness) {
    let repayments: Vec<Repayment> = (0..shape.capacity)
        .map(|i| Repayment {
            entry: [(i % 251) as u8; 16],
            amount: 150_000 + 37 * i as u64,
            shares: vec![2_000, 4_500, 3_500, 0],
            blinding: Fr::from(i as u64 + 1),
        })
        .collect();
    let commitments: Vec<Fr> = repayments.iter().map(Repayment::commitment).collect();
    let due = dues(&repayments, BANKS, 0).unwrap();
    let blindings: Vec<Fr> = (0..BANKS).map(|b| Fr::from(99 + b as u64)).collect();
    let public = SettlementPublic {
        entry: [7; 16],
        period: 202611,
        root: root(&commitments, shape.capacity).unwrap(),
        count: repayments.len() as u64,
        originator: 0,
        due: due
            .iter()
            .zip(&blindings)
            .map(|(d, r)| due_commitment(*d, *r))
            .collect(),
    };
    (
        public,
        SettlementWitness {
            repayments,
            due_blindings: blindings,
        },
    )
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs bench targets without `--bench`: a quick smoke run.
    let smoke = !args.iter().any(|a| a == "--bench");
    let capacities: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let capacities = if smoke {
        vec![16]
    } else if capacities.is_empty() {
        vec![16, 256, 1024]
    } else {
        capacities
    };
    for capacity in capacities {
        let shape = Shape::new(capacity, BANKS).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        SettlementCircuit::blank(shape)
            .generate_constraints(cs.clone())
            .unwrap();
        let constraints = cs.num_constraints();

        let started = Instant::now();
        let pk = veil_circuits::dev::setup(SettlementCircuit::blank(shape), "bench").unwrap();
        let setup = started.elapsed();
        let vk = pk.verifying_key();
        let (public, witness) = statement(shape);
        let circuit = SettlementCircuit {
            shape,
            public: Some(public.clone()),
            witness: Some(witness),
        };
        let runs = if smoke {
            1
        } else if capacity >= 1024 {
            3
        } else {
            5
        };
        let mut prove_times = Vec::new();
        let mut proof = None;
        for _ in 0..runs {
            let started = Instant::now();
            proof = Some(pk.prove(circuit.clone(), &mut OsRng).unwrap());
            prove_times.push(started.elapsed());
        }
        let proof = proof.unwrap();
        let bytes = pk.to_bytes();
        let started = Instant::now();
        veil_circuits::ProvingKey::from_bytes(&bytes).unwrap();
        let load_checked = started.elapsed();
        let started = Instant::now();
        veil_circuits::ProvingKey::from_trusted_bytes(&bytes).unwrap();
        let load_trusted = started.elapsed();
        let inputs = public.inputs();
        let mut verify_times = Vec::new();
        for _ in 0..if smoke { 1 } else { 200 } {
            let started = Instant::now();
            vk.verify(&inputs, &proof).unwrap();
            verify_times.push(started.elapsed());
        }
        println!(
            "settlement capacity {capacity:>5} ({BANKS} banks): {constraints} constraints \
             ({:.0} per repayment), dev setup {:.1} s, prove {:.2} s (median of {runs}), \
             verify {:.2} ms, proof {} B, proving key {:.1} MB (load {:.1} s with subgroup \
             checks, {:.1} s without), verifying key {} B",
            constraints as f64 / capacity as f64,
            setup.as_secs_f64(),
            median(prove_times).as_secs_f64(),
            median(verify_times).as_secs_f64() * 1e3,
            proof.to_bytes().len(),
            bytes.len() as f64 / 1e6,
            load_checked.as_secs_f64(),
            load_trusted.as_secs_f64(),
            vk.to_bytes().len(),
        );
    }
}
