//! The `veil` subcommands, one file each, and what they share: the argument parser, logging,
//! the one tokio runtime builder and the error report. Only this binary uses `anyhow`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod bench;
mod ceremony;
mod console;
mod consortium;
mod demo;
mod dkg;
mod init;
mod member;
mod policy;
mod progress;
mod publish;
mod regulator;
mod serve;
mod settlement;
mod up;

/// Veil: the privacy layer for banks that share one loan ledger.
#[derive(Debug, Parser)]
#[command(name = "veil", version = veil_gateway::VERSION, long_about = None)]
struct Cli {
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a whole test consortium on this machine: each bank's and regulator's keygen in its
    /// own subdirectory, the genesis assembled and signed by every bank, one config per process.
    Init(init::Args),
    /// Run the whole consortium in this process: every member's node and gateway and each
    /// regulator's read-only gateway (initializing DIR first if it holds no consortium).
    Up(up::Args),
    /// Serve the web console on loopback as MEMBER[:ROLE], speaking to that member's gateway
    /// with the member's client certificate (read-only).
    Console(console::Args),
    /// The joint-loan story end to end on an embedded consortium: what each party sees and
    /// verifies. Exits 0 only if every check held; writes DIR/demo-report.json.
    Demo(demo::Args),
    /// End-to-end benchmark through the gateways, with the crypto-only baseline and ratio.
    Bench(bench::Args),
    /// Regulator tools.
    Audit {
        #[command(subcommand)]
        command: audit::Command,
    },
    /// Run one member's node.
    Node(serve::Args),
    /// Run one member's gateway, or a regulator's read-only gateway.
    Gateway(serve::Args),
    /// Settlement tools.
    Settlement {
        #[command(subcommand)]
        command: settlement::Command,
    },
    /// One member bank's keys: `keygen` in its own directory, `issue` client certificates.
    Member {
        #[command(subcommand)]
        command: member::Command,
    },
    /// A regulator's keys: `keygen` in its own directory.
    Regulator {
        #[command(subcommand)]
        command: regulator::Command,
    },
    /// The genesis from the parties' descriptors: `assemble`, then `sign` by each founding
    /// member.
    Consortium {
        #[command(subcommand)]
        command: consortium::Command,
    },
    /// The multi-party setup of the circuit keys (docs/ceremony.md).
    Ceremony {
        #[command(subcommand)]
        command: ceremony::Command,
    },
    /// The members' distributed key generation of the borrower-reference OPRF key, each on
    /// its own host (docs/ceremony.md).
    Dkg {
        #[command(subcommand)]
        command: dkg::Command,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: policy::Command,
    },
}

/// Logs to stderr, filtered by `RUST_LOG`; by default services log at `info` and one-shot
/// commands (whose output is their report) only warnings. Nothing an unauthenticated peer
/// sends is logged at WARN or above.
fn init_logging(command: &Command, json: bool) {
    let default = match command {
        Command::Up(_) | Command::Node(_) | Command::Gateway(_) => "info,commonware=warn,r1cs=off",
        _ => "warn,r1cs=off",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // rustls warns about what a peer sent before it is authenticated (an IP address as the
    // server name, a duplicate extension): anyone could fill the log at WARN, one line per
    // connection. Its errors still show; `RUST_LOG=rustls=...` overrides this.
    let configured = std::env::var("RUST_LOG").unwrap_or_default();
    if !configured.contains("rustls") {
        for directive in ["rustls=error", "tokio_rustls=error"] {
            if let Ok(directive) = directive.parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    // Colours only on a terminal: a log file holds plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// This process's peak resident memory (`VmHWM` of `/proc/self/status`) in MB (10^6 bytes), or
/// `None` where the kernel does not report it. An embedded consortium runs every member in this
/// process, so the demo and the benchmark report it with its share per member.
pub(crate) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024.0 / 1e6)
}

/// The `memory` object of the demo's and the benchmark's reports: the process's peak resident
/// memory in MB and its share per member bank (`members` nodes and gateways, plus the
/// regulators' read-only gateways, all in this process).
pub(crate) fn memory_report(members: usize) -> serde_json::Value {
    match peak_rss_mb() {
        Some(peak) => serde_json::json!({
            "peak_rss_mb": peak.round(),
            "per_member_mb": (peak / members.max(1) as f64).round(),
        }),
        None => serde_json::Value::Null,
    }
}

/// The multi-threaded tokio runtime the async subcommands run on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Up(args) => up::run(args),
        Command::Console(args) => console::run(args),
        Command::Demo(args) => demo::run_command(args),
        Command::Bench(args) => bench::run_command(args),
        Command::Audit { command } => audit::run_command(command),
        Command::Node(args) => serve::node(args),
        Command::Gateway(args) => serve::gateway(args),
        Command::Settlement { command } => settlement::run_command(command),
        Command::Member { command } => member::run(command),
        Command::Regulator { command } => regulator::run(command),
        Command::Consortium { command } => consortium::run(command),
        Command::Ceremony { command } => {
            println!("{}", ceremony::run(command)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Dkg { command } => {
            println!("{}", dkg::run(command)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command } => policy::run(command),
    }
}

/// A panic is a bug in `veil`: it is logged as one ERROR line naming where it happened (no
/// backtrace unless `RUST_BACKTRACE` asks for one) instead of the default multi-line report.
fn report_panics_on_one_line() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%place, "internal error (a bug in veil, please report it): {message}");
    }));
}

/// The error and its causes on one line, each cause once (many errors already name their
/// cause in their own message).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// Raises this process's soft limit of open files to its hard limit (what the administrator
/// allows). A node holds a socket per peer and its journals' and databases' files; an embedded
/// consortium holds every member's in one process (about 10,000 at 64 members), above the soft
/// limit of 1,024 many systems start processes with. Where raising fails, the process runs with
/// the limit it has and says so.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }
}

/// Parses the command line, runs the subcommand, and reports an error on one line.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command, cli.log_json);
    report_panics_on_one_line();
    raise_open_files_limit();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}
