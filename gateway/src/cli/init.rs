//! `veil init`: makes a consortium directory (see [`veil_gateway::consortium::init`]).

use std::path::PathBuf;
use std::process::ExitCode;

use veil_gateway::consortium::{self, CircuitSource, InitOptions};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Directory to create (must be empty unless --force).
    #[arg(long)]
    dir: PathBuf,
    /// Number of member banks (2 to 64; 4 unless --members names them).
    #[arg(long)]
    banks: Option<usize>,
    /// The banks' member ids, comma-separated, in genesis order (e.g.
    /// `webank,huarui-bank,…`; each `[a-z][a-z0-9-]{0,31}`); as many as --banks. Without it:
    /// bank-a, bank-b, …
    #[arg(long, value_delimiter = ',')]
    members: Option<Vec<String>>,
    /// Number of regulators.
    #[arg(long, default_value_t = 1)]
    regulators: usize,
    /// First TCP port to assign (each bank takes ten, regulators from base + 700).
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Overwrite a non-empty directory.
    #[arg(long)]
    force: bool,
    /// Do not screen borrowers: no screening circuit in the genesis, loans carry no
    /// screening proof (nodes then refuse one). For consortia without a shared KYC registry.
    #[arg(long)]
    no_screening: bool,
    /// Borrower-reference evaluations each member answers each other member per UTC day
    /// (the genesis' `[oprf] daily_limit`; 1 to 1,000,000; 20,000 if absent). Over it: 429.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    oprf_daily_limit: Option<u64>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let circuits = CircuitSource::Dev(consortium::DEFAULT_CAPACITIES.to_vec());
    let options = InitOptions {
        banks: match (&args.members, args.banks) {
            (Some(members), Some(banks)) if members.len() != banks => anyhow::bail!(
                "--members names {} banks, --banks says {banks}",
                members.len()
            ),
            (Some(members), _) => members.len(),
            (None, banks) => banks.unwrap_or(4),
        },
        members: args.members,
        regulators: args.regulators,
        base_port: args.base_port,
        force: args.force,
        circuits,
        screening: !args.no_screening,
        oprf_daily_limit: args.oprf_daily_limit,
        ..Default::default()
    };
    let consortium = consortium::init(&args.dir, &options)?;
    eprintln!(
        "warning: circuit keys (settlement, screening) from the insecure dev setup; nodes and \
         gateways need --dev. A real consortium is founded by its members (README, \
         docs/ceremony.md)."
    );
    println!(
        "initialized consortium {} in {}: {} banks, {} regulator(s)",
        consortium.consortium_id,
        args.dir.display(),
        consortium.members.len(),
        consortium.regulators.len()
    );
    Ok(ExitCode::SUCCESS)
}
