//! Closing a clearing period at the business's size: what the close adds, and what each
//! repayment already cost when it was written.
//!
//! `cargo bench -p veil-gateway --bench settlement -- --bench` makes a consortium of 21 banks
//! (`veil init`'s dev keys, one regulator, no screening) and a period (`2026-11`) of
//! `VEIL_PERIOD_REPAYMENTS` repayments (default 10,000), all by one originator, `bank-a`: one
//! installment each of as many loans of 2 to 4 participants, the partners drawn from the other
//! 20 banks, principals, rates and shares in fen and basis points as
//! [`veil_gateway::scenario::Workload`] draws them. The ledger is one node's RocksStore under
//! `VEIL_SETTLEMENT_BENCH_DIR` (default: a fresh directory in the system's temporary
//! directory, removed at the end). It prints:
//!
//! - repayment: writing one with the gateway's builder (`Builder::repayment`: its Groth16
//!   settlement proof with the dev key, split and range proofs, encryption), its encoded size,
//!   and a node's validation of it (`Validator::check_stateless`, then `check_stateful`), the
//!   median of a few;
//! - close k/n: each `settlement.closed` the period needs (at most [`MAX_SETTLED`] repayments
//!   each): the gateway reading what it settles (`Gateway::unsettled_repayments`, the write
//!   path's own function, over an in-process node as in `veil up`; the repayments left in its
//!   index of the period), building it (`Builder::settlement`), its encoded size; a node
//!   decoding it, `check_stateless` once and `check_stateful` [`STATEFUL_RUNS`] times (the
//!   median), as every node does (admission, ordering or voting, applying), and storing it with
//!   its block;
//! - the close's totals, and per repayment closing's cost and writing's;
//! - both scaled to ten million repayments a month: each grows linearly (closing at the rates
//!   of the full settlements).
//!
//! Over a node in another process each repayment the gateway reads also costs it two round
//! trips to the node (is it settled, the entry) and each loan one more; not measured here.
//!
//! What is real and what is synthetic: the consortium, the gateway, the node's store and
//! validator, and every settlement entry are the production code. A few repayments
//! (`VEIL_PERIOD_SAMPLES` per participant count, default 3) and their loans are built end to
//! end by the gateway's builder. The others, to avoid ten thousand Groth16 proofs, are made
//! here as the builders make them: the same fields, openings, Pedersen commitments (their real
//! amounts and allocations) and reader groups sealed to the same recipients, signed by
//! `bank-a`; their proofs are copied from a builder-made entry of the same participant count,
//! so they are not valid for their ids. Closing a period never reads them: nodes verified them
//! when each repayment was ordered. Before measuring, the bench checks that a synthetic entry
//! made from a builder-made entry's request has the same encoded length, reader groups and
//! commitment labels, and that synthetic repayments pass every stateful check a node makes.
//!
//! `cargo test --all-targets` runs it without `--bench`: a smoke run of 24 repayments, one
//! builder-made per participant count.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use veil_crypto::Opening;
use veil_gateway::consortium::config::GatewayKind;
use veil_gateway::consortium::{self, InitOptions};
use veil_gateway::entry::builder::{
    BorrowerRefs, BuildTimings, Builder, LoanTerms, opening_plaintext,
};
use veil_gateway::entry::circuits::ProvingKeys;
use veil_gateway::entry::keys::MemberSecrets;
use veil_gateway::entry::request::{self, LoanOriginated, LoanRepaid, Request, allocate};
use veil_gateway::entry::view_keys::PublishedViewKeys;
use veil_gateway::scenario::{self, Workload};
use veil_gateway::service::store::GatewayStore;
use veil_gateway::service::{Gateway, Secrets};
use veil_node::consensus::gossip::GossipHandle;
use veil_node::genesis::Genesis;
use veil_node::ledger::entry::MAX_SETTLED;
use veil_node::ledger::{Entry, EntryHeader, EntryId, EntryProofs, UnsignedEntry};
use veil_node::link::{LocalNode, NodeLink};
use veil_node::state::{NodeMetrics, NodeState};
use veil_node::store::rocks::RocksStore;
use veil_node::store::{AppliedBlock, AppliedEntry, Store as _, StoredBlock};
use veil_node::testkit::TestConsortium;
use veil_node::validation::{PendingView, Validator, supersedes_references};
use veil_policies::{EntryType, Policies};

