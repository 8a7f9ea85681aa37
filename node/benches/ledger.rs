//! The node's ledger at the business's size: writing a million entries as finalized blocks,
//! memory, disk per entry, and reading entries back from a young and from a full ledger.
//!
//! `cargo bench -p veil-node --bench ledger` writes `VEIL_LEDGER_ENTRIES` entries (default
//! 1,000,000) to a RocksDB store under `VEIL_LEDGER_BENCH_DIR` (default: a fresh directory in
//! the system's temporary directory, removed at the end), in finalized blocks of
//! `VEIL_LEDGER_BLOCK` entries (default 100: a busy node's block; a proposer takes whatever
//! waits in its mempool, up to 1,024 entries or 4 MB), each written with `Store::apply` as the
//! applier writes it: one synced batch holding the block record, its entries and their indexes.
//!
//! The ledger is a 21-member consortium's (an originator, `bank-a`, which submits every entry,
//! and 20 partners) with one regulator: for every loan three repayments, and after every 4,095
//! repayments the `settlement.closed` that settles them (the most one settlement settles). A
//! loan has one to three partners funding 80% of it; a repayment repays one of the 10,000
//! loans before it, chosen at random. The indexes see real traffic: every entry by type, every
//! repayment under its loan and under its settlement (referrers), every repayment as settled.
//!
//! Entries are the real ones' bytes, varied. Real entries are made once at the start by the
//! testkit (12 loans with one to three partners, a repayment of each with its settlement proof,
//! and a settlement of those 12 repayments), with their reader groups sealed as a gateway seals
//! them (each field to the readers the built-in policies name, the regulator's view key
//! included), their range, relation, audit and settlement proofs; each passes the node's
//! validation. Every ledger entry copies one of them and changes: its nonce and so its id
//! (derived as gateways derive ids), its timestamp, its references (a repayment its loan, a
//! settlement its 4,095 repayments), and every byte that is random in a real entry (wrapped
//! keys, key commitments, field nonces and ciphertexts, proofs, audit proofs, signature) to
//! fresh pseudo-random bytes of the same length, and its commitments to ones drawn from a pool
//! of 4,096 real commitments. Sizes, shapes and compressibility are the real entries'; the
//! copies decode as entries but their signatures and proofs do not verify, which the store
//! never checks (the applier validates every entry before it applies a block). Real loans in a
//! screening consortium also carry a screening proof (160 bytes), two more sealed fields and a
//! reference to the registry version; the testkit's loans do not. Blocks are real blocks of
//! those entries (the encoded block is the block record, as the applier stores it), each with
//! a real finalization certificate signed by 15 of the 21 validators.
//!
//! It prints, in this order:
//!
//! - entries: the time to make and validate the real entries;
//! - reads at the start, measured during the build when the ledger holds its first 10,000
//!   entries: `Store::entry` of random ids (p50 / p99), a page of 100 `loan.repaid` entries
//!   (`entries_by_type` after a random position: the node API's default page), `block` of a
//!   random height, `referrers` of a random loan (its repayments), `settled_by` of a random
//!   repayment;
//! - build: wall time, the time spent in `Store::apply` and entries per second of it, a
//!   block's apply latency (p50 / p99), and the peak resident memory of the building process
//!   (`VmHWM`, the benchmark's own state included: a few MB);
//! - sizes: the mean encoded size of each type of entry, of the block records and of the
//!   finalizations;
//! - disk: the store's directory after closing it, per entry (no compaction forced: what a
//!   node has), the write-ahead log in it, and the SST files of each column family;
//! - reads at the end: the same reads over the whole ledger, in a fresh process that opens
//!   the store as a restarted node does (RocksDB's caches are cold; the operating system's page
//!   cache may still hold the files), with the time to open it and that process's peak
//!   resident memory.
//!
//! Progress goes to standard error every tenth of a ledger of 100,000 entries or more.
//!
//! `cargo test --all-targets` runs it without `--bench`: a smoke run of 20,000 entries.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use commonware_codec::Encode as _;
use commonware_consensus::simplex::types::{Finalize, Proposal};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{Digestible as _, Signer as _};
use commonware_parallel::Sequential;
use commonware_utils::non_empty;
use commonware_utils::ordered::Quorum as _;
use rayon::prelude::*;
use veil_crypto::{Commitment, Opening, Signature};
use veil_node::consensus::{CONSENSUS_NAMESPACE, Finalization, Scheme};
use veil_node::ledger::entry::MAX_SETTLED;
use veil_node::ledger::{Block, BlockDigest, Entry, EntryId};
use veil_node::store::memory::MemoryStore;
use veil_node::store::rocks::RocksStore;
use veil_node::store::{AppliedBlock, AppliedEntry, Store as _, StoredBlock, keys};
use veil_node::testkit::TestConsortium;
use veil_node::validation::{PendingView, Validator};
use veil_policies::EntryType;

