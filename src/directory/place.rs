//! The *enrich* stage's hot path: [`Directory::place`] turns a warning
//! subject's division code (and grid, when the alert names one) into a
//! [`Placement`] — village, police station and area, community officer, grid
//! and grid worker — or a [`PlaceError`] naming the bad value. No I/O, no
//! allocation beyond the returned strings.

use serde::{Deserialize, Serialize};

use super::{CodeError, Directory, DivisionCode, GridSlot, Person, retired_since};

/// Longest piece of caller input echoed in an error, so junk cannot bloat logs.
const MAX_ECHO_CHARS: usize = 24;

/// Where a subject is routed: everything dispatch needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The subject's village or community.
    pub division_code: DivisionCode,
    /// Name of that village or community.
    pub village_name: String,
    /// Police station id.
    pub police_station: String,
    /// Police area id.
    pub police_area: String,
    /// Community officer (社区民警) of the police area.
    pub officer: Person,
    /// Grid id.
    pub grid_id: String,
    /// First grid worker of the grid.
    pub grid_worker: Person,
    /// True when the alert gave no grid and the village's default (first) grid was used.
    pub grid_inferred: bool,
}

/// Why a subject cannot be placed; the caller's value is named in every message.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlaceError {
    /// The division code is not 12 digits with a real province part.
    #[error("division code {value} is malformed: {why}")]
    Malformed { value: String, why: CodeError },
    /// The code names a township or higher, not a village or community.
    #[error("division code {value} is not village level")]
    NotVillageLevel { value: String },
    /// The code is well formed but not in this directory version.
    #[error("unknown division code {value}")]
    Unknown { value: String },
    /// The code (or its township or county) was revoked.
    #[error(
        "division code {value} is retired since {retired_in}{}",
        replaced(replaced_by)
    )]
    Retired {
        value: String,
        retired_in: String,
        /// The retired code it fell under and its replacement, when known.
        replaced_by: Option<(String, String)>,
    },
    /// The grid id is not in the directory.
    #[error("unknown grid {grid} (division code {division})")]
    UnknownGrid { grid: String, division: String },
    /// The grid exists but belongs to another village.
    #[error("grid {grid} is not in village {division}")]
    GridOutsideVillage { grid: String, division: String },
}

impl Directory {
    /// Routes a subject; an empty `grid_id` counts as none given.
    pub fn place(
        &self,
        division_code: &str,
        grid_id: Option<&str>,
    ) -> Result<Placement, PlaceError> {
        let code = DivisionCode::parse(division_code).map_err(|why| PlaceError::Malformed {
            value: echo(division_code),
            why,
        })?;
        self.place_code(code, grid_id)
    }

    /// Routes a subject whose code is already parsed (as `place`, without the parse).
    pub fn place_code(
        &self,
        code: DivisionCode,
        grid_id: Option<&str>,
    ) -> Result<Placement, PlaceError> {
        if let Some(retired_in) = retired_since(&self.retired, code) {
            let replaced_by = super::retired_as(&self.replacements, code)
                .map(|(old, new)| (format!("{old:012}"), new.to_string()));
            return Err(PlaceError::Retired {
                value: code.to_string(),
                retired_in: retired_in.to_owned(),
                replaced_by,
            });
        }
        if !code.is_village_level() {
            return Err(PlaceError::NotVillageLevel {
                value: code.to_string(),
            });
        }
        let unknown = || PlaceError::Unknown {
            value: code.to_string(),
        };
        let village = self
            .village_index
            .get(&code.as_u64())
            .map(|&i| &self.villages[i])
            .ok_or_else(unknown)?;
        let (grid, grid_inferred) = match grid_id.filter(|id| !id.is_empty()) {
            Some(id) => (self.given_grid(code, id)?, false),
            // `build` guarantees at least one grid per village; stay total anyway.
            None => (
                village
                    .grids
                    .first()
                    .map(|&i| &self.grids[i])
                    .ok_or_else(unknown)?,
                true,
            ),
        };
        let area = &self.areas[village.area];
        Ok(Placement {
            division_code: code,
            village_name: village.name.clone(),
            police_station: area.station.clone(),
            police_area: area.id.clone(),
            officer: area.officer.clone(),
            grid_id: grid.id.clone(),
            grid_worker: grid.worker.clone(),
            grid_inferred,
        })
    }

    /// The official name of a village in this directory, if it has it.
    pub fn village_name(&self, code: DivisionCode) -> Option<&str> {
        self.village_index
            .get(&code.as_u64())
            .map(|&i| self.villages[i].name.as_str())
    }

    /// The grid named by the alert, which must lie in the subject's village.
    fn given_grid(&self, code: DivisionCode, id: &str) -> Result<&GridSlot, PlaceError> {
        let grid = self.grid_index.get(id).map(|&i| &self.grids[i]);
        match grid {
            None => Err(PlaceError::UnknownGrid {
                grid: echo(id),
                division: code.to_string(),
            }),
            Some(g) if g.village != code => Err(PlaceError::GridOutsideVillage {
                grid: g.id.clone(),
                division: code.to_string(),
            }),
            Some(g) => Ok(g),
        }
    }
}

/// How a retired code's message names its replacement: the code itself,
/// or the township or county code it fell under, and the code after it.
fn replaced(by: &Option<(String, String)>) -> String {
    match by {
        None => String::new(),
        Some((old, new)) => format!("; {old} was replaced by {new}"),
    }
}

