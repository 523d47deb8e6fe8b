//! `dualwarn token`: what the config keeps of a console token. `hash`
//! reads the token from standard input (so that it stays out of the shell
//! history) and prints its SHA-256 for `token_sha256`.

use std::io::BufRead;
use std::process::ExitCode;

use clap::Subcommand;

/// The `token` subcommands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Read a token from stdin, print its SHA-256 for `[[consoles]] token_sha256`.
    Hash,
}

/// Runs one `token` subcommand.
pub fn run(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Hash => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let token = line.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(
                token.len() >= 16,
                "a console token needs at least 16 characters; got {}",
                token.len()
            );
            crate::say!("{}", crate::config::token_digest(token));
            Ok(ExitCode::SUCCESS)
        }
    }
}
