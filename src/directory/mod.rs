//! The jurisdiction directory, used by the *enrich* stage: it routes a
//! warning's subject (a 12-digit division code and maybe a grid id) to a
//! village, grid, police station, police area, community officer (社区民警) and
//! grid worker (网格员), so dispatch can send the pair of tasks. The directory
//! is versioned data loaded once at start-up ([`Directory::load`]), checked,
//! and indexed; [`Directory::place`] is the synchronous hot-path lookup.
//!
//! # Layout
//! - [`code`]: the checked 12-digit [`DivisionCode`].
//! - [`divisions`]: reads the real division CSVs (`directory/divisions/`).
//! - [`generate`]: builds a synthetic, seeded [`DirectoryFile`] from them.
//! - `file`: the on-disk JSON shape ([`DirectoryFile`]) and its writer.
//! - `check`: validation ([`Fault`]) and index building.
//! - `place`: the hot-path lookup, [`Directory::place`] and [`PlaceError`].

pub mod code;
pub mod divisions;
pub mod generate;

mod check;
mod file;
mod place;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use check::Fault;
pub use code::{CodeError, DivisionCode};
pub use file::{AreaEntry, DirectoryFile, DivisionEntry, GridEntry, RetiredEntry};
pub use file::{StationEntry, VillageEntry};
pub use place::{PlaceError, Placement};

/// A community officer or grid worker, by id and display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Stable id, unique per person across the directory.
    pub id: String,
    /// Display name; personal data, never logged.
    pub name: String,
}

/// Why a directory could not be read, generated or accepted.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// A directory file is not valid JSON of the expected shape.
    #[error("cannot parse {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A division CSV row is malformed.
    #[error("{}:{line}: {why}", path.display())]
    Csv {
        path: PathBuf,
        line: usize,
        why: String,
    },
    /// The directory content is inconsistent.
    #[error("invalid directory: {0}")]
    Invalid(Fault),
    /// The directory file's content is inconsistent.
    #[error("invalid directory {}: {fault}", path.display())]
    InvalidFile { path: PathBuf, fault: Fault },
}

/// A village as seen by alert generators: code, name and grids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VillageRef<'a> {
    /// 12-digit code.
    pub code: DivisionCode,
    /// Official name.
    pub name: &'a str,
    /// Grid ids, default (first) grid first.
    pub grids: Vec<&'a str>,
    /// Households of each grid, parallel to `grids`.
    pub households: Vec<u32>,
}

/// The checked, indexed directory used on the hot path.
#[derive(Debug)]
pub struct Directory {
    version: String,
    /// Sorted by code, so `villages()` needs no sort.
    villages: Vec<VillageSlot>,
    village_index: HashMap<u64, usize>,
    areas: Vec<AreaSlot>,
    grids: Vec<GridSlot>,
    grid_index: HashMap<String, usize>,
    /// Retired codes (any level) to the edition they left in.
    retired: HashMap<u64, String>,
    /// Retired codes (any level) to the code that replaced them.
    replacements: HashMap<u64, DivisionCode>,
    /// Every officer and grid worker id (a grid's second worker too).
    people: std::collections::HashSet<String>,
}

#[derive(Debug)]
struct VillageSlot {
    code: DivisionCode,
    name: String,
    area: usize,
    /// Indexes into `Directory::grids`, file order; never empty after `build`.
    grids: Vec<usize>,
}

#[derive(Debug)]
struct AreaSlot {
    id: String,
    station: String,
    officer: Person,
}

#[derive(Debug)]
struct GridSlot {
    id: String,
    village: DivisionCode,
    households: u32,
    worker: Person,
}

impl Directory {
    /// Reads, checks and indexes a directory file; errors name the file.
    pub fn load(path: &Path) -> Result<Directory, DirectoryError> {
        let read_error = |source| DirectoryError::Read {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let file: DirectoryFile =
            serde_json::from_str(&text).map_err(|source| DirectoryError::Parse {
                path: path.to_owned(),
                source,
            })?;
        check::build(file).map_err(|fault| DirectoryError::InvalidFile {
            path: path.to_owned(),
            fault,
        })
    }

    /// Checks and indexes an in-memory directory file.
    pub fn from_file(file: DirectoryFile) -> Result<Directory, DirectoryError> {
        check::build(file).map_err(DirectoryError::Invalid)
    }

    /// The directory file's version tag.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every village with its grids, sorted by code (for alert generators).
    pub fn villages(&self) -> Vec<VillageRef<'_>> {
        let grids = &self.grids;
        self.villages
            .iter()
            .map(|v| VillageRef {
                code: v.code,
                name: v.name.as_str(),
                grids: v.grids.iter().map(|&g| grids[g].id.as_str()).collect(),
                households: v.grids.iter().map(|&g| grids[g].households).collect(),
            })
            .collect()
    }

