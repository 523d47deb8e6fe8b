//! Checks a [`DirectoryFile`] before the *enrich* stage may use it, and builds
//! the lookup indexes of [`Directory`]. A directory that loads is one where
//! every village can be placed: it has a police area with an officer and at
//! least one grid with a worker.

use std::collections::HashMap;

use super::{AreaSlot, Directory, DirectoryFile, DivisionCode, GridSlot, Person, StationEntry};
use super::{VillageEntry, VillageSlot, retired_since};

/// One consistency fault found while checking a directory.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// Two entries of one kind share an id.
    #[error("duplicate {kind} {id}")]
    Duplicate { kind: &'static str, id: String },
    /// A village code ends in 000.
    #[error("village {village} has a code that is not village level")]
    NotVillageLevel { village: DivisionCode },
    /// A village's township field does not match its code.
    #[error("village {village} names township {township}, not its own code prefix")]
    WrongTownship {
        village: DivisionCode,
        township: String,
    },
    /// A village names a police area that does not exist.
    #[error("village {village} names unknown police area {area}")]
    UnknownArea { village: DivisionCode, area: String },
    /// A police area names a station that does not exist.
    #[error("police area {area} names unknown police station {station}")]
    UnknownStation { area: String, station: String },
    /// A village's police area belongs to a station not covering its township.
    #[error("village {village} is in township {township}, not covered by station {station}")]
    StationMissesTownship {
        village: DivisionCode,
        township: String,
        station: String,
    },
    /// An officer or grid worker has an empty id or name.
    #[error("{role} of {owner} has an empty id or name")]
    BlankPerson { role: &'static str, owner: String },
    /// One person id carries two different names.
    #[error("person {id} appears with two different names")]
    PersonConflict { id: String },
    /// A grid names a village that does not exist.
    #[error("grid {grid} names unknown village {village}")]
    GridWithoutVillage { grid: String, village: DivisionCode },
    /// A grid has no grid worker.
    #[error("grid {grid} has no grid worker")]
    GridWithoutWorker { grid: String },
    /// A village has no grid, so nobody could be sent there.
    #[error("village {village} has no grid")]
    VillageWithoutGrid { village: DivisionCode },
    /// A listed village is retired, itself or through its township or county.
    #[error("village {village} is listed but retired since {retired_in}")]
    RetiredButListed {
        village: DivisionCode,
        retired_in: String,
    },
}

/// Checks a directory file and builds the lookup indexes.
pub(super) fn build(file: DirectoryFile) -> Result<Directory, Fault> {
    let mut stations = HashMap::new();
    for station in &file.police_stations {
        if stations.insert(station.id.as_str(), station).is_some() {
            return Err(duplicate("police station", &station.id));
        }
    }
    let mut people = HashMap::new();
    let mut area_index = HashMap::new();
    let mut areas = Vec::with_capacity(file.police_areas.len());
    for area in &file.police_areas {
        if area_index.insert(area.id.as_str(), areas.len()).is_some() {
            return Err(duplicate("police area", &area.id));
        }
        if !stations.contains_key(area.station.as_str()) {
            return Err(Fault::UnknownStation {
                area: area.id.clone(),
                station: area.station.clone(),
            });
        }
        check_person(&mut people, &area.officer, "officer", &area.id)?;
        areas.push(AreaSlot {
            id: area.id.clone(),
            station: area.station.clone(),
            officer: area.officer.clone(),
        });
    }
    let mut retired = HashMap::new();
    let mut replacements = HashMap::new();
    for entry in &file.retired {
        if let Some(by) = entry.replaced_by {
            replacements.insert(entry.code.as_u64(), by);
        }
        if retired
            .insert(entry.code.as_u64(), entry.retired_in.clone())
            .is_some()
        {
            return Err(duplicate("retired code", &entry.code.to_string()));
        }
    }
    let mut sorted: Vec<&VillageEntry> = file.villages.iter().collect();
    sorted.sort_by_key(|v| v.code);
    let mut villages = Vec::with_capacity(sorted.len());
    let mut village_index = HashMap::with_capacity(sorted.len());
    for village in sorted {
        let Some(&area) = area_index.get(village.police_area.as_str()) else {
            let area = village.police_area.clone();
            return Err(Fault::UnknownArea {
                village: village.code,
                area,
            });
        };
        // The area's station was checked above, so the lookup cannot miss.
        let station = stations.get(areas[area].station.as_str()).copied();
        check_village(village, station, &retired)?;
        if village_index
            .insert(village.code.as_u64(), villages.len())
            .is_some()
        {
            return Err(duplicate("village", &village.code.to_string()));
        }
        villages.push(VillageSlot {
            code: village.code,
            name: village.name.clone(),
            area,
            grids: Vec::new(),
        });
    }
    let mut grids = Vec::with_capacity(file.grids.len());
    let mut grid_index = HashMap::with_capacity(file.grids.len());
    for grid in &file.grids {
        if grid_index.insert(grid.id.clone(), grids.len()).is_some() {
            return Err(duplicate("grid", &grid.id));
        }
        let Some(&village) = village_index.get(&grid.village.as_u64()) else {
            return Err(Fault::GridWithoutVillage {
                grid: grid.id.clone(),
                village: grid.village,
            });
        };
        let Some(worker) = grid.workers.first() else {
            return Err(Fault::GridWithoutWorker {
                grid: grid.id.clone(),
            });
        };
        for person in &grid.workers {
            check_person(&mut people, person, "grid worker", &grid.id)?;
        }
        villages[village].grids.push(grids.len());
        let (id, households, worker) = (grid.id.clone(), grid.households, worker.clone());
        grids.push(GridSlot {
            id,
            village: grid.village,
            households,
            worker,
        });
    }
    if let Some(empty) = villages.iter().find(|v| v.grids.is_empty()) {
        return Err(Fault::VillageWithoutGrid {
            village: empty.code,
        });
    }
    let version = file.version;
    let people = people.keys().map(|id| id.to_string()).collect();
    Ok(Directory {
        people,
        version,
        villages,
        village_index,
        areas,
        grids,
        grid_index,
        retired,
        replacements,
    })
}

/// Checks one village against its code, its police station and the retired list.
fn check_village(
    village: &VillageEntry,
    station: Option<&StationEntry>,
    retired: &HashMap<u64, String>,
) -> Result<(), Fault> {
    let code = village.code;
    if !code.is_village_level() {
        return Err(Fault::NotVillageLevel { village: code });
    }
    let township = format!("{:09}", code.township());
    if village.township != township {
        return Err(Fault::WrongTownship {
            village: code,
            township: village.township.clone(),
        });
    }
    if let Some(station) = station.filter(|s| !s.townships.contains(&township)) {
        return Err(Fault::StationMissesTownship {
            village: code,
            township,
            station: station.id.clone(),
        });
    }
    match retired_since(retired, code) {
        Some(since) => Err(Fault::RetiredButListed {
            village: code,
            retired_in: since.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Rejects blank people and one id used for two different names.
fn check_person<'a>(
    people: &mut HashMap<&'a str, &'a str>,
    person: &'a Person,
    role: &'static str,
    owner: &str,
) -> Result<(), Fault> {
    if person.id.trim().is_empty() || person.name.trim().is_empty() {
        return Err(Fault::BlankPerson {
            role,
            owner: owner.to_owned(),
        });
    }
    match people.insert(&person.id, &person.name) {
        Some(previous) if previous != person.name => Err(Fault::PersonConflict {
            id: person.id.clone(),
        }),
        _ => Ok(()),
    }
}

fn duplicate(kind: &'static str, id: &str) -> Fault {
    Fault::Duplicate {
        kind,
        id: id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::{code, fault_of, grid, tiny};

    #[test]
    fn listed_village_under_retired_township_is_a_fault() {
        let fault = fault_of(tiny());
        assert!(matches!(fault, Fault::RetiredButListed { .. }), "{fault}");
    }

    #[test]
    fn grid_of_unknown_village_is_a_fault() {
        let mut file = tiny();
        file.retired.clear();
        file.grids.push(grid("X-G01", "520102016009", &["GW9"]));
        assert_eq!(
            fault_of(file),
            Fault::GridWithoutVillage {
                grid: "X-G01".into(),
                village: code("520102016009")
            }
        );
    }

    #[test]
    fn structural_faults_are_caught() {
        type Breakage = (fn(&mut DirectoryFile), &'static str);
        let cases: [Breakage; 10] = [
            (
                |f| f.grids[2].workers.clear(),
                "grid 520102016002-G01 has no grid worker",
            ),
            (|f| f.grids.truncate(2), "village 520102016002 has no grid"),
            (
                |f| f.police_areas[0].officer.id.clear(),
                "officer of PA1 has an empty id or name",
            ),
            (
                |f| f.villages[0].police_area = "PA9".into(),
                "village 520102016002 names unknown police area PA9",
            ),
            (
                |f| f.police_areas[0].station = "PS9".into(),
                "police area PA1 names unknown police station PS9",
            ),
            (
                |f| f.grids[1].id = "520102016001-G01".into(),
                "duplicate grid 520102016001-G01",
            ),
            (
                |f| f.villages[1].code = code("520102016002"),
                "duplicate village 520102016002",
            ),
            (
                |f| f.grids[2].workers[0].id = "GW1".into(),
                "person GW1 appears with two different names",
            ),
            (
                |f| f.police_stations[0].townships.clear(),
                "village 520102016001 is in township 520102016, not covered by station PS1",
            ),
            (
                |f| f.villages[0].township = "520102017".into(),
                "village 520102016002 names township 520102017, not its own code prefix",
            ),
        ];
        for (break_it, message) in cases {
            let mut file = tiny();
            file.retired.clear();
            break_it(&mut file);
            assert_eq!(fault_of(file).to_string(), message);
        }
    }
}
