//! `veil ceremony`: the multi-party setup of the circuits' keys (see
//! [`veil_gateway::consortium::ceremony`] and `docs/ceremony.md`).

use std::path::PathBuf;

use veil_gateway::consortium::ceremony::{self, CeremonyError};

/// `veil ceremony` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Start a ceremony for the member banks whose descriptors are given, in genesis order.
    New {
        /// The ceremony directory (must not exist or be empty).
        #[arg(long)]
        dir: PathBuf,
        /// A member's descriptor (`veil member keygen`), once per member, in the order of the
        /// genesis's members.
        #[arg(long = "descriptor", required = true)]
        descriptors: Vec<PathBuf>,
    },
    /// Add your contribution (fresh OS randomness, forgotten afterwards) to a phase, signed
    /// with your member signing key.
    Contribute {
        /// The ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// Your member directory (`veil member keygen --dir`): member.json and
        /// keys/signing.key.
        #[arg(long)]
        keys: PathBuf,
        /// 1 (powers of tau) or 2 (the circuits' keys; after `prepare`).
        #[arg(long)]
        phase: u8,
    },
    /// Close phase 1 (every member contributed): verify it and derive the phase-2 keys.
    Prepare {
        /// The ceremony directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Verify the whole transcript (signatures, order, proofs), print its transcript hash and
    /// say what is missing.
    Verify {
        /// The ceremony directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Runs a `veil ceremony` subcommand; returns what to print.
pub(crate) fn run(command: Command) -> Result<String, CeremonyError> {
    match command {
        Command::New { dir, descriptors } => ceremony::new(
            &dir,
            &descriptors,
            &veil_gateway::consortium::DEFAULT_CAPACITIES,
        ),
        Command::Contribute { dir, keys, phase } => ceremony::contribute(&dir, &keys, phase),
        Command::Prepare { dir } => ceremony::prepare(&dir),
        Command::Verify { dir } => ceremony::verify(&dir).map(|v| v.summary()),
    }
}
