//! The node's persisted screening registry at the business's size: build, restart, memory, disk,
//! checking an update, and a screening proof from the persisted trees.
//!
//! `cargo bench -p veil-node --bench registry` builds a registry of
//! `VEIL_REGISTRY_BORROWERS` KYC members (default 1,000,000; set 10000000 for ten million),
//! one in a hundred also blocklisted, in a RocksDB store under `VEIL_REGISTRY_BENCH_DIR`
//! (default: a fresh directory in the system's temporary directory, removed at the end),
//! through overlays of 2,000 changes (the most one `registry.updated` carries), each written
//! with its block as the applier does. It prints:
//!
//! - build: wall time, and the peak resident memory of the building process (`VmHWM`);
//! - disk: bytes of the store's directory;
//! - restart: a fresh process opens the store and reads both roots (no replay): wall time and
//!   its peak resident memory;
//! - check: the median time to check an update of 100 changes on an overlay over the
//!   persisted registry (apply and compute both roots), as a node checks a proposed update;
//! - screening: the witness read from the persisted trees, and the median proving time of the
//!   screening circuit (depth `DEPTH`) with a dev key.
//!
//! `cargo test --all-targets` runs it without `--bench`: a smoke run of 20,000 borrowers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use veil_circuits::Fr;
use veil_circuits::screening::stored::{self, Overlay};
use veil_circuits::screening::{
    Change, DEPTH, MAX_CHANGES, Reference, ScreeningCircuit, ScreeningPublic, check,
    reference_commitment,
};
use veil_node::store::rocks::RocksStore;
use veil_node::store::{AppliedBlock, Store as _, StoredBlock};

/// Set in the child process that measures a restart: the store's directory.
const OPEN_ONLY: &str = "VEIL_REGISTRY_BENCH_OPEN";

