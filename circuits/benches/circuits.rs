//! Settlement circuit figures: constraints, setup, prove and verify times, proof and key sizes,
//! for the repayment proof every `loan.repaid` carries (capacity 1, the loan's 4 participant
//! slots; other capacities on request, every slot filled); then the
//! screening circuit's, and for registries of 10,000 to 1,000,000 borrowers how long building
//! the registry takes (a node replaying the chain) and checking one `registry.updated` does.
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

const BANKS: usize = veil_circuits::settlement::PARTICIPANT_SLOTS;

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

/// A registry of `n` KYC members (every tenth also blocklisted), built as nodes build it.
fn registry_of(n: u32) -> veil_circuits::screening::Registry {
    use veil_circuits::screening::{Change, Reference, Registry};
    let reference = |i: u32| {
        let mut value = [0u8; 31];
        value[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
        value[4..8].copy_from_slice(&i.to_be_bytes());
        Reference(value)
    };
    let mut changes: Vec<Change> = (0..n).map(|i| Change::AddKyc(reference(i))).collect();
    changes.extend(
        (0..n)
            .step_by(10)
            .map(|i| Change::AddBlocklist(reference(i))),
    );
    let mut registry = Registry::default();
    registry.apply(&changes).unwrap();
    registry
}

fn screening(smoke: bool) {
    use veil_circuits::screening::{
        Change, Reference, ScreeningCircuit, ScreeningProof, ScreeningPublic, reference_commitment,
    };
    let registry = registry_of(1_000);
    let member = *registry
        .kyc()
        .find(|r| !registry.is_blocklisted(r))
        .unwrap();
    let witness = registry.witness(member, Fr::from(5u64)).unwrap();
    let public = ScreeningPublic {
        entry: [3; 16],
        roots: registry.roots(),
        commitment: reference_commitment(witness.reference, witness.blinding),
    };
    let circuit = ScreeningCircuit {
        public: Some(public.clone()),
        witness: Some(witness),
    };
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.clone().generate_constraints(cs.clone()).unwrap();
    let constraints = cs.num_constraints();
    let started = Instant::now();
    let pk = veil_circuits::dev::setup(ScreeningCircuit::blank(), "bench").unwrap();
    let setup = started.elapsed();
    let vk = pk.verifying_key();
    let runs = if smoke { 1 } else { 9 };
    let mut prove_times = Vec::new();
    let mut phases = Vec::new();
    let mut proof = None;
    // The key's first proof also records the constraint matrices; it is reported apart.
    let (_, first) = pk.prove_with_phases(circuit.clone(), &mut OsRng).unwrap();
    for _ in 0..runs {
        let started = Instant::now();
        let (made, spent) = pk.prove_with_phases(circuit.clone(), &mut OsRng).unwrap();
        prove_times.push(started.elapsed());
        phases.push(spent);
        proof = Some(made);
    }
    let phase = |f: fn(&veil_circuits::ProvingPhases) -> Duration| {
        median(phases.iter().map(f).collect()).as_secs_f64() * 1e3
    };
    println!(
        "screening prove phases, median ms: synthesis {:.1}, satisfaction {:.1}, witness map \
         {:.1}, multi-scalar multiplications {:.1}; the key's first proof {:.1} ms (synthesis \
         {:.1}, recording the constraint matrices)",
        phase(|p| p.synthesis),
        phase(|p| p.satisfaction),
        phase(|p| p.witness_map),
        phase(|p| p.msm),
        first.total().as_secs_f64() * 1e3,
        first.synthesis.as_secs_f64() * 1e3,
    );
    let carried = ScreeningProof {
        commitment: public.commitment,
        proof: proof.unwrap(),
    };
    let mut verify_times = Vec::new();
    for _ in 0..if smoke { 1 } else { 200 } {
        let started = Instant::now();
        carried.verify(&vk, &public.entry, public.roots).unwrap();
        verify_times.push(started.elapsed());
    }
    println!(
        "screening (registry trees of depth {}): {constraints} constraints, dev setup {:.2} s, \
         prove {:.3} s (median of {runs}), verify {:.2} ms, carried in a loan {} B, proving key \
         {:.1} MB, verifying key {} B",
        veil_circuits::screening::DEPTH,
        setup.as_secs_f64(),
        median(prove_times).as_secs_f64(),
        median(verify_times).as_secs_f64() * 1e3,
        carried.to_bytes().len(),
        pk.to_bytes().len() as f64 / 1e6,
        vk.to_bytes().len(),
    );
    let sizes: &[u32] = if smoke {
        &[1_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    for n in sizes {
        let started = Instant::now();
        let registry = registry_of(*n);
        let built = started.elapsed();
        // One registry.updated as a node checks it: a copy of the version it changes, 100
        // changes applied, both roots compared.
        let changes: Vec<Change> = (0..100u32)
            .map(|i| {
                let mut value = [0xff; 31];
                value[..4].copy_from_slice(&i.to_be_bytes());
                Change::AddKyc(Reference(value))
            })
            .collect();
        let started = Instant::now();
        let mut next = registry.clone();
        next.apply(&changes).unwrap();
        std::hint::black_box(next.roots());
        let update = started.elapsed();
        let (kyc, blocklisted) = registry.len();
        println!(
            "registry of {kyc} KYC members and {blocklisted} blocklisted: built from nothing in \
             {:.2} s; an update of 100 changes checked in {:.1} ms (copy included)",
            built.as_secs_f64(),
            update.as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs bench targets without `--bench`: a quick smoke run.
    let smoke = !args.iter().any(|a| a == "--bench");
    let capacities: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let capacities = if smoke || capacities.is_empty() {
        vec![1]
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
        } else if capacity == 1 {
            21
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
            "settlement capacity {capacity:>5} ({BANKS} participant slots): {constraints} constraints \
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
    screening(smoke);
}
