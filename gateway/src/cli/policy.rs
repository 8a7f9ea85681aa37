//! `veil policy check`: validate a Cedar policy file against Veil's schema.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Validate a Cedar policy file against Veil's schema and print its hash.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Check { file } = command;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let policies = veil_policies::Policies::parse(&text)
        .with_context(|| format!("{} is not a valid policy set", file.display()))?;
    println!(
        "{}: valid; policy hash {}",
        file.display(),
        veil_crypto::encoding::to_hex(&policies.hash())
    );
    Ok(ExitCode::SUCCESS)
}
