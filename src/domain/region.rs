//! Administrative divisions by GB/T 2260 code: provinces, cities and counties.
//!
//! The table is `regions/regions.tsv` (source, licence and conversion in
//! `regions/README.md`): one `code<TAB>name<TAB>parent_code` line per region, parsed
//! once on first use. Nothing here does IO.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use crate::error::FieldError;

/// The embedded table.
const DATA: &str = include_str!("regions/regions.tsv");

/// Names of levels that stand for no place of their own: the placeholder cities of the
/// municipalities and the groups of counties directly under a province.
const PLACEHOLDERS: [&str; 4] = [
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
];

/// More ancestors than any region has; stops a malformed table from looping.
const MAX_DEPTH: usize = 8;

/// One province, city or county, borrowed from the embedded table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// Six-digit code (`350102`).
    pub code: &'static str,
    /// Chinese name (`鼓楼区`).
    pub name: &'static str,
    /// The code of the region it belongs to; `None` for a province.
    pub parent: Option<&'static str>,
}

impl Region {
    /// Whether this level stands for no place of its own (`市辖区`).
    pub fn is_placeholder(&self) -> bool {
        PLACEHOLDERS.contains(&self.name)
    }
}

/// The parsed table.
struct Table {
    /// Every region, sorted by code.
    regions: Vec<Region>,
    /// Position in `regions` by code.
    by_code: HashMap<&'static str, usize>,
    /// Positions in `regions` of each region's children, in code order.
    children: HashMap<&'static str, Vec<usize>>,
}

impl Table {
    fn parse(text: &'static str) -> Self {
        let mut regions: Vec<Region> = text.lines().filter_map(parse_line).collect();
        regions.sort_by_key(|region| region.code);
        regions.dedup_by_key(|region| region.code);
        let mut by_code = HashMap::with_capacity(regions.len());
        let mut children: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (position, region) in regions.iter().enumerate() {
            by_code.insert(region.code, position);
            if let Some(parent) = region.parent {
                children.entry(parent).or_default().push(position);
            }
        }
        Self {
            regions,
            by_code,
            children,
        }
    }
}

static TABLE: LazyLock<Table> = LazyLock::new(|| Table::parse(DATA));

/// One line of the table, or `None` if it is malformed.
fn parse_line(line: &'static str) -> Option<Region> {
    let mut fields = line.split('\t');
    let code = fields.next()?;
    let name = fields.next()?;
    let parent = fields.next()?;
    if fields.next().is_some() || !is_six_digits(code) || name.trim().is_empty() {
        return None;
    }
    let parent = match parent {
        "" => None,
        parent if is_six_digits(parent) && parent != code => Some(parent),
        _ => return None,
    };
    Some(Region { code, name, parent })
}

fn is_six_digits(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The region with this code.
pub fn find(code: &str) -> Option<&'static Region> {
    let table = &*TABLE;
    table
        .by_code
        .get(code)
        .and_then(|position| table.regions.get(*position))
}

/// Every province-level region, in code order.
pub fn provinces() -> Vec<&'static Region> {
    TABLE
        .regions
        .iter()
        .filter(|region| region.parent.is_none())
        .collect()
}

/// The regions directly under `code`, in code order; empty for a county or an unknown
/// code.
pub fn children(code: &str) -> Vec<&'static Region> {
    let table = &*TABLE;
    table
        .children
        .get(code)
        .map(|positions| {
            positions
                .iter()
                .filter_map(|position| table.regions.get(*position))
                .collect()
        })
        .unwrap_or_default()
}

/// The deepest code of a province → city → county chain whose every link belongs to
/// the one before it (the first must be a province); `None` when even the first is
/// not. Blank or stray links end the chain.
pub fn deepest(chain: &[&str]) -> Option<&'static str> {
    let mut deepest: Option<&'static Region> = None;
    for code in chain {
        match find(code.trim()) {
            Some(region) if region.parent == deepest.map(|d| d.code) => deepest = Some(region),
            _ => break,
        }
    }
    deepest.map(|region| region.code)
}

