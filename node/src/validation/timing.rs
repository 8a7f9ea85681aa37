//! Where verification time goes, by kind of proof: a [`Validator`](super::Validator) reports
//! the time of each proof (and signature) it checks to a [`ProofTimer`], which nodes and
//! gateways export as a Prometheus histogram labelled `proof` ([`ProofKind::name`]). Gateways
//! time what they prove with the same kinds.

use std::fmt;
use std::time::{Duration, Instant};

use commonware_runtime::telemetry::metrics::{EncodeLabelSet, raw};

/// A kind of proof an entry carries (or its signature), as metrics label it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProofKind {
    /// The submitter's Ed25519 signature over the entry.
    Signature,
    /// The aggregated Bulletproofs range proof over the entry's amounts.
    Range,
    /// A Schnorr-style proof of a linear relation among commitments (one per relation).
    Relation,
    /// The decrypt handles and validity proofs of every amount to every regulator.
    Audit,
    /// A Groth16 settlement proof (a repayment's, capacity 1).
    Settlement,
    /// A loan's Groth16 screening proof.
    Screening,
}

impl ProofKind {
    /// Every kind, in label order.
    pub const ALL: [ProofKind; 6] = [
        ProofKind::Signature,
        ProofKind::Range,
        ProofKind::Relation,
        ProofKind::Audit,
        ProofKind::Settlement,
        ProofKind::Screening,
    ];

    /// The metrics label: `signature`, `range`, `relation`, `audit`, `settlement`, `screening`.
    pub fn name(self) -> &'static str {
        match self {
            ProofKind::Signature => "signature",
            ProofKind::Range => "range",
            ProofKind::Relation => "relation",
            ProofKind::Audit => "audit",
            ProofKind::Settlement => "settlement",
            ProofKind::Screening => "screening",
        }
    }
}

/// Receives the time a [`Validator`](super::Validator) spent on each proof it verified
/// (whether it verified or not).
pub trait ProofTimer: Send + Sync + fmt::Debug {
    /// One proof of `kind` took `elapsed` to verify.
    fn observe(&self, kind: ProofKind, elapsed: Duration);
}

/// Runs `check`, reporting its time under `kind` to `timer` (if any).
pub(super) fn timed<T>(
    timer: Option<&dyn ProofTimer>,
    kind: ProofKind,
    check: impl FnOnce() -> T,
) -> T {
    let Some(timer) = timer else {
        return check();
    };
    let started = Instant::now();
    let result = check();
    timer.observe(kind, started.elapsed());
    result
}

/// The `proof` label of [`ProofHistograms`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProofLabel {
    proof: &'static str,
}

/// A Prometheus histogram family of proof times in seconds, labelled `proof`
/// ([`ProofKind::name`]); buckets from 100 µs to 1 s. As a [`ProofTimer`] it records
/// verification times; gateways also use it for proving times ([`ProofHistograms::observe`]).
#[derive(Clone, Debug)]
pub struct ProofHistograms(raw::Family<ProofLabel, raw::Histogram>);

impl Default for ProofHistograms {
    fn default() -> Self {
        Self(raw::Family::new_with_constructor(|| {
            raw::Histogram::new([
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5,
            ])
        }))
    }
}

impl ProofHistograms {
    /// Histograms recording into `family` (a registered clone of [`ProofHistograms::family`]).
    pub fn from_family(family: raw::Family<ProofLabel, raw::Histogram>) -> Self {
        Self(family)
    }

    /// The family, to register.
    pub fn family(&self) -> &raw::Family<ProofLabel, raw::Histogram> {
        &self.0
    }
}

impl ProofTimer for ProofHistograms {
    fn observe(&self, kind: ProofKind, elapsed: Duration) {
        self.0
            .get_or_create(&ProofLabel { proof: kind.name() })
            .observe(elapsed.as_secs_f64());
    }
}
