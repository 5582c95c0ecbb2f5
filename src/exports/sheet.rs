//! Writing exports a page of rows at a time: CSV through the `csv` crate and XLSX
//! through a constant-memory worksheet of `rust_xlsxwriter`, so that an export of any
//! size holds one page of rows in memory. What is written is a [`Record`]: its sheet's
//! name, its columns and each row's cells.

use std::borrow::Cow;
use std::io::Write;
use std::marker::PhantomData;

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

/// The UTF-8 byte order mark: a CSV export starts with it so that Excel reads UTF-8;
/// the roster reader skips it.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Excel's limit on the length of a cell's text, in characters.
const EXCEL_MAX_STRING_CHARS: usize = 32_767;

/// Why an export could not be written (the writer's own message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteError(pub String);

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "导出文件生成失败：{}", self.0)
    }
}

impl std::error::Error for WriteError {}

/// One column of an export.
#[derive(Clone, Copy, Debug)]
pub struct SheetColumn {
    /// The header, as the import (if any) reads it.
    pub header: &'static str,
    /// The width in Excel character units (a Chinese character is about two).
    pub width: f64,
    /// Cells kept as text even where they look like numbers (credit codes, ids).
    pub text: bool,
}

/// A cell of a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Text (empty: a blank cell).
    Text(&'a str),
    /// A number (`None` or not finite: a blank cell).
    Number(Option<f64>),
}

/// A row that exports write.
pub trait Record {
    /// The XLSX sheet's name.
    const SHEET: &'static str;
    /// The columns, in order.
    fn columns() -> &'static [SheetColumn];
    /// The row's cells, one per column.
    fn cells(&self) -> Vec<Cell<'_>>;
}

/// Characters that make a spreadsheet treat a CSV cell as a formula.
pub fn starts_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Writes one page of a CSV export: UTF-8 with a BOM (so Excel in China opens it
/// correctly) and the headers when `with_header` (an export streamed in pages has them
/// on its first page only).
///
/// Lines end in CRLF; a field is quoted when it holds a comma, a quote or a line break.
/// A text cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`
/// or `@`) is prefixed with `'`, which the roster's CSV reader removes again.
pub fn write_csv<R: Record>(rows: &[R], with_header: bool) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::with_capacity(rows.len() * 160 + 64);
    if with_header {
        out.extend_from_slice(UTF8_BOM);
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let failed = |e: &dyn std::fmt::Display| WriteError(e.to_string());
    if with_header {
        writer
            .write_record(R::columns().iter().map(|column| column.header))
            .map_err(|e| failed(&e))?;
    }
    for row in rows {
        for cell in row.cells() {
            let text = match cell {
                Cell::Text(text) if starts_like_formula(text) => Cow::Owned(format!("'{text}")),
                Cell::Text(text) => Cow::Borrowed(text),
                Cell::Number(value) => Cow::Owned(
                    value
                        .filter(|v| v.is_finite())
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                ),
            };
            writer
                .write_field(text.as_bytes())
                .map_err(|e| failed(&e))?;
        }
        writer.write_record(None::<&[u8]>).map_err(|e| failed(&e))?;
    }
    writer.into_inner().map_err(|e| failed(e.error()))
}

/// An XLSX export being written: one sheet named by the record, a bold frozen header
/// row with an autofilter, the columns' widths, text columns formatted as text (so a
/// credit code never becomes a number).
///
/// Text longer than Excel's 32,767-character cell limit is cut to fit. Rows go to a
/// constant-memory worksheet, which keeps only the current row in memory and spills
/// the rest to a temporary file (in `TMPDIR`, removed when the export is dropped); the
/// workbook is zipped into a writer by [`XlsxExport::finish`].
pub struct XlsxExport<R> {
    workbook: Workbook,
    text_format: CellFormat,
    /// The last row written (0: only the header).
    last_row: u32,
    record: PhantomData<fn(&R)>,
}

impl<R: Record> XlsxExport<R> {
    /// Starts a workbook with its header row.
    pub fn new() -> Result<Self, WriteError> {
        Self::start().map_err(write_failed)
    }

    fn start() -> Result<Self, XlsxError> {
        let header_format = CellFormat::new().set_bold().set_background_color("#DDEBF7");
        let text_format = CellFormat::new().set_num_format("@");

        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(R::SHEET)?;
        for (col, column) in (0u16..).zip(R::columns()) {
            sheet.write_string_with_format(0, col, column.header, &header_format)?;
            sheet.set_column_width(col, column.width)?;
            if column.text {
                // The whole column is text, so values typed in later stay text as well.
                sheet.set_column_format(col, &text_format)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(Self {
            workbook,
            text_format,
            last_row: 0,
            record: PhantomData,
        })
    }

    /// Appends rows below those written so far.
    pub fn write_rows(&mut self, rows: &[R]) -> Result<(), WriteError> {
        self.append(rows).map_err(write_failed)
    }

    fn append(&mut self, rows: &[R]) -> Result<(), XlsxError> {
        let columns = R::columns();
        let sheet = self.workbook.worksheet_from_index(0)?;
        for record in rows {
            let row = self.last_row + 1;
            for ((col, column), cell) in (0u16..).zip(columns).zip(record.cells()) {
                match cell {
                    Cell::Text("") | Cell::Number(None) => {}
                    Cell::Text(text) if column.text => {
                        sheet.write_string_with_format(
                            row,
                            col,
                            excel_text(text),
                            &self.text_format,
                        )?;
                    }
                    Cell::Text(text) => {
                        sheet.write_string(row, col, excel_text(text))?;
                    }
                    Cell::Number(Some(value)) if value.is_finite() => {
                        sheet.write_number(row, col, value)?;
                    }
                    Cell::Number(Some(_)) => {}
                }
            }
            self.last_row = row;
        }
        Ok(())
    }

    /// Sets the autofilter over the rows written and zips the workbook into `out`, part
    /// by part (the sheet is copied from its temporary file), without seeking.
    pub fn finish(mut self, out: impl Write + Send) -> Result<(), WriteError> {
        self.close(out).map_err(write_failed)
    }

    fn close(&mut self, out: impl Write + Send) -> Result<(), XlsxError> {
        let last_col = u16::try_from(R::columns().len().saturating_sub(1)).unwrap_or(0);
        self.workbook
            .worksheet_from_index(0)?
            .autofilter(0, 0, self.last_row, last_col)?;
        self.workbook.save_to_writer(out)
    }
}

/// Writes a whole XLSX export into memory (see [`XlsxExport`]): for small files, such
/// as roster templates and tests.
pub fn write_xlsx<R: Record>(rows: &[R]) -> Result<Vec<u8>, WriteError> {
    let mut export = XlsxExport::new()?;
    export.write_rows(rows)?;
    let mut out = Vec::new();
    export.finish(&mut out)?;
    Ok(out)
}

fn write_failed(error: XlsxError) -> WriteError {
    WriteError(error.to_string())
}

/// Cuts text to Excel's cell limit.
fn excel_text(text: &str) -> &str {
    match text.char_indices().nth(EXCEL_MAX_STRING_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}