/// The region and its ancestors, province first (`[福建省, 福州市, 鼓楼区]`); empty for
/// an unknown code.
pub fn lineage(code: &str) -> Vec<&'static Region> {
    let mut line = Vec::new();
    let mut next = find(code);
    while let Some(region) = next {
        if line.len() > MAX_DEPTH {
            return Vec::new();
        }
        line.push(region);
        next = region.parent.and_then(find);
    }
    line.reverse();
    line
}

/// The region's name after its ancestors' (`福建省福州市鼓楼区`). Ancestors that are
/// placeholders (`市辖区`, `省直辖县级行政区划`) are left out: `110101` is `北京市东城区`.
pub fn full_name(code: &str) -> Option<String> {
    let region = find(code)?;
    let mut names = vec![region.name];
    let mut parent = region.parent;
    while let Some(parent_code) = parent {
        if names.len() > MAX_DEPTH {
            return None;
        }
        let ancestor = find(parent_code)?;
        if !ancestor.is_placeholder() {
            names.push(ancestor.name);
        }
        parent = ancestor.parent;
    }
    names.reverse();
    Some(names.concat())
}

/// The full name of the city a region lies in (`福建省福州市` for `350102`). A
/// municipality, whose cities are placeholders, is its own city (`北京市`); a county
/// directly under a province is one (`湖北省仙桃市`). `None` for a province or an
/// unknown code.
pub fn city_name(code: &str) -> Option<String> {
    let lineage = lineage(code);
    let city = lineage.get(1)?;
    match city.name {
        "市辖区" | "县" => lineage.first().map(|province| province.name.to_owned()),
        _ if city.is_placeholder() => lineage.get(2).and_then(|county| full_name(county.code)),
        _ => full_name(city.code),
    }
}

