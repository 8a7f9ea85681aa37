//! The `veil` command. Each subcommand is one file under `cli/`; the library
//! (`veil_gateway`) does the work.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
