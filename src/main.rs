//! The `flowq` binary: runs the command line and maps its outcome to an exit code.

use std::process::ExitCode;

use flowq::cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("flowq: error: {err:#}");
            let usage = err.downcast_ref::<cli::UsageError>().is_some();
            ExitCode::from(if usage { cli::EXIT_USAGE } else { cli::EXIT_FAILED })
        }
    }
}