/// Caller input for an error message, clipped to `MAX_ECHO_CHARS`.
fn echo(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::{tiny, tiny_directory};

    #[test]
    fn malformed_codes_are_rejected_with_reason() {
        let dir = tiny_directory();
        let short = dir.place("5201020160", None).unwrap_err();
        assert_eq!(
            short.to_string(),
            "division code 5201020160 is malformed: expected 12 digits, got 10"
        );
        let letters = dir.place("52010201600x", None).unwrap_err();
        assert!(matches!(
            letters,
            PlaceError::Malformed {
                why: CodeError::NotDigit { found: 'x', .. },
                ..
            }
        ));
        let province = dir.place("000102016001", None).unwrap_err();
        assert!(matches!(
            province,
            PlaceError::Malformed {
                why: CodeError::BadProvince { province: 0 },
                ..
            }
        ));
    }

    #[test]
    fn long_junk_input_is_clipped_in_the_error() {
        let junk = "9".repeat(1000);
        let err = tiny_directory().place(&junk, None).unwrap_err();
        assert!(err.to_string().len() < 120, "{err}");
    }

    #[test]
    fn unknown_code_is_rejected() {
        let err = tiny_directory().place("520102016999", None).unwrap_err();
        assert_eq!(
            err,
            PlaceError::Unknown {
                value: "520102016999".into()
            }
        );
        assert_eq!(err.to_string(), "unknown division code 520102016999");
    }

    #[test]
    fn township_level_code_is_not_placed() {
        let err = tiny_directory().place("520102017000", None).unwrap_err();
        assert_eq!(
            err,
            PlaceError::NotVillageLevel {
                value: "520102017000".into()
            }
        );
    }

    #[test]
    fn retired_code_is_rejected_with_its_year() {
        let dir = tiny_directory();
        let err = dir.place("520102017003", None).unwrap_err();
        assert_eq!(
            err,
            PlaceError::Retired {
                value: "520102017003".into(),
                retired_in: "2024".into(),
                replaced_by: None,
            }
        );
        assert_eq!(
            err.to_string(),
            "division code 520102017003 is retired since 2024"
        );
    }

    #[test]
    fn a_retired_code_names_its_replacement() {
        let mut file = tiny();
        file.retired.remove(0);
        // Left: 520102099000 (a township, 2022) and 520102017003 (a village, 2024).
        file.retired[0].replaced_by = Some(DivisionCode::parse("520102016000").unwrap());
        file.retired[1].replaced_by = Some(DivisionCode::parse("520102016002").unwrap());
        let dir = Directory::from_file(file).unwrap();
        assert_eq!(
            dir.place("520102017003", None).unwrap_err().to_string(),
            "division code 520102017003 is retired since 2024; 520102017003 was replaced by 520102016002"
        );
        assert_eq!(
            dir.place("520102099001", None).unwrap_err().to_string(),
            "division code 520102099001 is retired since 2022; 520102099000 was replaced by 520102016000"
        );
    }

    #[test]
    fn village_under_retired_township_is_retired() {
        let err = tiny_directory().place("520102099001", None).unwrap_err();
        assert_eq!(
            err,
            PlaceError::Retired {
                value: "520102099001".into(),
                retired_in: "2022".into(),
                replaced_by: None,
            }
        );
    }

    #[test]
    fn no_grid_uses_first_grid_and_marks_it_inferred() {
        let placement = tiny_directory().place("520102016001", None).unwrap();
        assert_eq!(placement.grid_id, "520102016001-G01");
        assert!(placement.grid_inferred);
        assert_eq!(placement.grid_worker.id, "GW1");
        assert_eq!(placement.officer.id, "PO1");
        assert_eq!(
            (
                placement.police_station.as_str(),
                placement.police_area.as_str()
            ),
            ("PS1", "PA1")
        );
        assert_eq!(placement.village_name, "纪念塔社区");
        let empty = tiny_directory().place("520102016001", Some("")).unwrap();
        assert!(empty.grid_inferred);
    }

    #[test]
    fn given_grid_is_used_and_not_inferred() {
        let placement = tiny_directory()
            .place("520102016001", Some("520102016001-G02"))
            .unwrap();
        assert_eq!(placement.grid_id, "520102016001-G02");
        assert_eq!(placement.grid_worker.id, "GW3");
        assert!(!placement.grid_inferred);
    }

    #[test]
    fn parsed_code_places_like_its_string() {
        let dir = tiny_directory();
        let code = DivisionCode::parse("520102016002").unwrap();
        assert_eq!(dir.place_code(code, None), dir.place("520102016002", None));
    }

    #[test]
    fn grid_in_another_village_is_rejected() {
        let err = tiny_directory()
            .place("520102016002", Some("520102016001-G01"))
            .unwrap_err();
        let grid = "520102016001-G01".to_string();
        assert_eq!(
            err,
            PlaceError::GridOutsideVillage {
                grid,
                division: "520102016002".into()
            }
        );
    }

    #[test]
    fn unknown_grid_is_rejected() {
        let err = tiny_directory()
            .place("520102016002", Some("G99"))
            .unwrap_err();
        assert_eq!(
            err,
            PlaceError::UnknownGrid {
                grid: "G99".into(),
                division: "520102016002".into()
            }
        );
    }
}
