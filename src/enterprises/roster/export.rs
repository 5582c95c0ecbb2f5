//! Writing roster exports, a page of rows at a time: CSV through the `csv` crate and
//! XLSX through a constant-memory worksheet of `rust_xlsxwriter`, so that an export of
//! any size holds one page of rows in memory, never the whole roster. Columns and
//! headers are those of [`Column::ALL`], the ones the import reads.

use std::borrow::Cow;
use std::io::Write;

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

use super::{Column, RosterError, UTF8_BOM, starts_like_formula};

/// The sheet name of XLSX exports.
const SHEET_NAME: &str = "企业名录";

/// Excel's limit on the length of a cell's text, in characters.
const EXCEL_MAX_STRING_CHARS: usize = 32_767;

/// One enterprise in an export, already formatted as text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportRow {
    /// 企业名称.
    pub name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// 行业 (the sector's name).
    pub sector: String,
    /// 园区 (the park's name).
    pub park: String,
    /// 地址.
    pub address: String,
    /// 重点企业 (written as 是/否).
    pub key_enterprise: bool,
    /// 状态, as people read it.
    pub status: String,
    /// 经度.
    pub longitude: Option<f64>,
    /// 纬度.
    pub latitude: Option<f64>,
}

impl ExportRow {
    /// The row's text cells in [`Column::ALL`] order; coordinates are `None` when absent.
    fn texts(&self) -> [&str; 7] {
        [
            &self.name,
            &self.credit_code,
            &self.sector,
            &self.park,
            &self.address,
            if self.key_enterprise { "是" } else { "否" },
            &self.status,
        ]
    }
}

