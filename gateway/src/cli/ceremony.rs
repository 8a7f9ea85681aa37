//! `veil ceremony`: the multi-party setup of the circuits' keys (see
//! [`veil_gateway::consortium::ceremony`] and `docs/ceremony.md`).

use std::path::PathBuf;

use veil_gateway::consortium::ceremony::{self, CeremonyError};

/// `veil ceremony` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Start a ceremony for a consortium of BANKS member banks.
    New {
        /// The ceremony directory (must not exist or be empty).
        #[arg(long)]
        dir: PathBuf,
        /// Number of member banks (the consortium `veil init --banks` will make).
        #[arg(long, default_value_t = 4)]
        banks: usize,
        /// Settlement circuit capacities to make keys for.
        #[arg(long, value_delimiter = ',', default_values_t = veil_gateway::consortium::DEFAULT_CAPACITIES)]
        settlement_capacities: Vec<usize>,
    },
    /// Add MEMBER's contribution (fresh OS randomness, forgotten afterwards) to a phase.
    Contribute {
        /// The ceremony directory.
        #[arg(long)]
        dir: PathBuf,
        /// The contributing member, e.g. bank-a.
        #[arg(long)]
        member: String,
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
    /// Verify the whole transcript and say what is missing.
    Verify {
        /// The ceremony directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Runs a `veil ceremony` subcommand; returns what to print.
pub(crate) fn run(command: Command) -> Result<String, CeremonyError> {
    match command {
        Command::New {
            dir,
            banks,
            settlement_capacities,
        } => ceremony::new(&dir, banks, &settlement_capacities),
        Command::Contribute { dir, member, phase } => ceremony::contribute(&dir, &member, phase),
        Command::Prepare { dir } => ceremony::prepare(&dir),
        Command::Verify { dir } => ceremony::verify(&dir).map(|v| v.summary()),
    }
}
