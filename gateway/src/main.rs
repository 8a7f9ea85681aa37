//! The `veil` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Veil: the privacy layer for banks that share one loan ledger.
#[derive(Debug, Parser)]
#[command(name = "veil", version = veil_gateway::VERSION, about, long_about = None)]
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
        /// Settlement circuit capacities to make (insecure, deterministic dev keys; nodes
        /// and gateways then need --dev). Ignored with --ceremony.
        #[arg(long, value_delimiter = ',', default_values_t = veil_gateway::init::DEFAULT_CAPACITIES)]
        settlement_capacities: Vec<usize>,
        /// Use the final keys of the verified ceremony in this directory (docs/ceremony.md).
        #[arg(long)]
        ceremony: Option<PathBuf>,
        /// Do not screen borrowers: no screening circuit in the genesis, loans carry no
        /// screening proof (nodes then refuse one). For consortia without a shared KYC registry.
        #[arg(long)]
        no_screening: bool,
    },
    /// Run the whole consortium in this process: every member's node and gateway and each
    /// regulator's read-only gateway (initializing DIR first if it holds no consortium).
    Up {
        /// The consortium directory.
        #[arg(long)]
        dir: PathBuf,
        /// Settlement circuit capacities to make when DIR is new (dev keys).
        #[arg(long, value_delimiter = ',', default_values_t = veil_gateway::init::DEFAULT_CAPACITIES)]
        settlement_capacities: Vec<usize>,
    },
    /// Serve the web console on loopback as MEMBER[:ROLE], speaking to that member's gateway
    /// with the member's client certificate (read-only).
    Console {
        /// The consortium directory.
        #[arg(long)]
        dir: PathBuf,
        /// Whose view: `bank-a`, `bank-b:clerk`, `regulator`, ... (role defaults to auditor).
        #[arg(long = "as", value_name = "MEMBER[:ROLE]")]
        identity: String,
        /// Where to listen (loopback only).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// The joint-loan story end to end on an embedded consortium: what each party sees and
    /// verifies. Exits 0 only if every check held; writes DIR/demo-report.json.
    Demo {
        /// Directory for the consortium and the report (replaced if made by a previous demo).
        #[arg(long, default_value = "veil-demo")]
        dir: PathBuf,
        /// Number of loans.
        #[arg(long, default_value_t = 12)]
        loans: usize,
    },
    /// End-to-end benchmark through the gateways, with the crypto-only baseline and ratio.
    Bench {
        /// Number of loans (each with one repayment).
        #[arg(long, default_value_t = 200)]
        loans: usize,
        /// Write the JSON report here too.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Consortium directory (default: a temporary one).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Regulator tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run one member's node.
    Node {
        /// The node's config file (`DIR/<bank>/node.toml`).
        #[arg(long)]
        config: PathBuf,
        /// Accept circuit keys from the insecure dev setup (test consortia only).
        #[arg(long)]
        dev: bool,
    },
    /// Run one member's gateway, or a regulator's read-only gateway.
    Gateway {
        /// The gateway's config file (`DIR/<bank>/gateway.toml` or `DIR/<regulator>/gateway.toml`).
        #[arg(long)]
        config: PathBuf,
        /// Accept circuit keys from the insecure dev setup (test consortia only).
        #[arg(long)]
        dev: bool,
    },
    /// Settlement tools.
    Settlement {
        #[command(subcommand)]
        command: SettlementCommand,
    },
    /// The multi-party setup of the circuit keys (docs/ceremony.md).
    Ceremony {
        #[command(subcommand)]
        command: veil_gateway::ceremony::Command,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Export every entry a view key opens (master or scoped), through the regulator's
    /// gateway: decrypted fields and, per amount, its commitment, value and blinding.
    Export {
        /// The consortium directory (the consortium must be running).
        #[arg(long)]
        dir: PathBuf,
        /// A master or scoped view key file.
        #[arg(long)]
        view_key: PathBuf,
        /// Output file (written with mode 0600: it holds customer data).
        #[arg(long)]
        out: PathBuf,
        /// Which regulator's gateway (default: the first).
        #[arg(long)]
        regulator: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SettlementCommand {
    /// Write a period's settlement proof for `snarkjs groth16 verify` (proof.json,
    /// public.json, verification_key.json), fetched through MEMBER's gateway and verified
    /// here against the genesis's pinned verifying key first.
    Export {
        /// The consortium directory (the consortium must be running).
        #[arg(long)]
        dir: PathBuf,
        /// Whose gateway and client certificate to use (a bank, or a regulator).
        #[arg(long)]
        member: String,
        /// The clearing period, YYYY-MM or YYYY-MM-DD.
        #[arg(long)]
        period: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Output format (only `snarkjs`).
        #[arg(long, default_value = "snarkjs")]
        format: String,
        /// The settling bank, if several settled the period.
        #[arg(long)]
        originator: Option<String>,
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

/// Logs to stderr, filtered by `RUST_LOG`; by default services log at `info` and one-shot
/// commands (whose output is their report) only warnings.
fn init_logging(command: &Command, json: bool) {
    let default = match command {
        Command::Up { .. } | Command::Node { .. } | Command::Gateway { .. } => {
            "info,commonware=warn,r1cs=off"
        }
        _ => "warn,r1cs=off",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
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
            settlement_capacities,
            ceremony,
            no_screening,
        } => {
            let circuits = match ceremony {
                Some(dir) => veil_gateway::init::CircuitSource::Ceremony(dir),
                None => {
                    eprintln!(
                        "warning: circuit keys (settlement, screening) from the insecure dev setup; nodes and \
                         gateways need --dev. Run the ceremony for a real consortium \
                         (docs/ceremony.md)."
                    );
                    veil_gateway::init::CircuitSource::Dev(settlement_capacities)
                }
            };
            let options = veil_gateway::init::InitOptions {
                banks,
                regulators,
                base_port,
                force,
                circuits,
                screening: !no_screening,
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
        Command::Up {
            dir,
            settlement_capacities,
        } => {
            let options = veil_gateway::init::InitOptions {
                circuits: veil_gateway::init::CircuitSource::Dev(settlement_capacities),
                ..Default::default()
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            runtime.block_on(async {
                let embedded = veil_gateway::up::Embedded::start(&dir, &options)
                    .await
                    .map_err(anyhow::Error::msg)?;
                println!("consortium running from {}", embedded.dir.display());
                for (id, gateway) in &embedded.gateways {
                    println!("  {id:<12} https://127.0.0.1:{}", gateway.addr.port());
                }
                println!(
                    "endpoints: {}",
                    veil_gateway::up::endpoints_path(&embedded.dir).display()
                );
                let listen: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
                let console =
                    veil_gateway::console::serve(&embedded.dir, "bank-a", Some("auditor"), listen)
                        .await
                        .map_err(anyhow::Error::msg)?;
                println!(
                    "console (as bank-a:auditor): {}  (another view: veil console --dir {} --as bank-b)",
                    console.url,
                    embedded.dir.display()
                );
                println!("stop with Ctrl-C");
                veil_node::process::shutdown_signal().await;
                println!("stopping");
                console.stop().await;
                embedded.stop().await.map_err(anyhow::Error::msg)?;
                Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
            })
        }
        Command::Console {
            dir,
            identity,
            listen,
        } => {
            let (member, role) = match identity.split_once(':') {
                Some((member, role)) => (member.to_owned(), Some(role.to_owned())),
                None => (identity.clone(), None),
            };
            if member.is_empty() || role.as_deref().is_some_and(str::is_empty) {
                anyhow::bail!("--as must be MEMBER or MEMBER:ROLE, e.g. bank-a:auditor");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            runtime.block_on(async {
                let console = veil_gateway::console::serve(&dir, &member, role.as_deref(), listen)
                    .await
                    .map_err(anyhow::Error::msg)?;
                println!("console as {identity}: {}  (stop with Ctrl-C)", console.url);
                veil_node::process::shutdown_signal().await;
                console.stop().await;
                Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
            })
        }
        Command::Demo { dir, loans } => {
            if loans == 0 {
                anyhow::bail!("--loans must be at least 1");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let progress = veil_gateway::progress::Progress::auto();
            let (report, passed) = runtime
                .block_on(veil_gateway::demo::run(&dir, loans, &progress))
                .map_err(anyhow::Error::msg)?;
            veil_gateway::demo::print(&report);
            println!("\nreport: {}", dir.join("demo-report.json").display());
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Bench { loans, out, dir } => {
            if loans < 8 {
                anyhow::bail!("--loans must be at least 8");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let progress = veil_gateway::progress::Progress::auto();
            let report = runtime
                .block_on(veil_gateway::bench::run(loans, dir.as_deref(), &progress))
                .map_err(anyhow::Error::msg)?;
            let text = serde_json::to_string_pretty(&report)?;
            println!("{text}");
            if let Some(out) = out {
                std::fs::write(&out, text + "\n")
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Export {
                    dir,
                    view_key,
                    out,
                    regulator,
                },
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let summary = runtime
                .block_on(veil_gateway::audit::export(
                    &dir,
                    &view_key,
                    &out,
                    regulator.as_deref(),
                ))
                .map_err(anyhow::Error::msg)?;
            println!(
                "exported {} of {} entries ({} amounts, each checked against its commitment) to {}",
                summary.exported,
                summary.scanned,
                summary.amounts,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Node { config, dev } => {
            let code = veil_node::process::run(&config, dev).map_err(anyhow::Error::msg)?;
            Ok(ExitCode::from(code as u8))
        }
        Command::Gateway { config, dev } => {
            let code = veil_gateway::server::run(&config, dev).map_err(anyhow::Error::msg)?;
            Ok(ExitCode::from(code as u8))
        }
        Command::Settlement {
            command:
                SettlementCommand::Export {
                    dir,
                    member,
                    period,
                    out,
                    format,
                    originator,
                },
        } => {
            if format != "snarkjs" {
                anyhow::bail!("--format must be snarkjs");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let exported = runtime
                .block_on(veil_gateway::export::settlement(
                    &dir,
                    &member,
                    &period,
                    originator.as_deref(),
                    &out,
                ))
                .map_err(anyhow::Error::msg)?;
            println!(
                "settlement {} of {period} by {} ({} repayments, circuit capacity {}): proof verified against the genesis key; wrote {}",
                exported.entry,
                exported.originator,
                exported.repayments,
                exported.capacity,
                exported
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "check independently: snarkjs groth16 verify {0}/verification_key.json {0}/public.json {0}/proof.json",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Ceremony { command } => {
            let message = veil_gateway::ceremony::run(command).map_err(anyhow::Error::msg)?;
            println!("{message}");
            Ok(ExitCode::SUCCESS)
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
    init_logging(&cli.command, cli.log_json);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
