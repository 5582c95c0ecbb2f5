//! Reading CSV rosters: decoding (UTF-8, GB18030, UTF-16), guessing the delimiter, and
//! the row numbers a spreadsheet would show.

use std::borrow::Cow;

use super::{MAX_COLUMNS, RawRow, SheetColumns, SourceRow, assemble};
use crate::enterprises::roster::{RosterError, is_blank_char, trim_cell};
use crate::exports::sheet::{UTF8_BOM, starts_like_formula};

/// Reads a CSV roster.
///
/// Bytes are decoded as UTF-8 (a BOM is stripped); failing that as GB18030 (what Chinese Excel
/// saves); a UTF-16 BOM (Excel's “Unicode text”) is honoured too. The delimiter is a comma,
/// unless the header line has no comma but has tabs or semicolons. Row numbers are the line
/// numbers a spreadsheet shows (blank lines count; a quoted cell spanning lines is one row).
/// See [`read`](super::read) for the header rules.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<RawRow>, RosterError> {
    read_csv_as(bytes)
}

/// Reads a CSV sheet with the columns `C`, as [`read_csv`] reads a roster.
pub(super) fn read_csv_as<C: SheetColumns>(bytes: &[u8]) -> Result<Vec<RawRow<C>>, RosterError> {
    let text = decode_csv(bytes)?;
    if text.contains('\0') {
        return Err(RosterError::UnreadableCsv(
            "文件含有二进制内容，不是文本格式的 CSV".to_owned(),
        ));
    }
    // Classic Mac line ends: a lone CR ends a line for the csv crate but not for our line count.
    let text = if text.contains('\r') && !text.contains('\n') {
        Cow::Owned(text.replace('\r', "\n"))
    } else {
        text
    };
    let Some(delimiter) = sniff_delimiter(&text) else {
        return Err(RosterError::Empty);
    };
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    assemble(CsvRows {
        text: &text,
        reader,
        record: csv::StringRecord::new(),
        embedded_newlines: 0,
        failed: false,
    })
}

/// Decodes CSV bytes to text: BOM first, then UTF-8, then GB18030.
fn decode_csv(bytes: &[u8]) -> Result<Cow<'_, str>, RosterError> {
    let undecodable =
        |what: &str| RosterError::UnreadableCsv(format!("文件不是有效的 {what} 文本"));
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return std::str::from_utf8(rest)
            .map(Cow::Borrowed)
            .map_err(|_| undecodable("UTF-8"));
    }
    for (bom, encoding, name) in [
        (b"\xFF\xFE", encoding_rs::UTF_16LE, "UTF-16"),
        (b"\xFE\xFF", encoding_rs::UTF_16BE, "UTF-16"),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return encoding
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|text| Cow::Owned(text.into_owned()))
                .ok_or_else(|| undecodable(name));
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| Cow::Owned(text.into_owned()))
        .ok_or_else(|| {
            RosterError::UnreadableCsv("无法识别文件编码（支持 UTF-8 和 GBK/GB18030）".to_owned())
        })
}

/// The delimiter, judged from the first non-blank line; `None` if every line is blank.
fn sniff_delimiter(text: &str) -> Option<u8> {
    let line = text.lines().find(|line| {
        line.chars()
            .any(|c| !(is_blank_char(c) || matches!(c, ',' | ';')))
    })?;
    if line.contains(',') {
        return Some(b',');
    }
    let tabs = line.matches('\t').count();
    let semicolons = line.matches(';').count();
    Some(if tabs == 0 && semicolons == 0 {
        b','
    } else if tabs >= semicolons {
        b'\t'
    } else {
        b';'
    })
}

/// The non-blank records of a CSV with their spreadsheet row numbers.
struct CsvRows<'a> {
    text: &'a str,
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
    /// Line breaks inside quoted cells so far: a spreadsheet shows such a cell in one row.
    embedded_newlines: u64,
    failed: bool,
}

impl Iterator for CsvRows<'_> {
    type Item = Result<SourceRow, RosterError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(RosterError::UnreadableCsv(format!("格式有误（{e}）"))));
                }
                Ok(true) => {
                    // The record's own start position is taken before blank lines are
                    // skipped, so count back from where it ended instead: the reader has
                    // consumed the record and its terminator, up to a CRLF's "\n".
                    let end = self.reader.position();
                    let ends_in_newline = usize::try_from(end.byte())
                        .ok()
                        .and_then(|at| at.checked_sub(1))
                        .and_then(|at| self.text.as_bytes().get(at))
                        == Some(&b'\n');
                    let last_line = end.line().saturating_sub(u64::from(ends_in_newline));
                    let inner_newlines: u64 = self
                        .record
                        .iter()
                        .map(|field| field.bytes().filter(|b| *b == b'\n').count() as u64)
                        .sum();
                    let first_line = last_line.saturating_sub(inner_newlines);
                    let row = usize::try_from(first_line.saturating_sub(self.embedded_newlines))
                        .unwrap_or(usize::MAX);
                    self.embedded_newlines += inner_newlines;
                    let mut cells = Vec::new();
                    for (index, field) in self.record.iter().enumerate() {
                        let text = unescape_formula(trim_cell(field));
                        if text.is_empty() {
                            continue;
                        }
                        if index >= MAX_COLUMNS {
                            self.failed = true;
                            return Some(Err(RosterError::TooManyColumns(MAX_COLUMNS)));
                        }
                        cells.push((index, text.to_owned()));
                    }
                    if !cells.is_empty() {
                        return Some(Ok(SourceRow { row, cells }));
                    }
                }
            }
        }
        None
    }
}

