//! The *enrich* stage: places a checked alert in its jurisdiction (village,
//! grid, police area, officer, grid worker) from the directory. Between
//! *normalize* and *match*; pure.

use crate::directory::{Directory, PlaceError, Placement};
use crate::model::Alert;
use crate::normalize::Rejection;

/// An alert with its jurisdiction.
#[derive(Clone, Debug)]
pub struct Enriched {
    /// The checked alert.
    pub alert: Alert,
    /// Where it routes.
    pub placement: Placement,
}

/// Places `alert`; an unknown, malformed or retired division code, or a
/// grid outside the village, is a rejection, never a guess.
pub fn enrich(alert: Alert, directory: &Directory) -> Result<Enriched, Rejection> {
    match directory.place_code(alert.subject.division, alert.subject.grid_id.as_deref()) {
        Ok(placement) => Ok(Enriched { alert, placement }),
        Err(e) => {
            let field = match e {
                PlaceError::UnknownGrid { .. } | PlaceError::GridOutsideVillage { .. } => {
                    "subject.grid_id"
                }
                _ => "subject.division_code",
            };
            Err(Rejection::new(field, e.to_string()))
        }
    }
}