/// Writes one page of a CSV export: UTF-8 with a BOM (so Excel in China opens it correctly), Chinese headers in Column::ALL order, key_enterprise as 是/否; with_header controls whether the header line is written (exports are streamed in pages: the first page has the header, later ones not).
///
/// The BOM is written only with the header. Lines end in CRLF; a field is quoted when it
/// holds a comma, a quote or a line break. A text cell that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-` or `@`) is prefixed with `'`, which
/// [`super::read_csv`] removes again.
pub fn write_csv(rows: &[ExportRow], with_header: bool) -> Result<Vec<u8>, RosterError> {
    let mut out = Vec::with_capacity(rows.len() * 160 + 64);
    if with_header {
        out.extend_from_slice(UTF8_BOM);
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let failed = |e: &dyn std::fmt::Display| RosterError::Write(e.to_string());
    if with_header {
        writer
            .write_record(Column::ALL.map(Column::header))
            .map_err(|e| failed(&e))?;
    }
    for row in rows {
        for text in row.texts() {
            let text = if starts_like_formula(text) {
                Cow::Owned(format!("'{text}"))
            } else {
                Cow::Borrowed(text)
            };
            writer
                .write_field(text.as_bytes())
                .map_err(|e| failed(&e))?;
        }
        for coordinate in [row.longitude, row.latitude] {
            let text = coordinate
                .filter(|v| v.is_finite())
                .map(|v| v.to_string())
                .unwrap_or_default();
            writer.write_field(text).map_err(|e| failed(&e))?;
        }
        writer.write_record(None::<&[u8]>).map_err(|e| failed(&e))?;
    }
    writer.into_inner().map_err(|e| failed(e.error()))
}

/// An XLSX export being written: one sheet 企业名录, bold header row, sensible column widths, credit codes as text (never numbers).
///
/// The header row is frozen and has an autofilter; coordinates are numbers. Text longer
/// than Excel's 32,767-character cell limit is cut to fit. Rows go to a constant-memory
/// worksheet, which keeps only the current row in memory and spills the rest to a
/// temporary file (in `TMPDIR`, removed when the export is dropped); the workbook is
/// zipped into a writer by [`XlsxExport::finish`]. Writer failures are
/// [`RosterError::Write`].
pub struct XlsxExport {
    workbook: Workbook,
    text_format: CellFormat,
    /// The last row written (0: only the header).
    last_row: u32,
}

impl XlsxExport {
    /// Starts a workbook with its header row.
    pub fn new() -> Result<Self, RosterError> {
        Self::start().map_err(write_failed)
    }

    fn start() -> Result<Self, XlsxError> {
        // Widths in Excel character units (a Chinese character is about two).
        const WIDTHS: [f64; 9] = [36.0, 22.0, 16.0, 16.0, 40.0, 10.0, 10.0, 13.0, 13.0];
        let header_format = CellFormat::new().set_bold().set_background_color("#DDEBF7");
        let text_format = CellFormat::new().set_num_format("@");

        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(SHEET_NAME)?;
        for ((col, column), width) in (0u16..).zip(Column::ALL).zip(WIDTHS) {
            sheet.write_string_with_format(0, col, column.header(), &header_format)?;
            sheet.set_column_width(col, width)?;
        }
        // The whole credit-code column is text, so codes typed in later stay text as well.
        sheet.set_column_format(1, &text_format)?;
        sheet.set_freeze_panes(1, 0)?;
        Ok(Self {
            workbook,
            text_format,
            last_row: 0,
        })
    }

    /// Appends rows below those written so far.
    pub fn write_rows(&mut self, rows: &[ExportRow]) -> Result<(), RosterError> {
        self.append(rows).map_err(write_failed)
    }

    fn append(&mut self, rows: &[ExportRow]) -> Result<(), XlsxError> {
        let sheet = self.workbook.worksheet_from_index(0)?;
        for record in rows {
            let row = self.last_row + 1;
            for (col, text) in (0u16..).zip(record.texts()) {
                if text.is_empty() {
                    continue;
                }
                let text = excel_text(text);
                if col == 1 {
                    sheet.write_string_with_format(row, col, text, &self.text_format)?;
                } else {
                    sheet.write_string(row, col, text)?;
                }
            }
            for (col, coordinate) in [(7u16, record.longitude), (8, record.latitude)] {
                if let Some(value) = coordinate.filter(|v| v.is_finite()) {
                    sheet.write_number(row, col, value)?;
                }
            }
            self.last_row = row;
        }
        Ok(())
    }

    /// Sets the autofilter over the rows written and zips the workbook into `out`, part
    /// by part (the sheet is copied from its temporary file), without seeking.
    pub fn finish(mut self, out: impl Write + Send) -> Result<(), RosterError> {
        self.close(out).map_err(write_failed)
    }

    fn close(&mut self, out: impl Write + Send) -> Result<(), XlsxError> {
        self.workbook
            .worksheet_from_index(0)?
            .autofilter(0, 0, self.last_row, 8)?;
        self.workbook.save_to_writer(out)
    }
}

/// Writes a whole XLSX export into memory (see [`XlsxExport`]): for small files, such
/// as roster templates and tests.
pub fn write_xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, RosterError> {
    let mut export = XlsxExport::new()?;
    export.write_rows(rows)?;
    let mut out = Vec::new();
    export.finish(&mut out)?;
    Ok(out)
}

fn write_failed(error: XlsxError) -> RosterError {
    RosterError::Write(error.to_string())
}

/// Cuts text to Excel's cell limit.
fn excel_text(text: &str) -> &str {
    match text.char_indices().nth(EXCEL_MAX_STRING_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Cursor;

    use calamine::{Reader, Xlsx};

    use super::*;
    use crate::enterprises::roster::samples::sample_rows;
    use crate::enterprises::roster::{Format, RawRow, read, read_csv, read_xlsx};

    /// What reading an export back must give.
    fn expected_raw(rows: &[ExportRow], first_row: usize) -> Vec<RawRow> {
        (first_row..)
            .zip(rows)
            .map(|(n, r)| {
                let mut cells = BTreeMap::new();
                for (column, text) in Column::ALL.into_iter().zip(r.texts()) {
                    if !text.is_empty() {
                        cells.insert(column, text.to_owned());
                    }
                }
                if let Some(v) = r.longitude {
                    cells.insert(Column::Longitude, v.to_string());
                }
                if let Some(v) = r.latitude {
                    cells.insert(Column::Latitude, v.to_string());
                }
                RawRow { row: n, cells }
            })
            .collect()
    }

    #[test]
    fn csv_round_trip() {
        let rows = sample_rows();
        let mut bytes = write_csv(&rows[..1], true).unwrap();
        assert!(bytes.starts_with(UTF8_BOM));
        let rest = write_csv(&rows[1..], false).unwrap();
        assert!(!rest.starts_with(UTF8_BOM));
        bytes.extend_from_slice(&rest);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(
            "\u{feff}企业名称,统一社会信用代码,行业,园区,地址,重点企业,状态,经度,纬度\r\n"
        ));
        assert!(text.contains(",是,"));
        assert!(
            text.contains("'=HYPERLINK"),
            "formula cells are neutralised: {text}"
        );
        // Expected rows: the export has no blank lines; the second record spans two lines.
        let expected = expected_raw(&rows, 2);
        assert_eq!(read_csv(&bytes).unwrap(), expected);
    }

    #[test]
    fn csv_bytes_quote_only_what_needs_quoting_and_guard_formulas() {
        let bytes = write_csv(&sample_rows(), true).unwrap();
        let expected = "\u{feff}企业名称,统一社会信用代码,行业,园区,地址,重点企业,状态,经度,纬度\r\n\
            江苏长江化工有限公司,91320100MA1XYZ1234,化工,新材料产业园,南京市江北新区长江路 88 号，2 号楼,是,在营,118.712345,32.2\r\n\
            \"“引号”与 \"\"quotes\"\" 公司\",913201001234567890,,港口物流园,\"多行\n地址\",否,停产,120,\r\n\
            \"'=HYPERLINK(\"\"http://evil\"\")\",92320100L12345678X,'-,,'@home,否,,,-33.5\r\n";
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), expected);
        assert_eq!(
            write_csv(&[], true).unwrap(),
            "\u{feff}企业名称,统一社会信用代码,行业,园区,地址,重点企业,状态,经度,纬度\r\n"
                .as_bytes()
        );
        assert_eq!(write_csv(&[], false).unwrap(), b"");
    }

    #[test]
    fn xlsx_written_in_pages_reads_back_whole_and_in_order() {
        let rows: Vec<ExportRow> = (0..25)
            .flat_map(|_| sample_rows())
            .enumerate()
            .map(|(i, row)| ExportRow {
                name: format!("{i:03}{}", row.name),
                ..row
            })
            .collect();
        let mut export = XlsxExport::new().unwrap();
        for page in rows.chunks(7) {
            export.write_rows(page).unwrap();
        }
        let mut bytes = Vec::new();
        export.finish(&mut bytes).unwrap();
        assert_eq!(read_xlsx(&bytes).unwrap(), expected_raw(&rows, 2));
    }

    #[test]
    fn xlsx_round_trip() {
        let rows = sample_rows();
        let bytes = write_xlsx(&rows).unwrap();
        assert_eq!(Format::sniff(&bytes), Format::Xlsx);
        let read_back = read(&bytes).unwrap();
        assert_eq!(read_back, expected_raw(&rows, 2));

        let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(&bytes)).unwrap();
        assert_eq!(workbook.sheet_names(), vec![SHEET_NAME.to_owned()]);
        let range = workbook.worksheet_range(SHEET_NAME).unwrap();
        assert!(
            matches!(range.get_value((1, 1)), Some(calamine::Data::String(s)) if s == "91320100MA1XYZ1234")
        );
        assert!(
            matches!(range.get_value((2, 1)), Some(calamine::Data::String(s)) if s == "913201001234567890")
        );
        assert!(matches!(
            range.get_value((1, 7)),
            Some(calamine::Data::Float(_))
        ));
    }

    #[test]
    #[ignore = "timing; run with --release --ignored --nocapture"]
    fn bench_read_10k() {
        let rows: Vec<ExportRow> = (0..10_000)
            .map(|i| ExportRow {
                name: format!("江苏第{i}号化工有限公司"),
                credit_code: format!("91320100MA{i:08}"),
                sector: "化工".into(),
                park: format!("第{}园区", i % 7),
                address: format!("南京市江北新区长江路 {i} 号"),
                key_enterprise: i % 3 == 0,
                status: "在营".into(),
                longitude: Some(118.0 + f64::from(i) / 100_000.0),
                latitude: Some(32.0 + f64::from(i) / 100_000.0),
            })
            .collect();
        let started = std::time::Instant::now();
        let xlsx = write_xlsx(&rows).unwrap();
        let write_xlsx_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = std::time::Instant::now();
        let csv = write_csv(&rows, true).unwrap();
        let write_csv_ms = started.elapsed().as_secs_f64() * 1e3;

        let started = std::time::Instant::now();
        let from_xlsx = read_xlsx(&xlsx).unwrap();
        let read_xlsx_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = std::time::Instant::now();
        let from_csv = read_csv(&csv).unwrap();
        let read_csv_ms = started.elapsed().as_secs_f64() * 1e3;
        let (gbk, _, _) = encoding_rs::GB18030.encode(std::str::from_utf8(&csv[3..]).unwrap());
        let started = std::time::Instant::now();
        let from_gbk = read_csv(&gbk).unwrap();
        let read_gbk_ms = started.elapsed().as_secs_f64() * 1e3;

        assert_eq!(from_xlsx.len(), 10_000);
        assert_eq!(from_xlsx, from_csv);
        assert_eq!(from_gbk, from_csv);
        println!(
            "10k rows: xlsx {} bytes, csv {} bytes",
            xlsx.len(),
            csv.len()
        );
        println!("write_xlsx {write_xlsx_ms:.1} ms, write_csv {write_csv_ms:.1} ms");
        println!(
            "read_xlsx {read_xlsx_ms:.1} ms, read_csv {read_csv_ms:.1} ms, read_csv (GB18030) {read_gbk_ms:.1} ms"
        );
    }
}