const BANKS: usize = 21;
const ORIGINATOR: &str = "bank-a";
/// The month the loans were originated in, and the period their installments are settled in.
const LOAN_MONTH: &str = "2026-10";
const PERIOD: &str = "2026-11";
/// 2026-10-15 and 2026-11-30, UTC.
const LOAN_TIME_MS: u64 = 1_792_022_400_000;
const CLOSE_TIME_MS: u64 = 1_795_996_800_000;
/// Entries per stored block (a block holds at most 1,024 and 4 MB).
const BLOCK_ENTRIES: usize = 400;
/// Stateful checks of each settlement: every node runs them when it admits the entry, when it
/// orders or votes on its block, and when it applies the finalized block.
const STATEFUL_RUNS: usize = 3;
/// The monthly volume the totals are scaled to.
const MONTH: usize = 10_000_000;
/// Synthetic repayments checked against the node's stateful rules before measuring.
const STATEFUL_SAMPLES: usize = 16;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// One installment of one loan: the requests the originator's gateway receives.
struct Installment {
    loan: LoanOriginated,
    repayment: LoanRepaid,
}

impl Installment {
    fn participants(&self) -> usize {
        self.loan.participants.len()
    }
}

/// The period's installments: loans of `bank-a` with one to three partners drawn from the
/// other 20 banks, as the scenario draws their numbers.
fn installments(n: usize, seed: u64) -> Vec<Installment> {
    let banks = consortium::bank_ids(BANKS);
    let mut numbers = Workload::new(seed);
    (0..n)
        .map(|k| {
            let count = 1 + numbers.below(3) as usize;
            let mut partners: Vec<&str> = Vec::with_capacity(count);
            while partners.len() < count {
                let bank = banks[1 + numbers.below(BANKS as u64 - 1) as usize].as_str();
                if !partners.contains(&bank) {
                    partners.push(bank);
                }
            }
            let loan = numbers.loan(&format!("P-{k:06}"), ORIGINATOR, &partners);
            let repayment = scenario::installment(&loan, PERIOD);
            let (Request::LoanOriginated(loan), Request::LoanRepaid(repayment)) = (
                request::parse(&json(&loan)).unwrap(),
                request::parse(&json(&repayment)).unwrap(),
            ) else {
                panic!("the scenario's requests parse as a loan and a repayment");
            };
            Installment { loan, repayment }
        })
        .collect()
}

/// The shares of a loan by bank, sorted by bank (as the gateway reads them from the ledger).
fn shares(loan: &LoanOriginated) -> Vec<(String, u64)> {
    let mut shares: Vec<(String, u64)> = loan
        .participants
        .iter()
        .map(|p| (p.bank.clone(), p.share_bps))
        .collect();
    shares.sort();
    shares
}

/// The stand-in borrower reference of a national id (the threshold OPRF's is another value of
/// the same length).
fn borrower_ref(national_id: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(national_id.as_bytes()).into()
}

/// What an entry of `bank-a` holds before it is sealed: as the builders lay it out.
struct Parts {
    kind: EntryType,
    nonce: [u8; 16],
    period: &'static str,
    timestamp_ms: u64,
    references: Vec<EntryId>,
    participants: Vec<String>,
    fields: Vec<(String, Vec<u8>)>,
    openings: Vec<(String, Opening)>,
}

/// Makes entries of `bank-a` the way its builders do, without their proofs.
struct Synthesizer<'a> {
    consortium: &'a TestConsortium,
    secrets: &'a MemberSecrets,
}

