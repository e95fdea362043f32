//! The `switchboard` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use switchboard_server::config::Cli;

/// mimalloc returns freed pages to the system and fragments less than glibc's malloc under
/// many long-lived connections (each connect frees its HTTP buffers between live objects).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(switchboard_server::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
