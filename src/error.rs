//! The crate error: every module's typed error gathered in one place, and
//! the one mapping from errors to `tonic::Status`.

use crate::config::ConfigError;
use crate::directory::DirectoryError;
use crate::model::StepError;
use crate::pipeline::WriteError;
use crate::rules::RuleError;
use crate::store::StoreError;

/// Status metadata key of a retry hint, in milliseconds.
pub const RETRY_AFTER_MS: &str = "retry-after-ms";

/// Anything that can go wrong inside dualwarn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The jurisdiction directory cannot be loaded.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The rule directory cannot be loaded.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer refused a console request.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A request field is invalid; names the field and value.
    #[error("{field}: {why}")]
    InvalidArgument {
        /// Field.
        field: &'static str,
        /// What is wrong, with the value.
        why: String,
    },
    /// The caller may not see this.
    #[error("{0}")]
    PermissionDenied(String),
    /// No such thing, or not visible to the caller.
    #[error("{0}")]
    NotFound(String),
    /// The caller is not authenticated.
    #[error("{0}")]
    Unauthenticated(String),
    /// A limit is spent for now; the caller may retry after a while.
    #[error("{what}; retry after {} ms", retry_after.as_millis())]
    Exhausted {
        /// Which limit, with its figures.
        what: String,
        /// When a retry can succeed.
        retry_after: std::time::Duration,
    },
    /// The engine is shutting down or its writer has stopped.
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// The request needs a state the engine is not in (e.g. no shadow run).
    #[error("{0}")]
    FailedPrecondition(String),
}

impl Error {
    /// An invalid request field.
    pub fn invalid(field: &'static str, why: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field,
            why: why.into(),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> tonic::Status {
        use tonic::Code;
        let code = match &e {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::Store(StoreError::BadPageToken(_)) => Code::InvalidArgument,
            Error::Store(StoreError::Expired { .. }) => Code::OutOfRange,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::NotFound(_) => Code::NotFound,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::Write(WriteError::Step(StepError::Invalid { .. })) => Code::InvalidArgument,
            Error::Write(
                WriteError::AlreadyDone(_) | WriteError::NotOpen(_) | WriteError::Step(_),
            ) => Code::FailedPrecondition,
            Error::Unavailable(_) => Code::Unavailable,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Exhausted { .. } => Code::ResourceExhausted,
            Error::Config(_) | Error::Directory(_) | Error::Rules(_) | Error::Store(_) => {
                Code::Internal
            }
        };
        let mut status = tonic::Status::new(code, e.to_string());
        if let Error::Exhausted { retry_after, .. } = &e {
            // A machine-readable hint beside the message.
            let ms = retry_after.as_millis().max(1).to_string();
            if let Ok(v) = ms.parse() {
                status.metadata_mut().insert(RETRY_AFTER_MS, v);
            }
        }
        status
    }
}
