//! Reading the zone's enterprise spreadsheet (CSV or XLSX) into raw rows: what both
//! kinds share is here (finding the header row, mapping its columns, the limits); the
//! decoding of each kind is in [`csv`] and [`xlsx`].
//!
//! Everything here is pure, bytes in and rows out. Validating a row's values (is this a
//! well-formed credit code, does this park exist) is the importer's job; this module
//! only finds the columns, reads the cells as text and reports files that cannot be
//! read at all.

mod csv;
mod xlsx;

use std::collections::BTreeMap;

pub use self::csv::read_csv;
pub use self::xlsx::{MAX_XLSX_UNPACKED, read_xlsx};
use super::{Column, RosterError};

/// The columns of a kind of sheet (the roster's [`Column`], the surveyors' sheet …):
/// how a header cell names one, and which must be there.
pub trait SheetColumns: Copy + Ord + 'static {
    /// Columns the header row must have.
    const REQUIRED: &'static [Self];

    /// The column a header cell names, if any.
    fn from_header(text: &str) -> Option<Self>;

    /// The Chinese header, for messages.
    fn header(self) -> &'static str;
}

impl SheetColumns for Column {
    const REQUIRED: &'static [Self] = &[Column::Name, Column::CreditCode];

    fn from_header(text: &str) -> Option<Self> {
        Column::from_header(text)
    }

    fn header(self) -> &'static str {
        Column::header(self)
    }
}

/// One data row as read: its row number in the file (1-based, counting the header row, i.e. what a person sees in Excel) and its non-empty trimmed cells by column.
///
/// A row whose only content is in columns this module does not know has empty `cells`: it is
/// still returned so that the importer can report it (rows with no content at all are skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRow<C = Column> {
    /// 1-based row number as Excel shows it (the header row counts, blank rows count).
    pub row: usize,
    /// The row's non-empty, trimmed cells in known columns.
    pub cells: BTreeMap<C, String>,
}

/// Largest number of data rows accepted in one file.
pub const MAX_ROWS: usize = 50_000;

/// Most columns a row may use (a roster has about a dozen).
pub const MAX_COLUMNS: usize = 256;

/// The header is looked for among this many first non-blank rows (see [`read`]).
const HEADER_SEARCH_ROWS: usize = 10;

/// File kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma- (or semicolon-, or tab-) separated text.
    Csv,
    /// An Office Open XML workbook.
    Xlsx,
}

impl Format {
    /// Guesses from the first bytes: XLSX files are ZIP archives starting with b"PK\x03\x04"; anything else is CSV.
    pub fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// Reads a roster file of either kind (see [`Format::sniff`]).
///
/// Header rules, for both kinds: the header row is the first of the first 10 non-blank rows
/// that has at least one recognised header (so a title row such as “某某园区重点企业名录” above
/// the header is skipped), or else the first non-blank row. Unknown header columns are ignored;
/// [`Column::Name`] and [`Column::CreditCode`] are required; a column may appear only once.
/// Rows with no content are skipped; rows above the header are ignored. A file with a header
/// and no data rows gives `Ok` with no rows.
pub fn read(bytes: &[u8]) -> Result<Vec<RawRow>, RosterError> {
    read_as(bytes)
}

/// Reads a sheet of either kind with the columns `C`, by the rules of [`read`] (the
/// required columns being `C::REQUIRED`).
pub fn read_as<C: SheetColumns>(bytes: &[u8]) -> Result<Vec<RawRow<C>>, RosterError> {
    match Format::sniff(bytes) {
        Format::Xlsx => xlsx::read_xlsx_as(bytes),
        // The compound-file magic: a legacy .xls workbook or an encrypted .xlsx.
        Format::Csv if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") => {
            Err(RosterError::UnreadableXlsx(
                "这是旧版 Excel（.xls）或加密的工作簿，请在 Excel 中另存为 .xlsx 或 CSV 后再上传"
                    .to_owned(),
            ))
        }
        Format::Csv => csv::read_csv_as(bytes),
    }
}

/// A non-blank row of the file: its 1-based row number and its non-empty trimmed cells by
/// 0-based column index, in column order.
struct SourceRow {
    row: usize,
    cells: Vec<(usize, String)>,
}