impl Synthesizer<'_> {
    /// The sealed, committed and signed entry of `parts`, carrying `proofs`.
    fn seal(&self, parts: Parts, proofs: &EntryProofs) -> Entry {
        let genesis = &self.consortium.genesis;
        let id = EntryId::derive(&genesis.hash, ORIGINATOR, &parts.nonce);
        let header = EntryHeader {
            id,
            nonce: parts.nonce,
            genesis: genesis.hash,
            kind: parts.kind.name().to_owned(),
            submitter: ORIGINATOR.to_owned(),
            schema_version: parts.kind.schema_version(),
            policy_hash: genesis.policy_hash,
            timestamp_ms: parts.timestamp_ms,
            period: parts.period.to_owned(),
            references: parts.references,
        };
        let statement = header.statement_id();
        let context = header.field_context(&genesis.consortium_id, &statement);
        let texts: Vec<(String, zeroize::Zeroizing<Vec<u8>>)> = parts
            .openings
            .iter()
            .map(|(label, opening)| (label.clone(), opening_plaintext(opening)))
            .collect();
        let plaintexts: Vec<(&str, &[u8])> = parts
            .fields
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_slice()))
            .chain(
                texts
                    .iter()
                    .map(|(path, text)| (path.as_str(), text.as_slice())),
            )
            .collect();
        let groups = self.consortium.seal_groups(
            parts.kind,
            ORIGINATOR,
            &parts.participants,
            parts.period,
            &context,
            &plaintexts,
        );
        let mut openings = parts.openings;
        openings.sort_by(|a, b| a.0.cmp(&b.0));
        UnsignedEntry {
            header,
            groups,
            commitments: openings
                .iter()
                .map(|(label, opening)| (label.clone(), opening.commit()))
                .collect(),
            proofs: proofs.clone(),
        }
        .sign(&self.consortium.members[0].signing)
    }

    /// `Builder::loan`'s entry for `loan` (unscreened), with `proofs`.
    fn loan(&self, loan: &LoanOriginated, proofs: &EntryProofs) -> Entry {
        let mut participants: Vec<String> =
            loan.participants.iter().map(|p| p.bank.clone()).collect();
        participants.sort();
        let reference = veil_crypto::encoding::to_hex(&borrower_ref(&loan.borrower.national_id));
        let fields = vec![
            ("loan_id".to_owned(), json(&loan.loan_id)),
            ("borrower.name".to_owned(), json(&loan.borrower.name)),
            (
                "borrower.national_id".to_owned(),
                json(&loan.borrower.national_id),
            ),
            ("borrower.phone".to_owned(), json(&loan.borrower.phone)),
            ("borrower_ref".to_owned(), json(&reference)),
            ("term_days".to_owned(), json(&loan.term_days)),
            ("participants".to_owned(), json(&loan.participants)),
        ];
        let mut openings = vec![
            ("principal".to_owned(), Opening::random(loan.principal)),
            (
                "annual_rate_bps".to_owned(),
                Opening::random(loan.annual_rate_bps),
            ),
        ];
        for p in &loan.participants {
            openings.push((format!("share.{}", p.bank), Opening::random(p.share_bps)));
        }
        for (bank, amount) in &loan.funding {
            openings.push((format!("funding.{bank}"), Opening::random(*amount)));
        }
        self.seal(
            Parts {
                kind: EntryType::LoanOriginated,
                nonce: self
                    .secrets
                    .loan_nonce(&self.consortium.genesis.consortium_id, &loan.loan_id),
                period: LOAN_MONTH,
                timestamp_ms: LOAN_TIME_MS,
                references: Vec::new(),
                participants,
                fields,
                openings,
            },
            proofs,
        )
    }

    /// `Builder::repayment`'s entry for `repayment` of `loan`, with `proofs`.
    fn repayment(&self, repayment: &LoanRepaid, loan: &LoanTerms, proofs: &EntryProofs) -> Entry {
        let allocations = allocate(repayment.amount, &loan.shares, ORIGINATOR).unwrap();
        let mut openings = vec![
            ("amount".to_owned(), Opening::random(repayment.amount)),
            (
                "principal_part".to_owned(),
                Opening::random(repayment.principal_part),
            ),
            (
                "interest_part".to_owned(),
                Opening::random(repayment.interest_part),
            ),
        ];
        for (bank, value) in &allocations {
            openings.push((format!("allocations.{bank}"), Opening::random(*value)));
        }
        self.seal(
            Parts {
                kind: EntryType::LoanRepaid,
                nonce: EntryId::random_nonce(),
                period: PERIOD,
                timestamp_ms: CLOSE_TIME_MS,
                references: vec![loan.entry_id],
                participants: loan.shares.iter().map(|(b, _)| b.clone()).collect(),
                fields: vec![
                    ("loan_id".to_owned(), json(&repayment.loan_id)),
                    ("period".to_owned(), json(&repayment.period)),
                ],
                openings,
            },
            proofs,
        )
    }
}

