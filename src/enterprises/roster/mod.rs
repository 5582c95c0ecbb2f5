//! Roster files: the zone's enterprise spreadsheet read into raw rows ([`read()`]),
//! and the rows of roster exports ([`ExportRow`]), with the columns both share
//! ([`Column`]).
//!
//! What reading and writing share sits here: the file-level errors, what counts as a
//! blank cell, and the guard against cells that a spreadsheet would run as formulas
//! (written by the CSV export, undone by the CSV reader).

mod columns;
mod export;
mod read;
#[cfg(test)]
mod samples;

pub use columns::Column;
pub use export::ExportRow;
pub use read::{
    Format, MAX_COLUMNS, MAX_ROWS, MAX_XLSX_UNPACKED, RawRow, SheetColumns, read, read_as,
    read_csv, read_xlsx,
};

use std::fmt;

use crate::error::ErrorCode;

/// Why a whole file cannot be read (as opposed to a bad row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RosterError {
    /// No content at all (no header row).
    Empty,
    /// Not a CSV we can decode; the detail is Chinese text for people.
    UnreadableCsv(String),
    /// Not an XLSX workbook we can open; the detail is Chinese text for people.
    UnreadableXlsx(String),
    /// The header row lacks the required columns with these headers.
    MissingColumns(Vec<&'static str>),
    /// The column with this header appears more than once in the header row.
    DuplicateColumn(&'static str),
    /// More data rows than the given limit (always [`MAX_ROWS`]); reading stops at the first
    /// row over the limit, so the actual count is not known.
    TooManyRows(usize),
    /// A workbook that would unpack to more bytes than the given limit (a ZIP bomb, or
    /// not a roster).
    TooLarge(u64),
    /// A cell beyond the given number of columns.
    TooManyColumns(usize),
}

impl RosterError {
    /// Chinese message for people, e.g. "缺少必需的列：企业名称、统一社会信用代码"
    pub fn message(&self) -> String {
        match self {
            RosterError::Empty => "文件是空的：没有找到表头行".to_owned(),
            RosterError::UnreadableCsv(detail) => format!("无法读取 CSV 文件：{detail}"),
            RosterError::UnreadableXlsx(detail) => format!("无法读取 Excel 文件：{detail}"),
            RosterError::MissingColumns(headers) => {
                format!("缺少必需的列：{}", headers.join("、"))
            }
            RosterError::DuplicateColumn(header) => {
                format!("表头中“{header}”列出现了不止一次")
            }
            RosterError::TooManyRows(limit) => {
                format!("数据行太多：一个文件最多 {limit} 行，请拆分后分批导入")
            }
            RosterError::TooLarge(limit) => format!(
                "工作簿解压后超过 {} MB，不像是企业名录：请删去无关的工作表，或另存为 CSV 后再上传",
                limit / (1024 * 1024)
            ),
            RosterError::TooManyColumns(limit) => {
                format!("列数太多：一行最多 {limit} 列，请删去无关的列后再上传")
            }
        }
    }

    /// The error's code (a failed export is an internal error).
    pub fn code(&self) -> ErrorCode {
        match self {
            RosterError::Empty => ErrorCode::EmptyFile,
            RosterError::UnreadableCsv(_) => ErrorCode::UnreadableCsv,
            RosterError::UnreadableXlsx(_) => ErrorCode::UnreadableXlsx,
            RosterError::MissingColumns(_) => ErrorCode::MissingColumns,
            RosterError::DuplicateColumn(_) => ErrorCode::DuplicateColumn,
            RosterError::TooManyRows(_) => ErrorCode::TooManyRows,
            RosterError::TooLarge(_) => ErrorCode::WorkbookTooLarge,
            RosterError::TooManyColumns(_) => ErrorCode::TooManyColumns,
        }
    }
}

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for RosterError {}

/// Trims whitespace (including the ideographic space), BOMs and zero-width spaces.
fn trim_cell(text: &str) -> &str {
    text.trim_matches(is_blank_char)
}

fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_and_codes() {
        let missing =
            RosterError::MissingColumns(vec![Column::Name.header(), Column::CreditCode.header()]);
        assert_eq!(
            missing.message(),
            "缺少必需的列：企业名称、统一社会信用代码"
        );
        assert_eq!(missing.code().as_str(), "missing_columns");
        assert_eq!(RosterError::Empty.code().as_str(), "empty_file");
        assert_eq!(
            RosterError::UnreadableCsv(String::new()).code().as_str(),
            "unreadable_csv"
        );
        assert_eq!(
            RosterError::UnreadableXlsx(String::new()).code().as_str(),
            "unreadable_xlsx"
        );
        assert_eq!(
            RosterError::DuplicateColumn(Column::Park.header())
                .code()
                .as_str(),
            "duplicate_column"
        );
        assert!(
            RosterError::DuplicateColumn(Column::Park.header())
                .message()
                .contains("园区")
        );
        assert_eq!(
            RosterError::TooManyRows(MAX_ROWS).code().as_str(),
            "too_many_rows"
        );
        assert!(
            RosterError::TooManyRows(MAX_ROWS)
                .message()
                .contains("50000")
        );
        assert_eq!(RosterError::Empty.to_string(), RosterError::Empty.message());
    }
}