/// Finds the header among the first rows, maps the columns and turns the data rows into
/// [`RawRow`]s.
fn assemble<C, I>(mut rows: I) -> Result<Vec<RawRow<C>>, RosterError>
where
    C: SheetColumns,
    I: Iterator<Item = Result<SourceRow, RosterError>>,
{
    let mut head = Vec::with_capacity(HEADER_SEARCH_ROWS);
    while head.len() < HEADER_SEARCH_ROWS {
        match rows.next() {
            Some(row) => head.push(row?),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(RosterError::Empty);
    }
    let header_at = head
        .iter()
        .position(|r| {
            r.cells
                .iter()
                .any(|(_, text)| C::from_header(text).is_some())
        })
        .unwrap_or(0);
    let columns = map_header::<C>(&head[header_at])?;

    let mut out = Vec::new();
    for source in head.into_iter().skip(header_at + 1).map(Ok).chain(rows) {
        let source = source?;
        if out.len() >= MAX_ROWS {
            return Err(RosterError::TooManyRows(MAX_ROWS));
        }
        let cells = source
            .cells
            .into_iter()
            .filter_map(|(index, text)| Some((columns.get(index).copied().flatten()?, text)))
            .collect();
        out.push(RawRow {
            row: source.row,
            cells,
        });
    }
    Ok(out)
}

/// The column each 0-based cell index holds (`None`: not one of ours).
fn map_header<C: SheetColumns>(header: &SourceRow) -> Result<Vec<Option<C>>, RosterError> {
    let width = header.cells.last().map_or(0, |(index, _)| index + 1);
    let mut columns = vec![None; width];
    let mut seen = Vec::new();
    for (index, text) in &header.cells {
        if let Some(column) = C::from_header(text) {
            if seen.contains(&column) {
                return Err(RosterError::DuplicateColumn(column.header()));
            }
            seen.push(column);
            if let Some(slot) = columns.get_mut(*index) {
                *slot = Some(column);
            }
        }
    }
    let missing: Vec<&'static str> = C::REQUIRED
        .iter()
        .filter(|c| !seen.contains(c))
        .map(|c| c.header())
        .collect();
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(RosterError::MissingColumns(missing))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::enterprises::roster::ExportRow;
    use crate::enterprises::roster::samples::{row, sample_rows};
    use crate::exports::sheet::write_xlsx;

    #[test]
    fn missing_columns() {
        assert_eq!(
            read_csv("行业,园区\n化工,东区\n".as_bytes()),
            Err(RosterError::MissingColumns(vec![
                Column::Name.header(),
                Column::CreditCode.header()
            ]))
        );
        assert_eq!(
            read_csv("企业名称,园区\n甲,东区\n".as_bytes()),
            Err(RosterError::MissingColumns(vec![
                Column::CreditCode.header()
            ]))
        );
    }

    #[test]
    fn duplicate_column() {
        assert_eq!(
            read_csv("企业名称,统一社会信用代码,单位名称\n甲,1,乙\n".as_bytes()),
            Err(RosterError::DuplicateColumn(Column::Name.header()))
        );
    }

    #[test]
    fn a_title_row_above_the_header_is_skipped() {
        let text =
            "新材料产业园重点企业名录（2026 年）,,\n企业名称,统一社会信用代码,重点企业\n甲,A1,是\n";
        let rows = read_csv(text.as_bytes()).unwrap();
        assert_eq!(
            rows,
            vec![row(
                3,
                &[
                    (Column::Name, "甲"),
                    (Column::CreditCode, "A1"),
                    (Column::KeyEnterprise, "是")
                ]
            )]
        );
    }

    #[test]
    fn rows_with_content_only_in_unknown_columns_are_kept_empty() {
        let rows = read_csv("企业名称,统一社会信用代码,备注\n,,note\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![row(2, &[])]);
    }

    #[test]
    fn empty_and_header_only_files() {
        assert_eq!(read(b""), Err(RosterError::Empty));
        assert_eq!(read(b"\xEF\xBB\xBF"), Err(RosterError::Empty));
        assert_eq!(read(b"\r\n , ,\n\t\n"), Err(RosterError::Empty));
        assert_eq!(read("企业名称,统一社会信用代码\n".as_bytes()), Ok(vec![]));
        assert_eq!(read("企业名称,统一社会信用代码".as_bytes()), Ok(vec![]));
        assert_eq!(
            read_xlsx(&write_xlsx::<ExportRow>(&[]).unwrap()),
            Ok(vec![])
        );
    }

    #[test]
    fn too_many_rows() {
        let mut text = String::from("企业名称,统一社会信用代码\n");
        for i in 0..MAX_ROWS {
            text.push_str(&format!("企业{i},C{i}\n"));
        }
        assert_eq!(read_csv(text.as_bytes()).map(|r| r.len()), Ok(MAX_ROWS));
        text.push_str("one,more\n");
        assert_eq!(
            read_csv(text.as_bytes()),
            Err(RosterError::TooManyRows(MAX_ROWS))
        );
    }

    #[test]
    fn sniffing() {
        assert_eq!(Format::sniff(b"PK\x03\x04rest"), Format::Xlsx);
        assert_eq!(Format::sniff(b"PK\x03"), Format::Csv);
        assert_eq!(Format::sniff(b""), Format::Csv);
        assert_eq!(
            Format::sniff("企业名称,统一社会信用代码".as_bytes()),
            Format::Csv
        );
        assert!(matches!(
            read(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0"),
            Err(RosterError::UnreadableXlsx(_))
        ));
    }

    #[test]
    fn broken_and_random_input_never_panics() {
        let good = write_xlsx(&sample_rows()).unwrap();
        for cut in [4, 10, 100, good.len() / 2, good.len() - 1] {
            assert!(
                matches!(read(&good[..cut]), Err(RosterError::UnreadableXlsx(_))),
                "cut at {cut}"
            );
        }
        assert!(read(b"PK\x03\x04").is_err());
        assert!(matches!(
            read(b"\xff\xff\x00\x81"),
            Err(RosterError::UnreadableCsv(_))
        ));
        assert!(matches!(
            read(b"\xEF\xBB\xBF\xff\xfe"),
            Err(RosterError::UnreadableCsv(_))
        ));

        // A small deterministic generator: no extra dependencies, reproducible failures.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: Vec<u8> = "企业名称,统一社会信用代码;\t\"\n\r 甲9".bytes().collect();
        for round in 0..2_000 {
            let len = (next() % 512) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if round % 2 == 0 {
                        r as u8
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            let _ = read(&bytes);
            let _ = read_csv(&bytes);
            let _ = read_xlsx(&bytes);
            // Corrupt a real workbook in a few places.
            let mut corrupted = good.clone();
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % corrupted.len();
                corrupted[at] = next() as u8;
            }
            let _ = read(&corrupted);
        }
    }
}