    /// Number of villages and communities.
    pub fn village_count(&self) -> usize {
        self.villages.len()
    }

    /// Number of grids.
    pub fn grid_count(&self) -> usize {
        self.grids.len()
    }

    /// True when some police area belongs to station `id`.
    pub fn has_station(&self, id: &str) -> bool {
        self.areas.iter().any(|a| a.station == id)
    }

    /// True when `id` is an officer or a grid worker of this directory.
    pub fn has_person(&self, id: &str) -> bool {
        self.people.contains(id)
    }
}

/// The edition a code left in, looking at the code, its township and its county.
fn retired_since(retired: &HashMap<u64, String>, code: DivisionCode) -> Option<&str> {
    retired_as(retired, code).map(|(_, since)| since.as_str())
}

/// The retired code that covers `code` (itself, its township or its
/// county), and what the map holds for it.
fn retired_as<T>(retired: &HashMap<u64, T>, code: DivisionCode) -> Option<(u64, &T)> {
    let own = code.as_u64();
    [own, code.township() * 1_000, code.county() * 1_000_000]
        .into_iter()
        .find_map(|c| retired.get(&c).map(|v| (c, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    fn person(id: &str, name: &str) -> Person {
        Person {
            id: id.into(),
            name: name.into(),
        }
    }

    pub(super) fn grid(id: &str, village: &str, workers: &[&str]) -> GridEntry {
        let workers = workers
            .iter()
            .map(|w| person(w, &format!("name of {w}")))
            .collect();
        GridEntry {
            id: id.into(),
            village: code(village),
            name: id.into(),
            households: 300,
            workers,
        }
    }

    fn village(c: &str, name: &str) -> VillageEntry {
        VillageEntry {
            code: code(c),
            name: name.into(),
            township: c[..9].into(),
            police_area: "PA1".into(),
        }
    }

    /// One township, one station, one area, two villages, three grids.
    pub(super) fn tiny() -> DirectoryFile {
        DirectoryFile {
            version: "test-1".into(),
            source: "hand-built".into(),
            provinces: vec![],
            counties: vec![],
            townships: vec![],
            villages: vec![
                village("520102016002", "新华路社区"),
                village("520102016001", "纪念塔社区"),
            ],
            police_stations: vec![StationEntry {
                id: "PS1".into(),
                name: "新华路街道派出所".into(),
                townships: vec!["520102016".into()],
            }],
            police_areas: vec![AreaEntry {
                id: "PA1".into(),
                name: "第1警务区".into(),
                station: "PS1".into(),
                officer: person("PO1", "officer one"),
            }],
            grids: vec![
                grid("520102016001-G01", "520102016001", &["GW1", "GW2"]),
                grid("520102016001-G02", "520102016001", &["GW3"]),
                grid("520102016002-G01", "520102016002", &["GW4"]),
            ],
            retired: vec![
                RetiredEntry {
                    code: code("520102016000"),
                    retired_in: "2024".into(),
                    replaced_by: None,
                },
                RetiredEntry {
                    code: code("520102099000"),
                    retired_in: "2022".into(),
                    replaced_by: None,
                },
                RetiredEntry {
                    code: code("520102017003"),
                    retired_in: "2024".into(),
                    replaced_by: None,
                },
            ],
        }
    }

    pub(super) fn tiny_directory() -> Directory {
        let mut file = tiny();
        // The township 520102016 itself is live in most tests.
        file.retired.remove(0);
        Directory::from_file(file).unwrap()
    }

    pub(super) fn fault_of(file: DirectoryFile) -> Fault {
        match Directory::from_file(file) {
            Err(DirectoryError::Invalid(fault)) => fault,
            other => panic!("expected a fault, got {other:?}"),
        }
    }

    #[test]
    fn villages_are_sorted_with_their_grids() {
        let dir = tiny_directory();
        let villages = dir.villages();
        assert_eq!(
            (dir.village_count(), dir.grid_count(), dir.version()),
            (2, 3, "test-1")
        );
        assert_eq!(villages[0].code, code("520102016001"));
        assert_eq!(
            villages[0].grids,
            vec!["520102016001-G01", "520102016001-G02"]
        );
        assert_eq!(villages[0].households, vec![300, 300]);
        assert_eq!(villages[1].name, "新华路社区");
    }

    #[test]
    fn written_file_loads_back_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("directory.json");
        let mut file = tiny();
        file.retired.remove(0);
        file.write(&path).unwrap();
        let loaded = Directory::load(&path).unwrap();
        assert_eq!(
            loaded.place("520102016002", None).unwrap().grid_id,
            "520102016002-G01"
        );
        assert!(!dir.path().join("directory.json.tmp").exists());

        let broken = tiny();
        broken.write(&path).unwrap();
        let err = Directory::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("invalid directory {}: village", path.display())),
            "{err}"
        );
        let missing = Directory::load(&dir.path().join("nope.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.json"), "{missing}");
    }
}
