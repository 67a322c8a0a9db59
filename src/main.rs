//! The `flowq` binary: runs the command line and maps its outcome to an exit code.

use std::process::ExitCode;

use flowq::cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("flowq: error: {}", message(&err));
            let code = if err.downcast_ref::<cli::UsageError>().is_some() {
                cli::EXIT_USAGE
            } else if err.downcast_ref::<cli::Interrupted>().is_some() {
                cli::EXIT_INTERRUPTED
            } else {
                cli::EXIT_FAILED
            };
            ExitCode::from(code)
        }
    }
}

/// The error and its causes, each cause left out when the messages before it already say it:
/// DataFusion's wrappers (`External error: …`) repeat their source's text.
fn message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