/// Set in the child process that measures reads after a restart: the store's directory.
const OPEN_ONLY: &str = "VEIL_LEDGER_BENCH_OPEN";
/// Set with [`OPEN_ONLY`]: `entries block-size genesis-hash samples`.
const SHAPE: &str = "VEIL_LEDGER_BENCH_SHAPE";

/// Members of the consortium: an originator and 20 partners.
const MEMBERS: usize = 21;
/// The one submitter: the originator's gateway writes loans, repayments and settlements.
const ORIGINATOR: &str = "bank-a";
/// Real loans (and repayments of each) the ledger's entries are copied from.
const TEMPLATES: usize = 12;
/// Repayments per settlement: the most one settles.
const SETTLED: u64 = MAX_SETTLED as u64;
/// Loans per cycle of the ledger: with three repayments each, one settlement's worth.
const LOANS_PER_CYCLE: u64 = SETTLED / 3;
/// A cycle: its loans, their repayments (three each, interleaved), then the settlement of
/// those repayments.
const CYCLE: u64 = 4 * LOANS_PER_CYCLE + 1;
/// A repayment repays one of this many loans before it.
const ACTIVE_LOANS: u64 = 10_000;
/// Entries in the ledger when the reads "at the start" are measured.
const EARLY: u64 = 10_000;
/// The node API's default page.
const PAGE: usize = 100;
/// Real commitments the copies draw theirs from.
const COMMITMENT_POOL: usize = 4_096;

/// SplitMix64: the ledger's shape and bytes are the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes()[..chunk.len()]);
        }
    }
}

/// What the entry at a ledger index is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The loan of this ordinal.
    Loan(u64),
    Repayment,
    /// The settlement of this cycle's repayments.
    Settlement(u64),
}

fn kind(i: u64) -> Kind {
    let (cycle, r) = (i / CYCLE, i % CYCLE);
    if r == CYCLE - 1 {
        Kind::Settlement(cycle)
    } else if r % 4 == 0 {
        Kind::Loan(cycle * LOANS_PER_CYCLE + r / 4)
    } else {
        Kind::Repayment
    }
}

/// The ledger index of loan `k`.
fn loan_index(k: u64) -> u64 {
    k / LOANS_PER_CYCLE * CYCLE + k % LOANS_PER_CYCLE * 4
}

/// Loans at ledger indexes below `i`.
fn loans_before(i: u64) -> u64 {
    i / CYCLE * LOANS_PER_CYCLE + (i % CYCLE).div_ceil(4)
}

/// The repayments cycle `cycle`'s settlement settles.
fn settled_in(cycle: u64) -> impl Iterator<Item = u64> {
    (cycle * CYCLE..(cycle + 1) * CYCLE - 1).filter(|i| kind(*i) == Kind::Repayment)
}

/// Where the entries are: ids and positions follow from the index.
struct Ledger {
    entries: u64,
    block: u64,
    genesis: [u8; 32],
}

impl Ledger {
    fn nonce(i: u64) -> [u8; 16] {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(b"veil-lgr");
        nonce[8..].copy_from_slice(&i.to_be_bytes());
        nonce
    }

