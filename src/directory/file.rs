//! The on-disk directory: the JSON shape the *enrich* stage's directory is
//! loaded from ([`super::Directory::load`]) and the generator writes. Plain
//! data; checking and indexing happen in `check`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DivisionCode, Person};

/// A named division above village level (province, county or township).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DivisionEntry {
    /// Code prefix: 2, 4, 6 or 9 digits.
    pub code: String,
    /// Official name.
    pub name: String,
    /// Parent's code; none for a province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// A village or community and the police area that covers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageEntry {
    /// 12-digit code.
    pub code: DivisionCode,
    /// Official name.
    pub name: String,
    /// 9-digit township code (the code's prefix).
    pub township: String,
    /// Id of the one police area covering it.
    pub police_area: String,
}

/// A police station (派出所) and the townships it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationEntry {
    /// Station id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// 9-digit township codes covered.
    pub townships: Vec<String>,
}

/// A police area (警务区) within a station, with its community officer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaEntry {
    /// Area id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Owning station id.
    pub station: String,
    /// Community officer (社区民警).
    pub officer: Person,
}

/// A grid (网格) of one village and its grid workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridEntry {
    /// Grid id.
    pub id: String,
    /// The village it belongs to.
    pub village: DivisionCode,
    /// Display name.
    pub name: String,
    /// Households in the grid.
    pub households: u32,
    /// Grid workers, the first is the one tasks go to.
    pub workers: Vec<Person>,
}

/// A revoked code; a township or county code retires everything under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredEntry {
    /// The revoked code, written as 12 digits.
    pub code: DivisionCode,
    /// Directory edition or year from which it is gone.
    pub retired_in: String,
    /// The code that took its place (same level), when known: an alert
    /// with the old code is rejected with this one named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<DivisionCode>,
}

/// The on-disk directory (JSON), versioned.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    /// Version tag, e.g. "2023-gz-seed2023".
    pub version: String,
    /// Provenance line.
    pub source: String,
    /// Province names.
    pub provinces: Vec<DivisionEntry>,
    /// County names.
    pub counties: Vec<DivisionEntry>,
    /// Township names.
    pub townships: Vec<DivisionEntry>,
    /// Villages and communities.
    pub villages: Vec<VillageEntry>,
    /// Police stations.
    pub police_stations: Vec<StationEntry>,
    /// Police areas.
    pub police_areas: Vec<AreaEntry>,
    /// Grids.
    pub grids: Vec<GridEntry>,
    /// Revoked codes.
    pub retired: Vec<RetiredEntry>,
}

impl DirectoryFile {
    /// Writes the file atomically (temp file, then rename), one entry per line.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let text = self.render()?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let written = std::fs::File::create(&tmp).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        let result = written.and_then(|()| std::fs::rename(&tmp, path));
        if result.is_err() {
            // Best effort: the original error is the one worth reporting.
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// The JSON text `write` stores: one entry per line so diffs stay readable.
    pub(crate) fn render(&self) -> serde_json::Result<String> {
        let mut out = String::with_capacity(64 * 1024);
        out.push_str("{\n");
        out.push_str(&format!(
            "\"version\": {},\n",
            serde_json::to_string(&self.version)?
        ));
        out.push_str(&format!(
            "\"source\": {},\n",
            serde_json::to_string(&self.source)?
        ));
        push_list(&mut out, "provinces", &self.provinces)?;
        push_list(&mut out, "counties", &self.counties)?;
        push_list(&mut out, "townships", &self.townships)?;
        push_list(&mut out, "villages", &self.villages)?;
        push_list(&mut out, "police_stations", &self.police_stations)?;
        push_list(&mut out, "police_areas", &self.police_areas)?;
        push_list(&mut out, "grids", &self.grids)?;
        push_list(&mut out, "retired", &self.retired)?;
        // Every list ends with ",\n"; the last one must not.
        out.truncate(out.len() - 2);
        out.push_str("\n}\n");
        Ok(out)
    }
}

/// Appends `"key": [` + one JSON entry per line + `],\n`.
fn push_list<T: Serialize>(out: &mut String, key: &str, items: &[T]) -> serde_json::Result<()> {
    out.push_str(&format!("\"{key}\": ["));
    for (i, item) in items.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&serde_json::to_string(item)?);
    }
    out.push_str(if items.is_empty() { "],\n" } else { "\n],\n" });
    Ok(())
}