/// Panics unless `synthetic` has `real`'s encoded length, reader groups and commitment labels.
fn assert_same_layout(real: &Entry, synthetic: &Entry) {
    let groups = |e: &Entry| -> Vec<Vec<String>> {
        e.groups
            .iter()
            .map(|g| g.paths().map(str::to_owned).collect())
            .collect()
    };
    let labels =
        |e: &Entry| -> Vec<String> { e.commitments.iter().map(|(l, _)| l.clone()).collect() };
    assert_eq!(
        groups(real),
        groups(synthetic),
        "{} reader groups",
        real.header.kind
    );
    assert_eq!(
        labels(real),
        labels(synthetic),
        "{} commitments",
        real.header.kind
    );
    assert_eq!(
        real.encode().len(),
        synthetic.encode().len(),
        "{} encoded length",
        real.header.kind
    );
}

/// Writes `entries` as finalized blocks from `height` on (as the applier does, without the
/// block encoding, which validation never reads); returns the next height.
fn store_blocks(store: &RocksStore, mut height: u64, entries: &[&Entry]) -> u64 {
    for block in entries.chunks(BLOCK_ENTRIES) {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&height.to_be_bytes());
        store
            .apply(&AppliedBlock {
                block: StoredBlock {
                    height,
                    digest,
                    block: Vec::new(),
                    finalization: Vec::new(),
                },
                entries: block
                    .iter()
                    .map(|e| AppliedEntry {
                        id: e.header.id,
                        kind: e.header.kind.clone(),
                        references: e.header.references.clone(),
                        settles_references: supersedes_references(&e.header.kind),
                        bytes: e.encode(),
                    })
                    .collect(),
                registry: Vec::new(),
            })
            .unwrap();
        height += 1;
    }
    height
}

/// A node's validation of one entry, as the node runs it.
struct Verified {
    decode: Duration,
    stateless: Duration,
    stateful: Duration,
}

impl Verified {
    /// What every node spends: decoding and the stateless checks once, the stateful checks
    /// [`STATEFUL_RUNS`] times.
    fn per_node(&self) -> Duration {
        self.decode + self.stateless + self.stateful * STATEFUL_RUNS as u32
    }
}

fn verify(validator: &Validator, store: &RocksStore, bytes: &[u8], runs: usize) -> Verified {
    let started = Instant::now();
    let entry = Entry::decode(bytes).unwrap();
    let decode = started.elapsed();
    let started = Instant::now();
    validator.check_stateless(&entry).unwrap();
    let stateless = started.elapsed();
    let stateful = (0..runs)
        .map(|_| {
            let started = Instant::now();
            validator
                .check_stateful(&entry, &PendingView::new(store))
                .unwrap();
            started.elapsed()
        })
        .collect();
    Verified {
        decode,
        stateless,
        stateful: median(stateful),
    }
}