    fn id(&self, i: u64) -> EntryId {
        EntryId::derive(&self.genesis, ORIGINATOR, &Self::nonce(i))
    }

    /// Height and index in its block (the genesis block, height 0, holds none).
    fn position(&self, i: u64) -> (u64, u32) {
        (1 + i / self.block, (i % self.block) as u32)
    }

    fn random_repayment(&self, upto: u64, rng: &mut Rng) -> u64 {
        loop {
            let i = rng.below(upto);
            if kind(i) == Kind::Repayment {
                return i;
            }
        }
    }
}

/// The real entries every ledger entry is copied from.
struct Templates {
    loans: Vec<Entry>,
    repayments: Vec<Entry>,
    settlement: Entry,
    commitments: Vec<Commitment>,
}

/// The openings of a repayment's allocations, as its originator's gateway opens them.
fn allocations(consortium: &TestConsortium, repayment: &Entry) -> Vec<(String, Opening)> {
    let statement = repayment.header.statement_id();
    let context = repayment
        .header
        .field_context(&consortium.genesis.consortium_id, &statement);
    let key = &consortium.members[0].encryption;
    repayment
        .groups
        .iter()
        .filter_map(|group| group.open_all(&context, key).ok())
        .flatten()
        .filter(|(path, _)| path.starts_with("allocations."))
        .map(|(path, plaintext)| {
            let opening = Opening::from_plaintext(plaintext.expose()).unwrap();
            (path, opening)
        })
        .collect()
}

fn templates(consortium: &TestConsortium) -> Templates {
    // Loans of one, two and three partners, the partners taken in turn from the 20, funding
    // 80% between them; principals of 3,000 to 8,500 yuan.
    let mut next_partner = 0;
    let shapes: Vec<(Vec<(usize, u64)>, u64)> = (0..TEMPLATES)
        .map(|t| {
            let count = t % 3 + 1;
            let partners = (0..count)
                .map(|_| {
                    next_partner += 1;
                    (1 + (next_partner - 1) % (MEMBERS - 1), 8_000 / count as u64)
                })
                .collect();
            (partners, 300_000 + 50_000 * t as u64)
        })
        .collect();
    let loans: Vec<Entry> = shapes
        .par_iter()
        .enumerate()
        .map(|(t, (partners, principal))| consortium.loan(0, t as u32, *principal, partners))
        .collect();
    // A tenth of the principal and a month's interest at 18% a year.
    let repayments: Vec<Entry> = loans
        .par_iter()
        .zip(&shapes)
        .map(|(loan, (_, principal))| {
            consortium.repayment(loan, principal / 10 + principal * 15 / 1_000, "2026-11")
        })
        .collect();
    let referenced: Vec<Vec<(String, Opening)>> = repayments
        .iter()
        .map(|r| allocations(consortium, r))
        .collect();
    let mut due: Vec<(String, u64)> = Vec::new();
    for (label, opening) in referenced.iter().flatten() {
        let bank = label.trim_start_matches("allocations.");
        let label = format!("due.{bank}");
        match due.iter_mut().find(|(l, _)| *l == label) {
            Some((_, total)) => *total += opening.value(),
            None => due.push((label, opening.value())),
        }
    }
    let settlement = consortium.entry(
        0,
        EntryType::SettlementClosed,
        "2026-11",
        repayments.iter().map(|r| r.header.id).collect(),
        &[
            ("period", b"2026-11".to_vec()),
            ("repayments", TEMPLATES.to_string().into_bytes()),
        ],
        &due,
        &referenced,
    );

    // Each one passes the node's validation, in ledger order.
    let validator = Validator::new(consortium.genesis.clone()).unwrap();
    let store = MemoryStore::new();
    let mut view = PendingView::new(&store);
    for entry in loans.iter().chain(&repayments).chain([&settlement]) {
        assert_eq!(entry.header.submitter, ORIGINATOR);
        validator.check(entry, &view).unwrap();
        view.push(Arc::new(entry.clone()));
    }

    let commitments = (0..COMMITMENT_POOL as u64)
        .into_par_iter()
        .map(|v| Opening::random(v * 997).commit())
        .collect();
    Templates {
        loans,
        repayments,
        settlement,
        commitments,
    }
}

