//! `dualwarn directory generate`: grids, police areas, officers and grid
//! workers generated over the division codes, written as the directory
//! file the server and `gen` load.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config;
use crate::directory::Directory;
use crate::directory::generate::{GenerateOptions, generate_from_dir};

/// The `directory` subcommands.
#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Generate grids, police areas, officers and grid workers over the division codes.
    Generate {
        /// Folder with provinces/cities/counties/townships/villages.csv.
        #[arg(long, default_value = "directory/divisions")]
        divisions: PathBuf,
        /// Seed: the same seed writes the same file.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// Output file.
        #[arg(long, default_value = config::DEFAULT_DIRECTORY)]
        out: PathBuf,
    },
}

/// Runs one `directory` subcommand.
pub fn run(cmd: DirectoryCommand) -> anyhow::Result<ExitCode> {
    let DirectoryCommand::Generate {
        divisions,
        seed,
        out,
    } = cmd;
    let file = generate_from_dir(&divisions, &GenerateOptions { seed })?;
    file.write(&out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let dir = Directory::from_file(file)?;
    eprintln!(
        "wrote {}: {} villages, {} grids",
        out.display(),
        dir.village_count(),
        dir.grid_count()
    );
    Ok(ExitCode::SUCCESS)
}