fn reference(i: u64) -> Reference {
    use sha2::Digest as _;
    let digest: [u8; 32] = sha2::Sha256::digest(i.to_be_bytes()).into();
    Reference::of_borrower_ref(&digest)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// `VmHWM` (peak resident set) of this process, in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Writes `changes` as the block at `height`, as the applier does.
fn write_block(store: &RocksStore, height: u64, changes: &[Change]) {
    let writes = {
        let finalized = store.registry().unwrap();
        let mut overlay = Overlay::new(finalized.as_ref());
        overlay.apply(changes, b"bank-a").unwrap();
        overlay.set_version(&[height as u8; 32]);
        overlay.into_writes()
    };
    store
        .apply(&AppliedBlock {
            block: StoredBlock {
                height,
                digest: [height as u8; 32],
                block: Vec::new(),
                finalization: Vec::new(),
            },
            entries: Vec::new(),
            registry: writes,
        })
        .unwrap();
}

/// The child process: open the store, read both roots, report.
fn open_only(dir: &Path) {
    let started = Instant::now();
    let store = RocksStore::open(dir).unwrap();
    let roots = stored::roots(store.registry().unwrap().as_ref()).unwrap();
    let (kyc, blocklist) = stored::len(store.registry().unwrap().as_ref()).unwrap();
    let elapsed = started.elapsed();
    std::hint::black_box(roots);
    println!(
        "restart: opened {kyc} KYC / {blocklist} blocklisted and read both roots in {:.1} ms, \
         peak RSS {:.0} MB",
        elapsed.as_secs_f64() * 1e3,
        peak_rss_mb(),
    );
}

fn main() {
    if let Some(dir) = std::env::var_os(OPEN_ONLY) {
        open_only(Path::new(&dir));
        return;
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n: u64 = if smoke {
        20_000
    } else {
        std::env::var("VEIL_REGISTRY_BORROWERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000)
    };
    let (dir, remove) = match std::env::var_os("VEIL_REGISTRY_BENCH_DIR") {
        Some(dir) => (PathBuf::from(dir), false),
        None => (
            std::env::temp_dir().join(format!("veil-registry-bench-{}", std::process::id())),
            true,
        ),
    };
    let store = RocksStore::open(&dir).unwrap();

    // Build: KYC members in blocks of MAX_CHANGES, one in a hundred blocklisted too.
    let started = Instant::now();
    let mut height = 0u64;
    let mut changes = Vec::with_capacity(MAX_CHANGES);
    for i in 0..n {
        changes.push(Change::AddKyc(reference(i)));
        if i % 100 == 7 {
            changes.push(Change::AddBlocklist(reference(i)));
        }
        if changes.len() >= MAX_CHANGES - 1 || i + 1 == n {
            changes.sort();
            write_block(&store, height, &changes);
            height += 1;
            changes.clear();
        }
    }
    let build = started.elapsed();
    println!(
        "build: {n} borrowers (depth {DEPTH}) in {:.1} s ({height} blocks), peak RSS {:.0} MB",
        build.as_secs_f64(),
        peak_rss_mb(),
    );
    drop(store);
    println!(
        "disk: {:.1} MB in {}",
        dir_bytes(&dir) as f64 / 1e6,
        dir.display()
    );

    // Restart, in a fresh process so that its memory is its own.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env(OPEN_ONLY, &dir)
        .status()
        .unwrap();
    assert!(status.success());

    let store = RocksStore::open(&dir).unwrap();
    let finalized = store.registry().unwrap();

    // Checking an update of 100 changes: 60 new members, 30 removed, 10 blocklisted.
    let mut times = Vec::new();
    for run in 0..if smoke { 3 } else { 21 } {
        let fresh = n + 1_000 * run;
        let mut update: Vec<Change> = (0..60)
            .map(|k| Change::AddKyc(reference(fresh + k)))
            .collect();
        update.extend((0..30).map(|k| Change::RemoveKyc(reference(run * 97 + k * 13 % n))));
        update.extend((0..10).map(|k| Change::AddBlocklist(reference(run * 31 + 1 + k * 100))));
        update.sort();
        update.dedup();
        let started = Instant::now();
        let mut overlay = Overlay::new(finalized.as_ref());
        overlay.apply(&update, b"bank-b").unwrap();
        let roots = stored::roots(&overlay).unwrap();
        times.push(started.elapsed());
        std::hint::black_box(roots);
    }
    println!(
        "check: an update of 100 changes in {:.2} ms (median of {})",
        median(times.clone()).as_secs_f64() * 1e3,
        times.len()
    );

    // A screening proof from the persisted trees.
    let who = reference(n / 2 + u64::from(n / 2 % 100 == 7));
    let started = Instant::now();
    let witness = stored::witness(finalized.as_ref(), who, Fr::from(99u64)).unwrap();
    let witness_time = started.elapsed();
    let public = ScreeningPublic {
        entry: [3; 16],
        roots: stored::roots(finalized.as_ref()).unwrap(),
        commitment: reference_commitment(witness.reference, witness.blinding),
    };
    check(&public, &witness).unwrap();
    let pk = veil_circuits::dev::setup(ScreeningCircuit::blank(), "registry-bench").unwrap();
    let mut proving = Vec::new();
    for _ in 0..if smoke { 1 } else { 5 } {
        let started = Instant::now();
        let proof = pk
            .prove(
                ScreeningCircuit {
                    public: Some(public.clone()),
                    witness: Some(witness.clone()),
                },
                &mut veil_circuits::OsRng,
            )
            .unwrap();
        proving.push(started.elapsed());
        std::hint::black_box(proof);
    }
    println!(
        "screening: witness from the store in {:.2} ms, proof (depth {DEPTH}) in {:.3} s (median \
         of {})",
        witness_time.as_secs_f64() * 1e3,
        median(proving.clone()).as_secs_f64(),
        proving.len()
    );
    drop(finalized);
    drop(store);
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