/// A copy of `template` as entry `i` of the ledger, referencing `references`.
fn copy(
    template: &Entry,
    ledger: &Ledger,
    i: u64,
    references: Vec<EntryId>,
    commitments: &[Commitment],
    rng: &mut Rng,
) -> Entry {
    let mut entry = template.clone();
    entry.header.nonce = Ledger::nonce(i);
    entry.header.id = ledger.id(i);
    entry.header.timestamp_ms = 1_764_000_000_000 + i * 100;
    entry.header.references = references;
    for group in &mut entry.groups {
        for wrap in &mut group.wrapped_keys {
            rng.fill(&mut wrap.enc);
            rng.fill(&mut wrap.ciphertext);
        }
        rng.fill(&mut group.key_commitment);
        for field in &mut group.fields {
            rng.fill(&mut field.nonce);
            rng.fill(&mut field.ciphertext);
        }
    }
    for (_, commitment) in &mut entry.commitments {
        *commitment = commitments[rng.below(commitments.len() as u64) as usize];
    }
    rng.fill(&mut entry.proofs.range);
    for relation in &mut entry.proofs.relations {
        rng.fill(relation);
    }
    rng.fill(&mut entry.proofs.participant);
    rng.fill(&mut entry.proofs.circuit);
    rng.fill(&mut entry.proofs.audit);
    let mut signature = [0u8; 64];
    rng.fill(&mut signature);
    entry.signature = Signature::from_bytes(&signature).unwrap();
    entry
}

/// Entry `i` of the ledger.
fn ledger_entry(templates: &Templates, ledger: &Ledger, i: u64, rng: &mut Rng) -> Entry {
    let pool = &templates.commitments;
    match kind(i) {
        Kind::Loan(k) => copy(
            &templates.loans[k as usize % TEMPLATES],
            ledger,
            i,
            Vec::new(),
            pool,
            rng,
        ),
        Kind::Repayment => {
            let before = loans_before(i);
            let k = before - 1 - rng.below(before.min(ACTIVE_LOANS));
            let loan = ledger.id(loan_index(k));
            copy(
                &templates.repayments[k as usize % TEMPLATES],
                ledger,
                i,
                vec![loan],
                pool,
                rng,
            )
        }
        Kind::Settlement(cycle) => {
            let repayments = settled_in(cycle).map(|r| ledger.id(r)).collect();
            copy(&templates.settlement, ledger, i, repayments, pool, rng)
        }
    }
}

/// The finalization certificate of `block`, signed by a quorum of the validators.
fn finalization(signers: &[Scheme], block: &Block, digest: BlockDigest) -> Vec<u8> {
    let proposal = Proposal::new(
        Round::new(Epoch::new(0), View::new(block.height)),
        View::new(block.height - 1),
        digest,
    );
    let votes: Vec<_> = signers
        .iter()
        .map(|signer| Finalize::sign(signer, proposal.clone()).unwrap())
        .collect();
    Finalization::from_finalizes(&signers[0], non_empty![@&votes], &Sequential)
        .unwrap()
        .encode()
        .to_vec()
}

/// The block as the applier hands it to the store.
fn applied(block: &Block, digest: BlockDigest, finalization: Vec<u8>) -> AppliedBlock {
    AppliedBlock {
        block: StoredBlock {
            height: block.height,
            digest: digest.0,
            block: block.to_bytes(),
            finalization,
        },
        entries: block
            .entries
            .iter()
            .zip(block.encoded_entries())
            .map(|(entry, bytes)| AppliedEntry {
                id: entry.header.id,
                kind: entry.header.kind.clone(),
                references: entry.header.references.clone(),
                settles_references: veil_node::validation::supersedes_references(
                    &entry.header.kind,
                ),
                bytes: bytes.clone(),
            })
            .collect(),
        registry: Vec::new(),
    }
}

