//! `veil consortium assemble` and `veil consortium sign` (see
//! [`veil_gateway::consortium::assemble`]).

use std::path::PathBuf;
use std::process::ExitCode;

use veil_gateway::consortium::CircuitSource;
use veil_gateway::consortium::assemble::{self, AssembleOptions, OprfSource};
use veil_node::genesis::ParamsFile;

/// `veil consortium` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Build the genesis FILE (unsigned) and, beside it, the policy set and the circuit keys,
    /// from the parties' descriptors; members in the order given.
    Assemble {
        /// The genesis file to write (e.g. genesis/consortium.toml; policies/ and circuits/ go
        /// beside it).
        #[arg(long)]
        out: PathBuf,
        /// The consortium id every descriptor names.
        #[arg(long)]
        consortium: String,
        /// Each member's member.json and regulator's regulator.json (members in genesis order,
        /// the same order as the ceremony's).
        #[arg(required = true)]
        descriptors: Vec<PathBuf>,
        /// The verified ceremony whose final keys the genesis pins (docs/ceremony.md).
        #[arg(long, conflicts_with = "dev_circuits")]
        ceremony: Option<PathBuf>,
        /// Insecure deterministic dev keys for these settlement capacities (`1`: the proof each
        /// repayment carries; test consortia; nodes and gateways then need --dev).
        #[arg(long, value_delimiter = ',')]
        dev_circuits: Vec<usize>,
        /// Highest annual rate a loan may carry, in basis points.
        #[arg(long, default_value_t = veil_gateway::consortium::init::DEFAULT_RATE_CAP_BPS)]
        rate_cap_bps: u64,
        /// Do not screen borrowers (no screening circuit).
        #[arg(long)]
        no_screening: bool,
        /// The members' complete DKG of the borrower-reference key (`veil dkg`), whose public
        /// key the genesis carries (`[oprf]`); required for two or more members.
        #[arg(long)]
        dkg: Option<PathBuf>,
        /// Borrower-reference evaluations one member may ask of another per UTC day
        /// (default 20000).
        #[arg(long, requires = "dkg")]
        oprf_daily_limit: Option<u64>,
    },
    /// Add one founding member's signature to the genesis (after reviewing it).
    Sign {
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// The member's directory (member.json and keys/signing.key).
        #[arg(long)]
        dir: PathBuf,
        /// The ceremony directory, when the genesis pins ceremony keys: verified again before
        /// signing.
        #[arg(long, conflicts_with = "dev")]
        ceremony: Option<PathBuf>,
        /// Sign a test consortium's genesis whose circuit keys come from the insecure dev
        /// setup.
        #[arg(long)]
        dev: bool,
        /// The members' DKG directory, when the genesis has a borrower-reference OPRF key:
        /// verified again before signing, and the key checked to be its result.
        #[arg(long)]
        dkg: Option<PathBuf>,
    },
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Assemble {
            out,
            consortium,
            descriptors,
            ceremony,
            dev_circuits,
            rate_cap_bps,
            no_screening,
            dkg,
            oprf_daily_limit,
        } => {
            let circuits = match ceremony {
                Some(dir) => CircuitSource::Ceremony(dir),
                None if dev_circuits.is_empty() => anyhow::bail!(
                    "name the circuit keys: --ceremony DIR (a verified ceremony) or \
                     --dev-circuits 1 (insecure test keys; capacity 1, one repayment per proof)"
                ),
                None => CircuitSource::Dev(dev_circuits),
            };
            let file = assemble::assemble(
                &out,
                &descriptors,
                &AssembleOptions {
                    consortium,
                    params: ParamsFile {
                        rate_cap_bps,
                        max_amount_fen: Some(veil_node::genesis::DEFAULT_MAX_AMOUNT_FEN),
                    },
                    circuits,
                    screening: !no_screening,
                    oprf: match dkg {
                        Some(dir) => OprfSource::Dkg {
                            dir,
                            daily_limit: oprf_daily_limit,
                        },
                        None => OprfSource::None,
                    },
                },
            )?;
            println!(
                "assembled {} in {}: {} members, {} regulator(s){}; each founding member now \
                 reviews it and runs `veil consortium sign`",
                file.consortium_id,
                out.display(),
                file.members.len(),
                file.regulators.len(),
                match &file.oprf {
                    Some(oprf) => format!(
                        ", borrower-reference key {} (threshold {})",
                        oprf.group_key, oprf.threshold
                    ),
                    None => String::new(),
                }
            );
            let _ = &out;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign {
            genesis,
            dir,
            ceremony,
            dev,
            dkg,
        } => {
            let signed = assemble::sign(&genesis, &dir, ceremony.as_deref(), dev, dkg.as_deref())?;
            if signed.missing.is_empty() {
                println!(
                    "{} signed genesis {}: every founding member has signed",
                    signed.member, signed.hash
                );
            } else {
                println!(
                    "{} signed genesis {}; still to sign: {}",
                    signed.member,
                    signed.hash,
                    signed.missing.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