/// One `settlement.closed` of the period, measured.
struct Close {
    /// Repayments in the gateway's index of the period before the close read it.
    indexed: usize,
    settled: usize,
    banks: usize,
    read: Duration,
    build: Duration,
    timings: BuildTimings,
    bytes: usize,
    node: Verified,
    store: Duration,
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n, samples) = if smoke {
        (24, 1)
    } else {
        (
            env("VEIL_PERIOD_REPAYMENTS", 10_000),
            env("VEIL_PERIOD_SAMPLES", 3).max(1),
        )
    };
    let (dir, remove) = match std::env::var_os("VEIL_SETTLEMENT_BENCH_DIR") {
        Some(dir) => (PathBuf::from(dir), false),
        None => (
            std::env::temp_dir().join(format!("veil-settlement-bench-{}", std::process::id())),
            true,
        ),
    };
    let total = Instant::now();
    let started = Instant::now();
    let consortium_dir = dir.join("consortium");
    consortium::init(
        &consortium_dir,
        &InitOptions {
            banks: BANKS,
            force: true,
            screening: false,
            ..Default::default()
        },
    )
    .unwrap();
    let consortium_file = consortium_dir.join("consortium.toml");
    let genesis = Arc::new(Genesis::load(&consortium_file).unwrap());
    let policies = Policies::default_set().unwrap();
    let validator = Validator::with_policies(genesis.clone(), Arc::new(policies.clone())).unwrap();
    let test_consortium = TestConsortium::from_dir(&consortium_dir);
    let keys = consortium_dir.join(ORIGINATOR).join("keys");
    let load_secrets =
        || MemberSecrets::load(&keys.join("signing.key"), &keys.join("encryption.key")).unwrap();
    let secrets = load_secrets();
    let proving_keys = ProvingKeys::beside(&consortium_file);
    // Loaded once, as a running gateway has it: not part of any repayment's cost.
    proving_keys.settlement(&genesis, 1).unwrap();
    let period = installments(n, 2026);
    let borrower_refs: BorrowerRefs = period
        .iter()
        .map(|i| {
            let id = i.loan.borrower.national_id.clone();
            let reference = borrower_ref(&id);
            (id, reference)
        })
        .collect();
    let view_keys = PublishedViewKeys::default();
    let builder = Builder {
        genesis: &genesis,
        policies: &policies,
        secrets: &secrets,
        member: ORIGINATOR,
        proving_keys: &proving_keys,
        view_keys: &view_keys,
        borrower_refs: &borrower_refs,
        nonce: None,
    };
    let store_dir = dir.join("node");
    let store = Arc::new(RocksStore::open(&store_dir).unwrap());
    let setup_consortium = started.elapsed();

    // Builder-made loans and repayments: the first `samples` of each participant count.
    let started = Instant::now();
    let mut real = Vec::new();
    let mut counts = [0usize; 5];
    for (k, installment) in period.iter().enumerate() {
        let count = installment.participants();
        if counts[count] < samples {
            counts[count] += 1;
            real.push(k);
        }
    }
    let mut real_loans = Vec::with_capacity(real.len());
    let mut real_repayments = Vec::with_capacity(real.len());
    let mut repayment_builds = Vec::with_capacity(real.len());
    for &k in &real {
        let installment = &period[k];
        let (loan, _) = builder
            .loan(&installment.loan, None, LOAN_MONTH, LOAN_TIME_MS)
            .unwrap();
        let terms = LoanTerms {
            entry_id: loan.header.id,
            loan_id: installment.loan.loan_id.clone(),
            shares: shares(&installment.loan),
        };
        let started = Instant::now();
        let (repayment, timings) = builder
            .repayment(&installment.repayment, &terms, CLOSE_TIME_MS)
            .unwrap();
        repayment_builds.push((started.elapsed(), timings));
        real_loans.push(loan);
        real_repayments.push(repayment);
    }
    let template = |count: usize| {
        let i = real
            .iter()
            .position(|&k| period[k].participants() == count)
            .unwrap();
        (&real_loans[i], &real_repayments[i])
    };

    // Synthetic twins of the builder-made entries must match them.
    let synthesizer = Synthesizer {
        consortium: &test_consortium,
        secrets: &secrets,
    };
    for (i, &k) in real.iter().enumerate() {
        let installment = &period[k];
        let loan = synthesizer.loan(&installment.loan, &real_loans[i].proofs);
        assert_same_layout(&real_loans[i], &loan);
        let terms = LoanTerms {
            entry_id: real_loans[i].header.id,
            loan_id: installment.loan.loan_id.clone(),
            shares: shares(&installment.loan),
        };
        let repayment =
            synthesizer.repayment(&installment.repayment, &terms, &real_repayments[i].proofs);
        assert_same_layout(&real_repayments[i], &repayment);
    }

    // The rest of the period.
    let synthetic: Vec<(Entry, Entry)> = period
        .par_iter()
        .enumerate()
        .filter(|(k, _)| !real.contains(k))
        .map(|(_, installment)| {
            let (real_loan, real_repayment) = template(installment.participants());
            let loan = synthesizer.loan(&installment.loan, &real_loan.proofs);
            let terms = LoanTerms {
                entry_id: loan.header.id,
                loan_id: installment.loan.loan_id.clone(),
                shares: shares(&installment.loan),
            };
            let repayment =
                synthesizer.repayment(&installment.repayment, &terms, &real_repayment.proofs);
            (loan, repayment)
        })
        .collect();
    let loans: Vec<&Entry> = real_loans
        .iter()
        .chain(synthetic.iter().map(|(loan, _)| loan))
        .collect();
    let repayments: Vec<&Entry> = real_repayments
        .iter()
        .chain(synthetic.iter().map(|(_, repayment)| repayment))
        .collect();
    let height = store_blocks(&store, 0, &loans);

    // A node's validation of a builder-made repayment (its loan is stored), before it is.
    let repayment_checks: Vec<Verified> = real_repayments
        .iter()
        .map(|r| verify(&validator, &store, &r.encode(), STATEFUL_RUNS))
        .collect();
    for repayment in synthetic.iter().take(STATEFUL_SAMPLES).map(|(_, r)| r) {
        validator
            .check_stateful(repayment, &PendingView::new(store.as_ref()))
            .unwrap();
    }
    let mut height = store_blocks(&store, height, &repayments);

    // The originator's gateway over its in-process node, with its index of the period's
    // repayments (what the write path records once each is finalized).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let metrics = {
        use commonware_runtime::Runner as _;
        commonware_runtime::deterministic::Runner::default()
            .start(|context| async move { NodeMetrics::register(&context) })
    };
    let state = Arc::new(NodeState::new(
        validator.clone(),
        ORIGINATOR.to_owned(),
        store.clone(),
        metrics,
    ));
    let gateway_store = GatewayStore::open(&dir.join("gateway")).unwrap();
    for repayment in &repayments {
        gateway_store
            .put_repayment(PERIOD, &repayment.header.id)
            .unwrap();
    }
    let gateway = Gateway::new(
        GatewayKind::Member,
        ORIGINATOR.to_owned(),
        validator.clone(),
        policies.clone(),
        NodeLink::Local(LocalNode {
            state,
            gossip: GossipHandle::disconnected(),
        }),
        Secrets::Member(Box::new(load_secrets())),
        gateway_store,
        ProvingKeys::beside(&consortium_file),
    );
    let setup = started.elapsed();
    println!(
        "setup: {BANKS} banks ({:.1} s), {n} repayments of {PERIOD} by {ORIGINATOR} \
         ({} and their loans built by the gateway's builder, {} synthetic), stored in {:.1} s",
        setup_consortium.as_secs_f64(),
        real.len(),
        synthetic.len(),
        setup.as_secs_f64(),
    );

    // Writing a repayment.
    let build = median(repayment_builds.iter().map(|(d, _)| *d).collect());
    let prove = median(repayment_builds.iter().map(|(_, t)| t.prove).collect());
    let encrypt = median(repayment_builds.iter().map(|(_, t)| t.encrypt).collect());
    let repayment_bytes = real_repayments
        .iter()
        .map(|r| r.encode().len())
        .sum::<usize>()
        / real_repayments.len();
    let repayment_node = Verified {
        decode: median(repayment_checks.iter().map(|v| v.decode).collect()),
        stateless: median(repayment_checks.iter().map(|v| v.stateless).collect()),
        stateful: median(repayment_checks.iter().map(|v| v.stateful).collect()),
    };
    println!(
        "repayment (median of {}): built in {:.3} s (proofs {:.3} s, encryption {:.2} ms), \
         {repayment_bytes} bytes; a node verifies it in {:.2} ms (stateless {:.2} ms, \
         stateful {:.2} ms)",
        real.len(),
        build.as_secs_f64(),
        prove.as_secs_f64(),
        ms(encrypt),
        ms(repayment_node.decode + repayment_node.stateless + repayment_node.stateful),
        ms(repayment_node.stateless),
        ms(repayment_node.stateful),
    );

    // Closing the period.
    let mut closes: Vec<Close> = Vec::new();
    let expected = n.div_ceil(MAX_SETTLED);
    loop {
        let indexed = gateway
            .store
            .repayments(PERIOD, None, usize::MAX)
            .unwrap()
            .len();
        let started = Instant::now();
        let mut unsettled = runtime
            .block_on(gateway.unsettled_repayments(PERIOD))
            .unwrap();
        let read = started.elapsed();
        if unsettled.is_empty() {
            break;
        }
        unsettled.truncate(MAX_SETTLED);
        let started = Instant::now();
        let (entry, timings) = builder
            .settlement(PERIOD, &unsettled, CLOSE_TIME_MS)
            .unwrap();
        let build = started.elapsed();
        let bytes = entry.encode();
        let node = verify(&validator, &store, &bytes, STATEFUL_RUNS);
        let started = Instant::now();
        height = store_blocks(&store, height, &[&entry]);
        let stored = started.elapsed();
        // What the write path does once its settlement is finalized.
        gateway
            .store
            .forget_repayments(PERIOD, &entry.header.references)
            .unwrap();
        let close = Close {
            indexed,
            settled: unsettled.len(),
            banks: entry.commitments.len(),
            read,
            build,
            timings,
            bytes: bytes.len(),
            node,
            store: stored,
        };
        println!(
            "close {}/{expected}: {} repayments (of {} indexed), {} banks due; gateway: read \
             {:.0} ms, built {:.0} ms (proofs {:.0} ms, encryption {:.1} ms), {} bytes; each \
             node: decode {:.2} ms, stateless {:.1} ms, stateful {:.0} ms (median of \
             {STATEFUL_RUNS}), store {:.1} ms",
            closes.len() + 1,
            close.settled,
            close.indexed,
            close.banks,
            ms(close.read),
            ms(close.build),
            ms(close.timings.prove),
            ms(close.timings.encrypt),
            close.bytes,
            ms(close.node.decode),
            ms(close.node.stateless),
            ms(close.node.stateful),
            ms(close.store),
        );
        closes.push(close);
    }
    assert_eq!(closes.len(), expected);
    assert_eq!(closes.iter().map(|c| c.settled).sum::<usize>(), n);

    let sum = |f: &dyn Fn(&Close) -> Duration| closes.iter().map(f).sum::<Duration>();
    let gateway_close = sum(&|c| c.read + c.build);
    let node_close = sum(&|c| c.node.per_node() + c.store);
    let close_bytes: usize = closes.iter().map(|c| c.bytes).sum();
    println!(
        "closing {n} repayments: {} entries, {close_bytes} bytes; gateway {:.2} s (read {:.2} s, \
         build {:.2} s); each node {:.2} s (stateless once, stateful {STATEFUL_RUNS} times, \
         store)",
        closes.len(),
        gateway_close.as_secs_f64(),
        sum(&|c| c.read).as_secs_f64(),
        sum(&|c| c.build).as_secs_f64(),
        node_close.as_secs_f64(),
    );
    let per = |d: Duration| ms(d) / n as f64;
    println!(
        "per repayment: closing adds gateway {:.3} ms, each node {:.3} ms, {:.1} bytes; writing \
         it cost gateway {:.1} ms, each node {:.2} ms, {repayment_bytes} bytes",
        per(gateway_close),
        per(node_close),
        close_bytes as f64 / n as f64,
        ms(build),
        ms(repayment_node.per_node()),
    );
    // Both grow linearly with the repayments. A month of ten million at these rates: closing
    // at the cost per repayment of the full settlements.
    let full: Vec<&Close> = closes.iter().filter(|c| c.settled == MAX_SETTLED).collect();
    if full.is_empty() {
        println!("at {MONTH} repayments a month: (no full settlement to scale from)");
    } else {
        let scale = MONTH as f64 / (full.len() * MAX_SETTLED) as f64;
        let hours = |f: &dyn Fn(&Close) -> Duration| {
            full.iter().map(|c| f(c)).sum::<Duration>().as_secs_f64() * scale / 3600.0
        };
        let month = |per_repayment: f64| per_repayment * MONTH as f64;
        println!(
            "at {MONTH} repayments a month: closing takes {} entries, {:.0} MB, gateway {:.1} \
             h, each node {:.2} h; writing the repayments took gateway {:.0} h, each node \
             {:.1} h, {:.0} MB",
            MONTH.div_ceil(MAX_SETTLED),
            full.iter().map(|c| c.bytes).sum::<usize>() as f64 * scale / 1e6,
            hours(&|c| c.read + c.build),
            hours(&|c| c.node.per_node() + c.store),
            month(build.as_secs_f64()) / 3600.0,
            month(repayment_node.per_node().as_secs_f64()) / 3600.0,
            month(repayment_bytes as f64) / 1e6,
        );
    }
    println!("total run: {:.1} s", total.elapsed().as_secs_f64());
    drop(gateway);
    drop(store);
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