/// p50 and p99 of `times`.
fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let at = |p: usize| times[(times.len() - 1) * p / 100];
    (at(50), at(99))
}

fn show((p50, p99): (Duration, Duration)) -> String {
    let unit = |d: Duration| {
        if d < Duration::from_millis(1) {
            format!("{:.0} µs", d.as_secs_f64() * 1e6)
        } else {
            format!("{:.2} ms", d.as_secs_f64() * 1e3)
        }
    };
    format!("{} / {}", unit(p50), unit(p99))
}

/// p50 and p99 of `read` over `inputs`, each call timed alone, its result then checked.
fn timed<I, T>(
    inputs: &[I],
    mut read: impl FnMut(&I) -> T,
    check: impl Fn(&I, T),
) -> (Duration, Duration) {
    let times = inputs
        .iter()
        .map(|input| {
            let started = Instant::now();
            let out = read(input);
            let elapsed = started.elapsed();
            check(input, out);
            elapsed
        })
        .collect();
    percentiles(times)
}

/// p50 / p99 of each read over the ledger's first `upto` entries.
fn reads(store: &RocksStore, ledger: &Ledger, upto: u64, samples: usize) -> String {
    let mut rng = Rng(upto);
    let few = samples / 10;
    let ids: Vec<(EntryId, (u64, u32))> = (0..samples)
        .map(|_| rng.below(upto))
        .map(|i| (ledger.id(i), ledger.position(i)))
        .collect();
    let entry = timed(
        &ids,
        |(id, _)| store.entry(id).unwrap(),
        |(_, position), stored| {
            let stored = stored.unwrap();
            assert_eq!((stored.height, stored.index), *position);
        },
    );
    let after: Vec<(u64, u32)> = (0..few)
        .map(|_| ledger.position(ledger.random_repayment(upto, &mut rng)))
        .collect();
    let repaid = EntryType::LoanRepaid.name();
    let page = timed(
        &after,
        |after| store.entries_by_type(repaid, Some(*after), PAGE).unwrap(),
        |after, page| {
            assert!(page.len() <= PAGE && page.iter().all(|e| (e.height, e.index) > *after));
        },
    );
    let heights: Vec<u64> = (0..few)
        .map(|_| 1 + rng.below(upto.div_ceil(ledger.block)))
        .collect();
    let block = timed(
        &heights,
        |height| store.block(*height).unwrap(),
        |height, block| assert_eq!(block.unwrap().height, *height),
    );
    let loans: Vec<EntryId> = (0..few)
        .map(|_| ledger.id(loan_index(rng.below(loans_before(upto)))))
        .collect();
    let referrers = timed(
        &loans,
        |loan| store.referrers(loan).unwrap(),
        |loan, repayments| {
            for stored in repayments {
                let entry = Entry::decode(&stored.bytes).unwrap();
                assert_eq!(entry.header.references, [*loan]);
            }
        },
    );
    // A repayment is settled once its cycle's settlement is in the ledger.
    let repayments: Vec<(EntryId, Option<EntryId>)> = (0..few)
        .map(|_| {
            let i = ledger.random_repayment(upto, &mut rng);
            let settlement = i / CYCLE * CYCLE + CYCLE - 1;
            (
                ledger.id(i),
                (settlement < upto).then(|| ledger.id(settlement)),
            )
        })
        .collect();
    let settled = timed(
        &repayments,
        |(repayment, _)| store.settled_by(repayment).unwrap(),
        |(_, expected), settlement| assert_eq!(settlement, *expected),
    );
    format!(
        "entry {} ({samples} random ids); page of {PAGE} loan.repaid {}; block {}; referrers of \
         a loan {}; settled_by of a repayment {} ({few} each)",
        show(entry),
        show(page),
        show(block),
        show(referrers),
        show(settled),
    )
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

/// Bytes of the files under `path` whose name satisfies `matches`.
fn dir_bytes(path: &Path, matches: &dyn Fn(&str) -> bool) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path(), matches),
                    Ok(m) if matches(&e.file_name().to_string_lossy()) => m.len(),
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// SST bytes of each column family of the closed store at `dir`.
fn family_bytes(dir: &Path) -> Vec<(&'static str, u64)> {
    let db = rocksdb::DB::open_cf_for_read_only(
        &rocksdb::Options::default(),
        dir,
        keys::COLUMN_FAMILIES,
        false,
    )
    .unwrap();
    keys::COLUMN_FAMILIES
        .iter()
        .map(|name| {
            let cf = db.cf_handle(name).unwrap();
            let bytes = db
                .property_int_value_cf(cf, "rocksdb.total-sst-files-size")
                .unwrap()
                .unwrap_or(0);
            (*name, bytes)
        })
        .collect()
}

