//! The `veil` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Veil: the privacy layer for banks that share one loan ledger.
#[derive(Debug, Parser)]
#[command(name = "veil", version, about, long_about = None)]
struct Cli {
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a consortium: CA, member keys and certificates, regulator view keys, genesis,
    /// policy set, one config per process.
    Init {
        /// Directory to create (must be empty unless --force).
        #[arg(long)]
        dir: PathBuf,
        /// Number of member banks.
        #[arg(long, default_value_t = 4)]
        banks: usize,
        /// Number of regulators.
        #[arg(long, default_value_t = 1)]
        regulators: usize,
        /// First TCP port to assign (each bank takes ten, regulators from base + 500).
        #[arg(long, default_value_t = 7100)]
        base_port: u16,
        /// Overwrite a non-empty directory.
        #[arg(long)]
        force: bool,
    },
    /// Run one member's node.
    Node {
        /// The node's config file (`DIR/<bank>/node.toml`).
        #[arg(long)]
        config: PathBuf,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a Cedar policy file against Veil's schema and print its hash.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,commonware=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init {
            dir,
            banks,
            regulators,
            base_port,
            force,
        } => {
            let options = veil_gateway::init::InitOptions {
                banks,
                regulators,
                base_port,
                force,
                ..Default::default()
            };
            let consortium = veil_gateway::init::init(&dir, &options)?;
            println!(
                "initialized consortium {} in {}: {} banks, {} regulator(s)",
                consortium.consortium_id,
                dir.display(),
                consortium.members.len(),
                consortium.regulators.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Node { config } => {
            let code = veil_node::process::run(&config).map_err(anyhow::Error::msg)?;
            Ok(ExitCode::from(code as u8))
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => {
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
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