/// Undoes [`write_csv`](crate::exports::sheet::write_csv)'s guard: `'=1+1` reads back as `=1+1`.
fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if starts_like_formula(rest) => rest,
        _ => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::enterprises::roster::Column;
    use crate::enterprises::roster::read::read;
    use crate::enterprises::roster::samples::row;

    #[test]
    fn csv_utf8_with_bom_and_chinese_headers() {
        let text = "\u{feff}企业名称,统一社会信用代码,园区,重点企业,备注\n\
                    江苏长江化工有限公司, 91320100MA1XYZ1234 ,新材料产业园,是,随便\n\
                    南京港务有限公司,913201001234567890,,否,\n";
        let rows = read_csv(text.as_bytes()).unwrap();
        assert_eq!(
            rows,
            vec![
                row(
                    2,
                    &[
                        (Column::Name, "江苏长江化工有限公司"),
                        (Column::CreditCode, "91320100MA1XYZ1234"),
                        (Column::Park, "新材料产业园"),
                        (Column::KeyEnterprise, "是"),
                    ]
                ),
                row(
                    3,
                    &[
                        (Column::Name, "南京港务有限公司"),
                        (Column::CreditCode, "913201001234567890"),
                        (Column::KeyEnterprise, "否"),
                    ]
                ),
            ]
        );
        assert_eq!(read(text.as_bytes()).unwrap(), rows);
    }

    #[test]
    fn csv_in_gb18030() {
        let text = "企业名称,统一社会信用代码,地址\r\n江苏长江化工有限公司,91320100MA1XYZ1234,南京市江北新区\r\n";
        let (bytes, _, had_errors) = encoding_rs::GB18030.encode(text);
        assert!(!had_errors);
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "the sample must not be valid UTF-8"
        );
        let rows = read_csv(&bytes).unwrap();
        assert_eq!(
            rows,
            vec![row(
                2,
                &[
                    (Column::Name, "江苏长江化工有限公司"),
                    (Column::CreditCode, "91320100MA1XYZ1234"),
                    (Column::Address, "南京市江北新区"),
                ]
            )]
        );
    }

    #[test]
    fn csv_in_utf16_with_bom() {
        let text = "企业名称\t统一社会信用代码\n甲公司\t91320100MA1XYZ1234\n";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let rows = read_csv(&bytes).unwrap();
        assert_eq!(
            rows,
            vec![row(
                2,
                &[
                    (Column::Name, "甲公司"),
                    (Column::CreditCode, "91320100MA1XYZ1234")
                ]
            )]
        );
    }

    #[test]
    fn english_headers_synonyms_and_delimiters() {
        let comma =
            "Name,USCC,Industry,Zone?,LNG,lat\nAcme,91320100MA1XYZ1234,Chemicals,x,118.5,32.1\n";
        let rows = read_csv(comma.as_bytes()).unwrap();
        assert_eq!(
            rows,
            vec![row(
                2,
                &[
                    (Column::Name, "Acme"),
                    (Column::CreditCode, "91320100MA1XYZ1234"),
                    (Column::Sector, "Chemicals"),
                    (Column::Longitude, "118.5"),
                    (Column::Latitude, "32.1"),
                ]
            )]
        );
        let semicolon =
            "单位名称;信用代码;所属园区;经营状态\n甲公司;91320100MA1XYZ1234;东区;在营\n";
        let rows = read_csv(semicolon.as_bytes()).unwrap();
        assert_eq!(
            rows[0].cells.get(&Column::Park).map(String::as_str),
            Some("东区")
        );
        assert_eq!(
            rows[0].cells.get(&Column::Status).map(String::as_str),
            Some("在营")
        );
        let tab = "企业名\t社会信用代码\t详细地址\n甲公司\t91320100MA1XYZ1234\t1号, 2号\n";
        let rows = read_csv(tab.as_bytes()).unwrap();
        assert_eq!(
            rows[0].cells.get(&Column::Address).map(String::as_str),
            Some("1号, 2号")
        );
    }

    #[test]
    fn blank_lines_are_skipped_and_row_numbers_are_real() {
        let text = "\n企业名称,统一社会信用代码\n甲,A1\n\n , \n,,,\n乙,\"B\n2\"\n丙,C3\n\n";
        let rows = read_csv(text.as_bytes()).unwrap();
        assert_eq!(
            rows,
            vec![
                row(3, &[(Column::Name, "甲"), (Column::CreditCode, "A1")]),
                row(7, &[(Column::Name, "乙"), (Column::CreditCode, "B\n2")]),
                // The quoted cell above spans two lines but is one spreadsheet row.
                row(8, &[(Column::Name, "丙"), (Column::CreditCode, "C3")]),
            ]
        );
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(
            read_csv(crlf.as_bytes())
                .unwrap()
                .iter()
                .map(|r| r.row)
                .collect::<Vec<_>>(),
            [3, 7, 8]
        );
        let cr = "企业名称,统一社会信用代码\r\r甲,A1\r乙,B2";
        assert_eq!(
            read_csv(cr.as_bytes())
                .unwrap()
                .iter()
                .map(|r| r.row)
                .collect::<Vec<_>>(),
            [3, 4]
        );
        let no_final_newline = "企业名称,统一社会信用代码\n\n\n甲,A1";
        assert_eq!(read_csv(no_final_newline.as_bytes()).unwrap()[0].row, 4);
    }
}
