//! `dualwarn directory generate`: grids, police areas, officers and grid
//! workers generated over the division codes, written as the directory
//! file the server and `gen` load. `directory reload` and `directory
//! status` ask a running server to re-read its file (`DirectoryAdmin`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config;
use crate::directory::Directory;
use crate::directory::generate::{GenerateOptions, generate_from_dir};
use crate::proto;
use crate::proto::directory_admin_client::DirectoryAdminClient;

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
    /// Make a running server re-read its directory file; a bad file is
    /// refused and the old directory stays.
    Reload(super::graph::AdminArgs),
    /// The directory a running server has in force, and its last failed reload.
    Status(super::graph::AdminArgs),
}

/// Runs one `directory` subcommand.
pub async fn run(cmd: DirectoryCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DirectoryCommand::Generate {
            divisions,
            seed,
            out,
        } => generate(divisions, seed, out),
        DirectoryCommand::Reload(a) => {
            let c = a.conn();
            let mut client = DirectoryAdminClient::new(c.channel().await?);
            let r = client
                .reload(c.request(proto::ReloadDirectoryRequest {})?)
                .await?
                .into_inner();
            let s = r.status.unwrap_or_default();
            if r.applied {
                crate::say!(
                    "directory {} in force (was {}): {} villages, {} grids",
                    s.version,
                    r.previous_version,
                    s.villages,
                    s.grids
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("refused, {} stays in force: {}", s.version, r.error);
                Ok(ExitCode::from(1))
            }
        }
        DirectoryCommand::Status(a) => {
            let c = a.conn();
            let mut client = DirectoryAdminClient::new(c.channel().await?);
            let s = client
                .status(c.request(proto::DirectoryStatusRequest {})?)
                .await?
                .into_inner();
            crate::say!(
                "directory {}: {} villages, {} grids, since {}",
                s.version,
                s.villages,
                s.grids,
                crate::api::local_time(s.loaded_at_ms, 8)
            );
            if !s.last_error.is_empty() {
                crate::say!(
                    "last failed reload {}: {}",
                    crate::api::local_time(s.last_error_at_ms, 8),
                    s.last_error
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn generate(divisions: PathBuf, seed: u64, out: PathBuf) -> anyhow::Result<ExitCode> {
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
