//! The `flowq` binary: runs the command line and maps its outcome to an exit code.

use std::process::ExitCode;

use flowq::cli::{self, Outcome};

fn main() -> ExitCode {
    match cli::run() {
        Ok(Outcome::Complete) => ExitCode::from(cli::EXIT_OK),
        Ok(Outcome::Partial) => ExitCode::from(cli::EXIT_PARTIAL),
        Err(err) => {
            eprintln!("flowq: error: {err:#}");
            let usage = err.downcast_ref::<cli::UsageError>().is_some();
            ExitCode::from(if usage { cli::EXIT_USAGE } else { cli::EXIT_FAILED })
        }
    }
}