/// The child process: open the store as a restarted node does, then read.
fn open_only(dir: &Path) {
    let shape = std::env::var(SHAPE).unwrap();
    let shape: Vec<&str> = shape.split_whitespace().collect();
    let ledger = Ledger {
        entries: shape[0].parse().unwrap(),
        block: shape[1].parse().unwrap(),
        genesis: veil_crypto::encoding::from_hex_array(shape[2]).unwrap(),
    };
    let samples = shape[3].parse().unwrap();
    let started = Instant::now();
    let store = RocksStore::open(dir).unwrap();
    let head = store.head().unwrap().unwrap();
    let opened = started.elapsed();
    assert_eq!(head.0, ledger.entries.div_ceil(ledger.block));
    let figures = reads(&store, &ledger, ledger.entries, samples);
    println!(
        "reads at the end ({} entries, a fresh process; opening the store took {:.2} s): \
         {figures}; peak RSS {:.0} MB",
        ledger.entries,
        opened.as_secs_f64(),
        peak_rss_mb(),
    );
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    if let Some(dir) = std::env::var_os(OPEN_ONLY) {
        open_only(Path::new(&dir));
        return;
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = if smoke {
        20_000
    } else {
        env("VEIL_LEDGER_ENTRIES", 1_000_000)
    };
    let block_size = env("VEIL_LEDGER_BLOCK", 100).max(1);
    let samples = if smoke { 2_000 } else { 10_000 };
    let (dir, remove) = match std::env::var_os("VEIL_LEDGER_BENCH_DIR") {
        Some(dir) => (PathBuf::from(dir), false),
        None => (
            std::env::temp_dir().join(format!("veil-ledger-bench-{}", std::process::id())),
            true,
        ),
    };

    let started = Instant::now();
    let months = veil_node::view_keys::months_from_through("2026-01", "2026-11");
    let (consortium, _regulator) = TestConsortium::new(MEMBERS, 17, 43_000).with_regulator(&months);
    let templates = templates(&consortium);
    let genesis = consortium.genesis.clone();
    let ledger = Ledger {
        entries: n,
        block: block_size,
        genesis: genesis.hash,
    };
    let validators = veil_node::runner::validators(&genesis).unwrap();
    let quorum = validators.quorum::<commonware_utils::N3f1>() as usize;
    let signers: Vec<Scheme> = consortium.members[..quorum]
        .iter()
        .map(|m| Scheme::signer(CONSENSUS_NAMESPACE, validators.clone(), m.consensus.clone()))
        .collect::<Option<_>>()
        .unwrap();
    println!(
        "entries: copies of {TEMPLATES} real loans, a repayment of each and a settlement of \
         those (made and validated in {:.1} s); {MEMBERS} members and a regulator, \
         finalizations by {quorum} validators",
        started.elapsed().as_secs_f64(),
    );

    let store = RocksStore::open(&dir).unwrap();
    store.check_genesis(&genesis.hash).unwrap();
    let genesis_block = veil_node::runner::genesis_block(&genesis);
    let mut parent = genesis_block.digest();
    store
        .apply(&applied(&genesis_block, parent, Vec::new()))
        .unwrap();

    // Build.
    let mut rng = Rng(n);
    let mut sizes = [(0u64, 0u64); 3];
    let (mut block_bytes, mut finalization_bytes) = (0u64, 0u64);
    let mut applying = Vec::new();
    let mut early = false;
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let height = ledger.position(i).0;
        let end = (i + block_size).min(n);
        let entries: Vec<Entry> = (i..end)
            .map(|j| ledger_entry(&templates, &ledger, j, &mut rng))
            .collect();
        let proposer = consortium.members[height as usize % MEMBERS]
            .consensus
            .public_key();
        let block = Block::new(
            height,
            parent,
            1_764_000_000_000 + i * 100,
            proposer.as_ref().try_into().unwrap(),
            entries,
        );
        for (j, bytes) in (i..end).zip(block.encoded_entries()) {
            let slot = match kind(j) {
                Kind::Loan(_) => 0,
                Kind::Repayment => 1,
                Kind::Settlement(_) => 2,
            };
            sizes[slot].0 += 1;
            sizes[slot].1 += bytes.len() as u64;
        }
        let digest = block.digest();
        let finalization = finalization(&signers, &block, digest);
        let write = applied(&block, digest, finalization);
        block_bytes += write.block.block.len() as u64;
        finalization_bytes += write.block.finalization.len() as u64;
        let applying_started = Instant::now();
        store.apply(&write).unwrap();
        applying.push(applying_started.elapsed());
        parent = digest;
        i = end;
        if !early && i >= EARLY.min(n) {
            early = true;
            println!(
                "reads at the start ({i} entries, during the build): {}",
                reads(&store, &ledger, i, samples)
            );
        }
        if n >= 100_000 && i % (n / 10) < block_size {
            eprintln!("{i} entries in {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    let wall = started.elapsed();
    let blocks = applying.len();
    let apply: Duration = applying.iter().sum();
    println!(
        "build: {n} entries in {blocks} blocks of {block_size} in {:.1} s, {:.1} s of it in \
         Store::apply ({:.0} entries/s; a block's apply p50 / p99 {}; the rest makes the \
         entries, blocks and certificates), peak RSS {:.0} MB",
        wall.as_secs_f64(),
        apply.as_secs_f64(),
        n as f64 / apply.as_secs_f64(),
        show(percentiles(applying)),
        peak_rss_mb(),
    );
    let [loans, repayments, settlements] = sizes;
    let mean = |(count, bytes): (u64, u64)| bytes.checked_div(count).unwrap_or(0);
    let encoded = loans.1 + repayments.1 + settlements.1;
    println!(
        "sizes: {} loans of {} B, {} repayments of {} B, {} settlements of {} B (encoded, \
         mean); {:.0} B per entry; block records {:.0} B per entry (the encoded block, its \
         entries included) and finalizations {:.0} B per block",
        loans.0,
        mean(loans),
        repayments.0,
        mean(repayments),
        settlements.0,
        mean(settlements),
        encoded as f64 / n as f64,
        block_bytes as f64 / n as f64,
        finalization_bytes as f64 / blocks as f64,
    );
    drop(store);

    let total = dir_bytes(&dir, &|_| true);
    let wal = dir_bytes(&dir, &|name| {
        name.ends_with(".log") && !name.starts_with("LOG")
    });
    let families = family_bytes(&dir)
        .into_iter()
        .map(|(name, bytes)| {
            format!(
                "{name} {:.1} MB ({:.0} B per entry)",
                mb(bytes),
                bytes as f64 / n as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "disk: {:.1} MB in {} after closing ({:.0} B per entry, {:.2}× the encoded entries), \
         {:.1} MB of it write-ahead log; SST files: {families}",
        mb(total),
        dir.display(),
        total as f64 / n as f64,
        total as f64 / encoded as f64,
        mb(wal),
    );

    // The end, as a restarted node: a fresh process opens the store and reads.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env(OPEN_ONLY, &dir)
        .env(
            SHAPE,
            format!(
                "{n} {block_size} {} {samples}",
                veil_crypto::encoding::to_hex(&genesis.hash)
            ),
        )
        .status()
        .unwrap();
    assert!(status.success());
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
