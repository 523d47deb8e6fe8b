//! `DirectoryAdmin`: operators replace the jurisdiction directory at run
//! time and see which version is in force and why the last reload failed.
//! Admin token, as every administration service.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::admin;
use crate::app::directory_reload::{self, DirectoryStatus};
use crate::app::{Shared, now_ms};
use crate::error::Error;
use crate::proto;
use crate::proto::directory_admin_server::DirectoryAdmin;

/// The directory administration service.
pub struct DirectoryAdminService {
    shared: Arc<Shared>,
}

impl DirectoryAdminService {
    /// Serves directory administration over `shared`.
    pub fn new(shared: Arc<Shared>) -> DirectoryAdminService {
        DirectoryAdminService { shared }
    }
}

fn status_to_proto(s: &DirectoryStatus) -> proto::DirectoryStatus {
    proto::DirectoryStatus {
        version: s.version.clone(),
        villages: s.villages,
        grids: s.grids,
        loaded_at_ms: s.loaded_at_ms,
        last_error: s.last_error.clone(),
        last_error_at_ms: s.last_error_at_ms,
    }
}

#[tonic::async_trait]
impl DirectoryAdmin for DirectoryAdminService {
    async fn reload(
        &self,
        request: Request<proto::ReloadDirectoryRequest>,
    ) -> Result<Response<proto::ReloadDirectoryResponse>, Status> {
        admin(&self.shared.config, request.metadata(), "DirectoryAdmin")?;
        let shared = self.shared.clone();
        let result = tokio::task::spawn_blocking(move || {
            let r = directory_reload::reload(&shared, now_ms());
            let status = shared
                .directory_status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            (r, status)
        })
        .await
        .map_err(|e| Error::Unavailable(format!("directory reload failed: {e}")))?;
        Ok(Response::new(match result {
            (Ok(done), _) => proto::ReloadDirectoryResponse {
                applied: true,
                previous_version: done.previous_version,
                error: String::new(),
                status: Some(status_to_proto(&done.status)),
            },
            (Err(e), status) => proto::ReloadDirectoryResponse {
                applied: false,
                previous_version: status.version.clone(),
                error: e.to_string(),
                status: Some(status_to_proto(&status)),
            },
        }))
    }

    async fn status(
        &self,
        request: Request<proto::DirectoryStatusRequest>,
    ) -> Result<Response<proto::DirectoryStatus>, Status> {
        admin(&self.shared.config, request.metadata(), "DirectoryAdmin")?;
        let status = self
            .shared
            .directory_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(Response::new(status_to_proto(&status)))
    }
}
