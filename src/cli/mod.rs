//! Command-line tools around the service: `gen` (seeded alert streams),
//! `send` (stream a JSON-lines file to a server), `tasks` (a console in the
//! terminal), `directory generate`, `graph measure` and `graph eval-amlsim`.

pub mod generate;
pub mod graph;
pub mod graph_eval;
pub mod graph_import;
pub mod graph_measure;
pub mod precision;
pub mod record;
pub mod rules;
pub mod send;
pub mod tasks;

/// A request carrying `authorization: Bearer <token>` when a token is given.
pub fn with_bearer<T>(msg: T, token: Option<&str>) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        let v: tonic::metadata::MetadataValue<_> = format!("Bearer {t}")
            .parse()
            .map_err(|_| anyhow::anyhow!("token is not valid metadata"))?;
        r.metadata_mut().insert("authorization", v);
    }
    Ok(r)
}

/// `println!` for command output that ends the process quietly when stdout
/// is closed (`dualwarn tasks list | head`), instead of panicking.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}
