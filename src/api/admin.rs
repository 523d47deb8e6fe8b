//! `RuleAdmin`: analysts validate a rule set without applying it, reload
//! the server's rule directory, see what is running and why the last
//! reload failed, and run a candidate set in the shadow before promoting it.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::admin;
use crate::app::{Shared, reload, shadow};
use crate::error::Error;
use crate::proto;
use crate::proto::rule_admin_server::RuleAdmin;
use crate::rules::{RuleError, compile_set, source::SourceFile};

/// Most files in one validated set.
const MAX_FILES: usize = 1000;

/// The rule administration service.
pub struct RuleAdminService {
    shared: Arc<Shared>,
}

impl RuleAdminService {
    /// Serves rule administration over `shared`.
    pub fn new(shared: Arc<Shared>) -> RuleAdminService {
        RuleAdminService { shared }
    }

    fn authorize<T>(&self, r: &Request<T>) -> Result<(), Error> {
        admin(&self.shared.config, r.metadata(), "RuleAdmin")
    }
}

/// The files of a rule set sent by an analyst, checked: 1..=MAX_FILES of
/// them, each a relative path inside the set.
fn checked_files(files: Vec<proto::RuleFile>) -> Result<Vec<SourceFile>, Error> {
    let files: Vec<SourceFile> = files
        .into_iter()
        .map(|f| SourceFile {
            path: f.path,
            text: f.text,
        })
        .collect();
    if files.is_empty() || files.len() > MAX_FILES {
        return Err(Error::invalid(
            "files",
            format!("{} files; send 1..={MAX_FILES}", files.len()),
        ));
    }
    if let Some(bad) = files.iter().find(|f| {
        f.path.is_empty() || f.path.starts_with('/') || f.path.split('/').any(|p| p == "..")
    }) {
        return Err(Error::invalid(
            "files.path",
            format!("{:?} is not a relative path inside the set", bad.path),
        ));
    }
    Ok(files)
}

#[tonic::async_trait]
impl RuleAdmin for RuleAdminService {
    async fn start_shadow(
        &self,
        request: Request<proto::StartShadowRequest>,
    ) -> Result<Response<proto::ShadowReportResponse>, Status> {
        self.authorize(&request)?;
        let files = checked_files(request.into_inner().files)?;
        Ok(Response::new(shadow::start(&self.shared, files).await?))
    }

    async fn shadow_report(
        &self,
        request: Request<proto::ShadowReportRequest>,
    ) -> Result<Response<proto::ShadowReportResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(shadow::report(&self.shared).await?))
    }

    async fn stop_shadow(
        &self,
        request: Request<proto::StopShadowRequest>,
    ) -> Result<Response<proto::ShadowReportResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(shadow::stop(&self.shared).await?))
    }

    async fn promote_shadow(
        &self,
        request: Request<proto::PromoteShadowRequest>,
    ) -> Result<Response<proto::ReloadResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(shadow::promote(&self.shared).await?))
    }

    async fn assess_key_areas(
        &self,
        request: Request<proto::AssessKeyAreasRequest>,
    ) -> Result<Response<proto::AssessKeyAreasResponse>, Status> {
        self.authorize(&request)?;
        let r = request.into_inner();
        let offset = self.shared.config.utc_offset_hours;
        let day = match r.day.as_str() {
            "" => ((self.shared.clock)() + i64::from(offset) * 3_600_000).div_euclid(86_400_000),
            d => crate::model::calendar::parse_date(d)
                .ok_or_else(|| Error::invalid("day", format!("{d:?} is not a date YYYY-MM-DD")))?,
        };
        let done = crate::app::key_areas::run(self.shared.clone(), day, r.dry_run).await?;
        Ok(Response::new(proto::AssessKeyAreasResponse {
            day: done.day,
            alerts: done.alerts,
            key_areas: done
                .areas
                .into_iter()
                .map(|(a, covered)| proto::KeyArea {
                    division_code: a.village.to_string(),
                    fraud_type: a.fraud_type,
                    window_count: a.window_count,
                    reports: a.reports,
                    baseline_mean: a.baseline_mean,
                    group: a.group,
                    why: a.why,
                    pair_id: covered
                        .as_ref()
                        .map(|c| c.pair_id.clone())
                        .unwrap_or_default(),
                    created: covered.is_some_and(|c| c.created),
                })
                .collect(),
        }))
    }

    async fn validate(
        &self,
        request: Request<proto::ValidateRequest>,
    ) -> Result<Response<proto::ValidateResponse>, Status> {
        self.authorize(&request)?;
        let files = checked_files(request.into_inner().files)?;
        let compiled = tokio::task::spawn_blocking(move || compile_set(&files))
            .await
            .map_err(|e| Status::internal(format!("compile task failed: {e}")))?;
        Ok(Response::new(match compiled {
            Ok(set) => proto::ValidateResponse {
                ok: true,
                errors: Vec::new(),
                warnings: set.warnings.clone(),
                version: set.version.clone(),
                rules: u32::try_from(set.enabled_count()).unwrap_or(u32::MAX),
            },
            Err(RuleError::Invalid(errors)) => proto::ValidateResponse {
                ok: false,
                errors,
                ..Default::default()
            },
            Err(e) => proto::ValidateResponse {
                ok: false,
                errors: vec![e.to_string()],
                ..Default::default()
            },
        }))
    }

    async fn reload(
        &self,
        request: Request<proto::ReloadRequest>,
    ) -> Result<Response<proto::ReloadResponse>, Status> {
        self.authorize(&request)?;
        let force = request.get_ref().force;
        Ok(Response::new(reload(&self.shared, force).await))
    }

    async fn status(
        &self,
        request: Request<proto::StatusRequest>,
    ) -> Result<Response<proto::RuleSetStatus>, Status> {
        self.authorize(&request)?;
        let s = self
            .shared
            .rule_status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        Ok(Response::new(proto::RuleSetStatus {
            version: s.version,
            rules: s.rules,
            loaded_at_ms: s.loaded_at_ms,
            last_error: s.last_error,
            last_error_at_ms: s.last_error_at_ms,
            warnings: s.warnings,
        }))
    }
}
