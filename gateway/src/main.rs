//! The `veil` command.

use clap::Parser;

/// Veil: a privacy layer for banks that share one loan ledger.
#[derive(Debug, Parser)]
#[command(name = "veil", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "veil {}: no subcommands yet; see README.md",
        env!("CARGO_PKG_VERSION")
    );
}