/// A region code that exists in the table: a province, a city or a county.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    /// Validates a code, after trimming whitespace.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let invalid = |message: &str| FieldError::new("origin_region", "invalid_region", message);
        if value.is_empty() {
            return Err(FieldError::new(
                "origin_region",
                "required",
                "请选择来源地区",
            ));
        }
        if !is_six_digits(value) {
            return Err(invalid("地区代码应为 6 位数字"));
        }
        match find(value) {
            Some(region) => Ok(Self(region.code.to_owned())),
            None => Err(invalid("地区代码不存在，请从省、市、区县中选择")),
        }
    }

    /// The six-digit code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The leading digits that this region's code shares with the codes of every
    /// region in it: two for a province (`35`), four for a city (`3501`), all six for a
    /// county.
    pub fn prefix(&self) -> &str {
        let digits = (2 * lineage(&self.0).len()).clamp(2, 6);
        self.0.get(..digits).unwrap_or(&self.0)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_consistent_link_of_a_chain_wins() {
        assert_eq!(deepest(&["350000", "350100", "350102"]), Some("350102"));
        assert_eq!(deepest(&["350000", "350100", ""]), Some("350100"));
        // The province changed, the old city and county stayed behind.
        assert_eq!(deepest(&["440000", "350100", "350102"]), Some("440000"));
        assert_eq!(deepest(&["350100", "350102"]), None);
        assert_eq!(deepest(&["", "350100"]), None);
        assert_eq!(deepest(&[]), None);
    }

    #[test]
    fn lineage_runs_from_the_province_down() {
        let codes: Vec<&str> = lineage("350102").iter().map(|r| r.code).collect();
        assert_eq!(codes, ["350000", "350100", "350102"]);
        assert_eq!(lineage("350000").len(), 1);
        assert!(lineage("999999").is_empty());
    }

    #[test]
    fn a_prefix_covers_the_regions_within() {
        let prefix = |code: &str| RegionCode::parse(code).unwrap().prefix().to_owned();
        assert_eq!(prefix("350000"), "35");
        assert_eq!(prefix("350100"), "3501");
        assert_eq!(prefix("350102"), "350102");
        // A municipality's placeholder city and a county under the province directly.
        assert_eq!(prefix("110100"), "1101");
        assert!("110101".starts_with(&prefix("110100")));
        assert!("429004".starts_with(&prefix("429000")));
    }

    #[test]
    fn every_line_of_the_table_is_parsed() {
        assert_eq!(TABLE.regions.len(), DATA.lines().count());
        assert_eq!(TABLE.by_code.len(), TABLE.regions.len());
    }

    #[test]
    fn counts_per_level_match_the_data() {
        let depth = |region: &Region| {
            let mut depth = 0;
            let mut parent = region.parent;
            while let Some(code) = parent {
                depth += 1;
                parent = find(code).and_then(|ancestor| ancestor.parent);
            }
            depth
        };
        let count = |level| TABLE.regions.iter().filter(|r| depth(r) == level).count();
        // 31: the data (NBS 2023) has no codes for Hong Kong, Macau or Taiwan.
        assert_eq!(provinces().len(), 31);
        assert_eq!(count(0), 31);
        assert_eq!(count(1), 342);
        assert_eq!(count(2), 2975);
    }

    #[test]
    fn beijing_exists() {
        assert_eq!(find("110000").map(|r| r.name), Some("北京市"));
        assert_eq!(find("110000").map(|r| r.parent), Some(None));
        assert_eq!(full_name("110101").as_deref(), Some("北京市东城区"));
    }

    #[test]
    fn gulou_is_under_fuzhou_under_fujian() {
        let city = find("350102").and_then(|r| r.parent);
        assert_eq!(city, Some("350100"));
        assert_eq!(city.and_then(find).and_then(|r| r.parent), Some("350000"));
        assert!(children("350100").iter().any(|r| r.code == "350102"));
        assert!(children("350000").iter().any(|r| r.code == "350100"));
        assert!(children("350102").is_empty());
    }

    #[test]
    fn full_names_join_ancestors_and_skip_placeholders() {
        assert_eq!(full_name("350102").as_deref(), Some("福建省福州市鼓楼区"));
        assert_eq!(full_name("350000").as_deref(), Some("福建省"));
        assert_eq!(full_name("500229").as_deref(), Some("重庆市城口县"));
        assert_eq!(full_name("419001").as_deref(), Some("河南省济源市"));
        assert_eq!(full_name("999999"), None);
    }

    #[test]
    fn every_parent_exists_and_is_one_level_up() {
        for region in &TABLE.regions {
            if let Some(parent) = region.parent {
                assert!(
                    find(parent).is_some(),
                    "{} has no parent {parent}",
                    region.code
                );
                assert!(
                    region.code > parent,
                    "{} sorts before {parent}",
                    region.code
                );
            } else {
                assert!(
                    region.code.ends_with("0000"),
                    "{} is no province",
                    region.code
                );
            }
        }
    }

    #[test]
    fn codes_are_sorted_and_unique() {
        assert!(TABLE.regions.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn malformed_lines_are_skipped() {
        for bad in [
            "",
            "350102\t鼓楼区",
            "35010\t鼓楼区\t350100",
            "350102\t\t350100",
            "350102\t鼓楼区\t3501",
            "350102\t鼓楼区\t350102",
            "350102\t鼓楼区\t350100\textra",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?} parsed");
        }
        assert!(parse_line("350000\t福建省\t").is_some());
    }

    #[test]
    fn parse_accepts_known_codes() {
        assert_eq!(
            RegionCode::parse(" 350102 ").map(|c| c.as_str().to_owned()),
            Ok("350102".to_owned())
        );
        assert!(RegionCode::parse("110000").is_ok());
    }

    #[test]
    fn parse_rejects_malformed_and_unknown_codes() {
        for bad in ["35010", "999999", "abcdef", "3501021", "３５０１０２"] {
            let error = RegionCode::parse(bad).map(|c| c.0);
            assert_eq!(
                error.map_err(|e| (e.field, e.code)),
                Err(("origin_region".to_owned(), "invalid_region")),
                "{bad}"
            );
        }
        assert_eq!(RegionCode::parse("  ").map_err(|e| e.code), Err("required"));
    }

    #[test]
    fn a_city_is_named_in_full_and_a_municipality_is_its_own_city() {
        assert_eq!(city_name("350102").as_deref(), Some("福建省福州市"));
        assert_eq!(city_name("350100").as_deref(), Some("福建省福州市"));
        assert_eq!(city_name("110105").as_deref(), Some("北京市"));
        assert_eq!(city_name("429004").as_deref(), Some("湖北省仙桃市"));
        assert_eq!(city_name("350000"), None);
        assert_eq!(city_name("999999"), None);
    }
}
