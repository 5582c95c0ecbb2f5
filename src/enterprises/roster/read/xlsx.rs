//! Reading XLSX rosters with calamine: the first worksheet's cells as text, streamed
//! rather than loaded as a range, after checking what the workbook unpacks to.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;

use calamine::{DataRef, Reader, SheetType, Xlsx};

use super::{HEADER_SEARCH_ROWS, MAX_COLUMNS, MAX_ROWS, RawRow, SheetColumns, SourceRow, assemble};
use crate::enterprises::roster::{RosterError, trim_cell};

/// Most bytes the parts of an XLSX may unpack to, together: the sheet of a roster of
/// [`MAX_ROWS`] rows is a few tens of megabytes.
pub const MAX_XLSX_UNPACKED: u64 = 128 * 1024 * 1024;

/// Reads an XLSX roster: the first worksheet, by the rules of [`read`](super::read).
///
/// Cells become text: strings as they are; integral numbers without a decimal part; other
/// numbers in their shortest exact form (never in exponent notation); booleans as 是/否; dates as
/// `YYYY-MM-DD`; error cells as their code (`#N/A`) so that the importer reports them. Row
/// numbers are the sheet's own.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<RawRow>, RosterError> {
    read_xlsx_as(bytes)
}

/// Reads an XLSX sheet with the columns `C`, as [`read_xlsx`] reads a roster.
pub(super) fn read_xlsx_as<C: SheetColumns>(bytes: &[u8]) -> Result<Vec<RawRow<C>>, RosterError> {
    // calamine parses untrusted ZIP and XML; it is not meant to panic, but a crafted file
    // must never take the server down, so a panic there is reported as an unreadable file.
    std::panic::catch_unwind(|| read_xlsx_unguarded(bytes)).unwrap_or_else(|_| {
        Err(RosterError::UnreadableXlsx(
            "文件已损坏，或不是 Excel 能打开的 .xlsx 工作簿".to_owned(),
        ))
    })
}

/// Refuses a workbook whose parts would unpack to more than [`MAX_XLSX_UNPACKED`]:
/// first by the sizes its ZIP directory declares, then by unpacking every part into
/// nothing, stopping at the cap, since a directory can lie.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), RosterError> {
    let unreadable = |e: &dyn fmt::Display| {
        RosterError::UnreadableXlsx(format!("文件已损坏或不是 .xlsx 工作簿（{e}）"))
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let part = archive.by_index_raw(index).map_err(|e| unreadable(&e))?;
        declared = declared.saturating_add(part.size());
    }
    if declared > MAX_XLSX_UNPACKED {
        return Err(RosterError::TooLarge(MAX_XLSX_UNPACKED));
    }
    let mut left = MAX_XLSX_UNPACKED;
    for index in 0..archive.len() {
        let part = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let unpacked = std::io::copy(
            &mut std::io::Read::take(part, left + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| unreadable(&e))?;
        left = left
            .checked_sub(unpacked)
            .ok_or(RosterError::TooLarge(MAX_XLSX_UNPACKED))?;
    }
    Ok(())
}

fn read_xlsx_unguarded<C: SheetColumns>(bytes: &[u8]) -> Result<Vec<RawRow<C>>, RosterError> {
    check_unpacked_size(bytes)?;
    let unreadable = |e: calamine::XlsxError| {
        RosterError::UnreadableXlsx(format!("文件已损坏或不是 .xlsx 工作簿（{e}）"))
    };
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(sheet) = workbook
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
    else {
        return Err(RosterError::UnreadableXlsx("工作簿中没有工作表".to_owned()));
    };
    // Stream the cells rather than building a `Range`: a range is allocated as its bounding
    // box, so one stray cell at XFD1048576 would ask for billions of cells.
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let mut rows: BTreeMap<u32, Vec<(usize, String)>> = BTreeMap::new();
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let Some(text) = xlsx_cell_text(cell.get_value()) else {
            continue;
        };
        let (row, col) = cell.get_position();
        if col as usize >= MAX_COLUMNS {
            return Err(RosterError::TooManyColumns(MAX_COLUMNS));
        }
        if !rows.contains_key(&row) && rows.len() >= MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(RosterError::TooManyRows(MAX_ROWS));
        }
        rows.entry(row).or_default().push((col as usize, text));
    }
    assemble(rows.into_iter().map(|(row, mut cells)| {
        cells.sort_by_key(|(col, _)| *col);
        Ok(SourceRow {
            row: row as usize + 1,
            cells,
        })
    }))
}

