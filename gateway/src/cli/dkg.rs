//! `veil dkg`: the distributed key generation of the borrower-reference OPRF key among member
//! banks on separate hosts (see [`veil_gateway::consortium::dkg`] and `docs/ceremony.md`).

use std::path::PathBuf;

use veil_gateway::consortium::dkg::{self, DkgError};

/// `veil dkg` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Start a DKG among the member banks whose descriptors are given, in genesis order.
    New {
        /// The DKG directory (must not exist or be empty).
        #[arg(long)]
        dir: PathBuf,
        /// A member's descriptor (`veil member keygen`), once per member, in the order of the
        /// genesis's members.
        #[arg(long = "descriptor", required = true)]
        descriptors: Vec<PathBuf>,
        /// Members' answers an evaluation needs: more than half the members, at least 2
        /// (default: n − ⌊(n − 1)/3⌋, a consensus quorum).
        #[arg(long)]
        threshold: Option<u16>,
    },
    /// Make your round-1 package (fresh OS randomness), signed; your round-1 secret stays in
    /// your member directory.
    Round1 {
        /// The DKG directory.
        #[arg(long)]
        dir: PathBuf,
        /// Your member directory (`veil member keygen --dir`): member.json and keys/.
        #[arg(long)]
        keys: PathBuf,
    },
    /// Once every member made its round-1 package: seal your round-2 package for each other
    /// member to its encryption key, signed.
    Round2 {
        /// The DKG directory.
        #[arg(long)]
        dir: PathBuf,
        /// Your member directory.
        #[arg(long)]
        keys: PathBuf,
    },
    /// Once every member sent its round-2 packages: open yours, write your key share to
    /// keys/oprf.share and your signed result.
    Finish {
        /// The DKG directory.
        #[arg(long)]
        dir: PathBuf,
        /// Your member directory.
        #[arg(long)]
        keys: PathBuf,
    },
    /// Verify every file (signatures, names, proofs, results), print the public key and the
    /// transcript hash, and say what is missing.
    Verify {
        /// The DKG directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Runs a `veil dkg` subcommand; returns what to print.
pub(crate) fn run(command: Command) -> Result<String, DkgError> {
    match command {
        Command::New {
            dir,
            descriptors,
            threshold,
        } => dkg::new(&dir, &descriptors, threshold),
        Command::Round1 { dir, keys } => dkg::round1(&dir, &keys),
        Command::Round2 { dir, keys } => dkg::round2(&dir, &keys),
        Command::Finish { dir, keys } => dkg::finish(&dir, &keys),
        Command::Verify { dir } => dkg::verify(&dir).map(|v| v.summary()),
    }
}