/// An XLSX cell as trimmed text; `None` when empty.
fn xlsx_cell_text(value: &DataRef<'_>) -> Option<String> {
    let text: Cow<'_, str> = match value {
        DataRef::Empty => return None,
        DataRef::String(s) => Cow::Borrowed(s.as_str()),
        DataRef::SharedString(s) => Cow::Borrowed(*s),
        DataRef::Int(i) => Cow::Owned(i.to_string()),
        DataRef::Float(f) => Cow::Owned(format_number(*f)),
        DataRef::Bool(b) => Cow::Borrowed(if *b { "是" } else { "否" }),
        DataRef::DateTime(dt) if dt.is_datetime() => {
            let (year, month, day, ..) = dt.to_ymd_hms_milli();
            Cow::Owned(format!("{year:04}-{month:02}-{day:02}"))
        }
        DataRef::DateTime(dt) => Cow::Owned(format_number(dt.as_f64())),
        DataRef::DateTimeIso(s) => Cow::Borrowed(iso_date_part(s)),
        DataRef::DurationIso(s) => Cow::Borrowed(s.as_str()),
        DataRef::Error(e) => Cow::Owned(e.to_string()),
    };
    let trimmed = trim_cell(&text);
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// `2024-03-05T00:00:00` -> `2024-03-05`; anything not starting with a date is kept whole.
fn iso_date_part(s: &str) -> &str {
    match s.get(..10) {
        Some(date)
            if date
                .as_bytes()
                .iter()
                .enumerate()
                .all(|(i, b)| matches!(i, 4 | 7) == (*b == b'-')) =>
        {
            date
        }
        _ => s,
    }
}

/// A number as a person typed it. Integral values print without ".0" and never in exponent form.
///
/// Excel stores every number as an f64, so a credit code typed into a number cell has already
/// lost digits past the 15th or 16th; we print the integer exactly as stored (below 1e17 it fits
/// an i64 with room to spare) and leave it to the importer's validation to reject it. Credit
/// codes containing letters are always string cells and never come through here.
fn format_number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e17 {
        // Exact: integral and well inside the i64 range.
        (value as i64).to_string()
    } else {
        // Rust prints f64 in the shortest form that reads back exactly, without exponents.
        value.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};

    use super::*;
    use crate::enterprises::roster::Column;
    use crate::enterprises::roster::samples::row;

    #[test]
    fn xlsx_cell_kinds_and_real_row_numbers() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        // The table starts at B3: header on row 3, a blank row 5.
        sheet.write_string(0, 3, "某园区企业名录").unwrap();
        sheet.write_string(2, 1, "企业名称").unwrap();
        sheet.write_string(2, 2, "统一社会信用代码").unwrap();
        sheet.write_string(2, 3, "重点企业").unwrap();
        sheet.write_string(2, 4, "状态").unwrap();
        sheet.write_string(2, 5, "经度").unwrap();
        sheet.write_string(3, 1, " 甲公司 ").unwrap();
        sheet.write_number(3, 2, 123_456_789_012_345.0).unwrap();
        sheet.write_boolean(3, 3, true).unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 3, 5).unwrap();
        let date_format = CellFormat::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_datetime_with_format(3, 4, &date, &date_format)
            .unwrap();
        sheet.write_number(3, 5, 118.25).unwrap();
        sheet.write_string(4, 1, "   ").unwrap();
        sheet.write_string(5, 1, "乙公司").unwrap();
        sheet.write_number(5, 2, 9.1e17).unwrap();
        sheet.write_boolean(5, 3, false).unwrap();
        sheet.write_number(5, 5, 120.0).unwrap();
        let bytes = workbook.save_to_buffer().unwrap();

        let rows = read_xlsx(&bytes).unwrap();
        assert_eq!(
            rows,
            vec![
                row(
                    4,
                    &[
                        (Column::Name, "甲公司"),
                        (Column::CreditCode, "123456789012345"),
                        (Column::KeyEnterprise, "是"),
                        (Column::Status, "2024-03-05"),
                        (Column::Longitude, "118.25"),
                    ]
                ),
                row(
                    6,
                    &[
                        (Column::Name, "乙公司"),
                        (Column::CreditCode, "910000000000000000"),
                        (Column::KeyEnterprise, "否"),
                        (Column::Longitude, "120"),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn number_formatting() {
        assert_eq!(format_number(91_320_100_123_456.0), "91320100123456");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(1e-7), "0.0000001");
        assert_eq!(format_number(f64::NAN), "NaN");
    }
}
