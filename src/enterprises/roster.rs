//! Roster files: reads the zone's enterprise spreadsheet (CSV or XLSX) into raw rows and writes roster exports.
//!
//! Everything here is pure: bytes in, rows out (or rows in, bytes out). Validating a row's
//! values (is this a well-formed credit code, does this park exist) is the importer's job;
//! this module only finds the columns, reads the cells as text and reports files that cannot
//! be read at all.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;

use calamine::{DataRef, Reader, SheetType, Xlsx};
use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

use crate::error::ErrorCode;

/// A roster column. Headers are matched case-insensitively after trimming, in Chinese or English.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// 企业名称: the registered name.
    Name,
    /// 统一社会信用代码: the unified social credit code.
    CreditCode,
    /// 行业: the sector.
    Sector,
    /// 园区: the park.
    Park,
    /// 地址: the address.
    Address,
    /// 重点企业: whether it is a key enterprise.
    KeyEnterprise,
    /// 状态: operating status.
    Status,
    /// 经度: longitude.
    Longitude,
    /// 纬度: latitude.
    Latitude,
}

impl Column {
    /// Every column, in export order.
    pub const ALL: [Column; 9] = [
        Column::Name,
        Column::CreditCode,
        Column::Sector,
        Column::Park,
        Column::Address,
        Column::KeyEnterprise,
        Column::Status,
        Column::Longitude,
        Column::Latitude,
    ];

    /// The Chinese header used in exports and templates: 企业名称, 统一社会信用代码, 行业, 园区, 地址, 重点企业, 状态, 经度, 纬度
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "企业名称",
            Column::CreditCode => "统一社会信用代码",
            Column::Sector => "行业",
            Column::Park => "园区",
            Column::Address => "地址",
            Column::KeyEnterprise => "重点企业",
            Column::Status => "状态",
            Column::Longitude => "经度",
            Column::Latitude => "纬度",
        }
    }

    /// Stable English key for API error reports: name, credit_code, sector, park, address, key_enterprise, status, longitude, latitude
    pub fn key(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::CreditCode => "credit_code",
            Column::Sector => "sector",
            Column::Park => "park",
            Column::Address => "address",
            Column::KeyEnterprise => "key_enterprise",
            Column::Status => "status",
            Column::Longitude => "longitude",
            Column::Latitude => "latitude",
        }
    }

    /// Recognises a header cell: the Chinese header, the English key, and common synonyms (e.g. 企业名称/名称/单位名称/企业名; 统一社会信用代码/信用代码/社会信用代码; 行业/所属行业/行业类别; 园区/所属园区/属地园区/属地; 地址/企业地址/详细地址; 重点企业/是否重点企业; 状态/经营状态/企业状态; 经度/lng/lon/longitude; 纬度/lat/latitude).
    ///
    /// Also tolerated: surrounding whitespace, required-field stars (`*企业名称`, `企业名称＊`),
    /// a trailing note in brackets (`经度（WGS84）`, `企业名称(必填)`), and English words
    /// separated by spaces or hyphens instead of underscores (`Credit Code`).
    pub fn from_header(text: &str) -> Option<Column> {
        let cleaned = normalise_header(text);
        if let Some(column) = lookup_header(&cleaned) {
            return Some(column);
        }
        strip_bracketed_note(&cleaned).and_then(lookup_header)
    }
}

/// Lower-cases, trims whitespace and stars, and turns spaces and hyphens into underscores.
fn normalise_header(text: &str) -> String {
    let trimmed = trim_cell(text).trim_matches(|c: char| c == '*' || c == '＊' || is_blank_char(c));
    trimmed
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c == ' ' || c == '-' || c == '\u{3000}' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `经度（wgs84）` -> `经度`; `None` when there is no trailing bracketed note.
fn strip_bracketed_note(text: &str) -> Option<&str> {
    if !(text.ends_with(')') || text.ends_with('）')) {
        return None;
    }
    let open = text.rfind(['(', '（'])?;
    let head = text
        .get(..open)?
        .trim_end_matches(|c: char| c == '_' || is_blank_char(c));
    (!head.is_empty()).then_some(head)
}

fn lookup_header(text: &str) -> Option<Column> {
    let column = match text {
        "企业名称" | "名称" | "单位名称" | "企业名" | "企业全称" | "公司名称" | "name"
        | "enterprise_name" | "enterprise" | "company" | "company_name" => Column::Name,
        "统一社会信用代码"
        | "信用代码"
        | "社会信用代码"
        | "统一信用代码"
        | "credit_code"
        | "creditcode"
        | "uscc"
        | "unified_social_credit_code" => Column::CreditCode,
        "行业" | "所属行业" | "行业类别" | "行业分类" | "sector" | "industry" => {
            Column::Sector
        }
        "园区" | "所属园区" | "属地园区" | "属地" | "所在园区" | "park" => {
            Column::Park
        }
        "地址" | "企业地址" | "详细地址" | "address" => Column::Address,
        "重点企业" | "是否重点企业" | "是否重点" | "key_enterprise" | "is_key_enterprise" => {
            Column::KeyEnterprise
        }
        "状态" | "经营状态" | "企业状态" | "status" => Column::Status,
        "经度" | "lng" | "lon" | "longitude" => Column::Longitude,
        "纬度" | "lat" | "latitude" => Column::Latitude,
        _ => return None,
    };
    Some(column)
}

/// One data row as read: its row number in the file (1-based, counting the header row, i.e. what a person sees in Excel) and its non-empty trimmed cells by column.
///
/// A row whose only content is in columns this module does not know has empty `cells`: it is
/// still returned so that the importer can report it (rows with no content at all are skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRow {
    /// 1-based row number as Excel shows it (the header row counts, blank rows count).
    pub row: usize,
    /// The row's non-empty, trimmed cells in known columns.
    pub cells: BTreeMap<Column, String>,
}

/// Why a whole file cannot be read (as opposed to a bad row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RosterError {
    /// No content at all (no header row).
    Empty,
    /// Not a CSV we can decode; the detail is Chinese text for people.
    UnreadableCsv(String),
    /// Not an XLSX workbook we can open; the detail is Chinese text for people.
    UnreadableXlsx(String),
    /// The header row lacks these required columns.
    MissingColumns(Vec<Column>),
    /// This column's header appears more than once in the header row.
    DuplicateColumn(Column),
    /// More data rows than the given limit (always [`MAX_ROWS`]); reading stops at the first
    /// row over the limit, so the actual count is not known.
    TooManyRows(usize),
    /// A workbook that would unpack to more bytes than the given limit (a ZIP bomb, or
    /// not a roster).
    TooLarge(u64),
    /// A cell beyond the given number of columns.
    TooManyColumns(usize),
    /// An export could not be generated (the writer's own message).
    Write(String),
}

impl RosterError {
    /// Chinese message for people, e.g. "缺少必需的列：企业名称、统一社会信用代码"
    pub fn message(&self) -> String {
        match self {
            RosterError::Empty => "文件是空的：没有找到表头行".to_owned(),
            RosterError::UnreadableCsv(detail) => format!("无法读取 CSV 文件：{detail}"),
            RosterError::UnreadableXlsx(detail) => format!("无法读取 Excel 文件：{detail}"),
            RosterError::MissingColumns(columns) => {
                let names: Vec<&str> = columns.iter().map(|c| c.header()).collect();
                format!("缺少必需的列：{}", names.join("、"))
            }
            RosterError::DuplicateColumn(column) => {
                format!("表头中“{}”列出现了不止一次", column.header())
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
            RosterError::Write(detail) => format!("导出文件生成失败：{detail}"),
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
            RosterError::Write(_) => ErrorCode::InternalError,
        }
    }
}

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for RosterError {}

/// Largest number of data rows accepted in one file.
pub const MAX_ROWS: usize = 50_000;

/// Most columns a row may use (a roster has about a dozen).
pub const MAX_COLUMNS: usize = 256;

/// Most bytes the parts of an XLSX may unpack to, together: the sheet of a roster of
/// [`MAX_ROWS`] rows is a few tens of megabytes.
pub const MAX_XLSX_UNPACKED: u64 = 128 * 1024 * 1024;

/// The header is looked for among this many first non-blank rows (see [`read`]).
const HEADER_SEARCH_ROWS: usize = 10;

/// The sheet name of XLSX exports.
const SHEET_NAME: &str = "企业名录";

/// Excel's limit on the length of a cell's text, in characters.
const EXCEL_MAX_STRING_CHARS: usize = 32_767;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

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
    match Format::sniff(bytes) {
        Format::Xlsx => read_xlsx(bytes),
        // The compound-file magic: a legacy .xls workbook or an encrypted .xlsx.
        Format::Csv if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") => {
            Err(RosterError::UnreadableXlsx(
                "这是旧版 Excel（.xls）或加密的工作簿，请在 Excel 中另存为 .xlsx 或 CSV 后再上传"
                    .to_owned(),
            ))
        }
        Format::Csv => read_csv(bytes),
    }
}

/// Reads a CSV roster.
///
/// Bytes are decoded as UTF-8 (a BOM is stripped); failing that as GB18030 (what Chinese Excel
/// saves); a UTF-16 BOM (Excel's “Unicode text”) is honoured too. The delimiter is a comma,
/// unless the header line has no comma but has tabs or semicolons. Row numbers are the line
/// numbers a spreadsheet shows (blank lines count; a quoted cell spanning lines is one row).
/// See [`read`] for the header rules.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<RawRow>, RosterError> {
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

/// Reads an XLSX roster: the first worksheet, by the rules of [`read`].
///
/// Cells become text: strings as they are; integral numbers without a decimal part; other
/// numbers in their shortest exact form (never in exponent notation); booleans as 是/否; dates as
/// `YYYY-MM-DD`; error cells as their code (`#N/A`) so that the importer reports them. Row
/// numbers are the sheet's own.
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<RawRow>, RosterError> {
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

fn read_xlsx_unguarded(bytes: &[u8]) -> Result<Vec<RawRow>, RosterError> {
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

/// Trims whitespace (including the ideographic space), BOMs and zero-width spaces.
fn trim_cell(text: &str) -> &str {
    text.trim_matches(is_blank_char)
}

fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}'
}

/// A non-blank row of the file: its 1-based row number and its non-empty trimmed cells by
/// 0-based column index, in column order.
struct SourceRow {
    row: usize,
    cells: Vec<(usize, String)>,
}

/// Finds the header among the first rows, maps the columns and turns the data rows into
/// [`RawRow`]s.
fn assemble<I>(mut rows: I) -> Result<Vec<RawRow>, RosterError>
where
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
                .any(|(_, text)| Column::from_header(text).is_some())
        })
        .unwrap_or(0);
    let columns = map_header(&head[header_at])?;

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
fn map_header(header: &SourceRow) -> Result<Vec<Option<Column>>, RosterError> {
    let width = header.cells.last().map_or(0, |(index, _)| index + 1);
    let mut columns = vec![None; width];
    let mut seen = Vec::new();
    for (index, text) in &header.cells {
        if let Some(column) = Column::from_header(text) {
            if seen.contains(&column) {
                return Err(RosterError::DuplicateColumn(column));
            }
            seen.push(column);
            if let Some(slot) = columns.get_mut(*index) {
                *slot = Some(column);
            }
        }
    }
    let missing: Vec<Column> = [Column::Name, Column::CreditCode]
        .into_iter()
        .filter(|c| !seen.contains(c))
        .collect();
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(RosterError::MissingColumns(missing))
    }
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

/// Characters that make a spreadsheet treat a CSV cell as a formula.
fn starts_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Undoes [`write_csv`]'s guard: `'=1+1` reads back as `=1+1`.
fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if starts_like_formula(rest) => rest,
        _ => text,
    }
}

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

/// Writes CSV: UTF-8 with a BOM (so Excel in China opens it correctly), Chinese headers in Column::ALL order, key_enterprise as 是/否; with_header controls whether the header line is written (exports are streamed in chunks: the first chunk has the header, later ones not).
///
/// The BOM is written only with the header. Lines end in CRLF. A text cell that a spreadsheet
/// would run as a formula (starting with `=`, `+`, `-` or `@`) is prefixed with `'`, which
/// [`read_csv`] removes again.
pub fn write_csv(rows: &[ExportRow], with_header: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 160 + 64);
    if with_header {
        out.extend_from_slice(UTF8_BOM);
        for (i, column) in Column::ALL.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_csv_field(&mut out, column.header());
        }
        out.extend_from_slice(b"\r\n");
    }
    for row in rows {
        for (i, text) in row.texts().into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if starts_like_formula(text) {
                push_csv_field(&mut out, &format!("'{text}"));
            } else {
                push_csv_field(&mut out, text);
            }
        }
        for coordinate in [row.longitude, row.latitude] {
            out.push(b',');
            if let Some(value) = coordinate.filter(|v| v.is_finite()) {
                out.extend_from_slice(value.to_string().as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Appends one CSV field, quoted when it has to be.
fn push_csv_field(out: &mut Vec<u8>, text: &str) {
    let needs_quotes = text.contains([',', '"', '\r', '\n']) || text != text.trim();
    if !needs_quotes {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
    out.push(b'"');
}

/// Writes an XLSX workbook with one sheet 企业名录, bold header row, sensible column widths, credit codes as text (never numbers).
///
/// The header row is frozen and has an autofilter; coordinates are numbers. Text longer than
/// Excel's 32,767-character cell limit is cut to fit. Writer failures are
/// [`RosterError::Write`].
pub fn write_xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, RosterError> {
    build_xlsx(rows).map_err(|e| RosterError::Write(e.to_string()))
}

fn build_xlsx(rows: &[ExportRow]) -> Result<Vec<u8>, XlsxError> {
    // Widths in Excel character units (a Chinese character is about two).
    const WIDTHS: [f64; 9] = [36.0, 22.0, 16.0, 16.0, 40.0, 10.0, 10.0, 13.0, 13.0];
    let header_format = CellFormat::new().set_bold().set_background_color("#DDEBF7");
    let text_format = CellFormat::new().set_num_format("@");

    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(SHEET_NAME)?;
    for ((col, column), width) in (0u16..).zip(Column::ALL).zip(WIDTHS) {
        sheet.write_string_with_format(0, col, column.header(), &header_format)?;
        sheet.set_column_width(col, width)?;
    }
    // The whole credit-code column is text, so codes typed in later stay text as well.
    sheet.set_column_format(1, &text_format)?;
    sheet.set_freeze_panes(1, 0)?;

    let mut last_row = 0;
    for (row, record) in (1u32..).zip(rows) {
        for (col, text) in (0u16..).zip(record.texts()) {
            if text.is_empty() {
                continue;
            }
            let text = excel_text(text);
            if col == 1 {
                sheet.write_string_with_format(row, col, text, &text_format)?;
            } else {
                sheet.write_string(row, col, text)?;
            }
        }
        for (col, coordinate) in [(7u16, record.longitude), (8, record.latitude)] {
            if let Some(value) = coordinate.filter(|v| v.is_finite()) {
                sheet.write_number(row, col, value)?;
            }
        }
        last_row = row;
    }
    sheet.autofilter(0, 0, last_row, 8)?;
    workbook.save_to_buffer()
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
    use super::*;

    fn row(row: usize, cells: &[(Column, &str)]) -> RawRow {
        RawRow {
            row,
            cells: cells.iter().map(|(c, t)| (*c, (*t).to_owned())).collect(),
        }
    }

    fn sample_rows() -> Vec<ExportRow> {
        vec![
            ExportRow {
                name: "江苏长江化工有限公司".into(),
                credit_code: "91320100MA1XYZ1234".into(),
                sector: "化工".into(),
                park: "新材料产业园".into(),
                address: "南京市江北新区长江路 88 号，2 号楼".into(),
                key_enterprise: true,
                status: "在营".into(),
                longitude: Some(118.712345),
                latitude: Some(32.2),
            },
            ExportRow {
                name: "“引号”与 \"quotes\" 公司".into(),
                credit_code: "913201001234567890".into(),
                sector: String::new(),
                park: "港口物流园".into(),
                address: "多行\n地址".into(),
                key_enterprise: false,
                status: "停产".into(),
                longitude: Some(120.0),
                latitude: None,
            },
            ExportRow {
                name: "=HYPERLINK(\"http://evil\")".into(),
                credit_code: "92320100L12345678X".into(),
                sector: "-".into(),
                park: String::new(),
                address: "@home".into(),
                key_enterprise: false,
                status: String::new(),
                longitude: None,
                latitude: Some(-33.5),
            },
        ]
    }

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
    fn column_metadata() {
        for column in Column::ALL {
            assert_eq!(Column::from_header(column.header()), Some(column));
            assert_eq!(Column::from_header(column.key()), Some(column));
            assert_eq!(
                Column::from_header(&column.key().to_uppercase()),
                Some(column)
            );
        }
        assert_eq!(Column::from_header("  单位名称 "), Some(Column::Name));
        assert_eq!(Column::from_header("*企业名称"), Some(Column::Name));
        assert_eq!(Column::from_header("企业名称(必填)"), Some(Column::Name));
        assert_eq!(
            Column::from_header("经度（WGS84）"),
            Some(Column::Longitude)
        );
        assert_eq!(Column::from_header("Credit Code"), Some(Column::CreditCode));
        assert_eq!(
            Column::from_header("Key-Enterprise"),
            Some(Column::KeyEnterprise)
        );
        assert_eq!(Column::from_header("LNG"), Some(Column::Longitude));
        assert_eq!(Column::from_header("属地"), Some(Column::Park));
        assert_eq!(Column::from_header("备注"), None);
        assert_eq!(Column::from_header(""), None);
        assert_eq!(Column::from_header("()"), None);
    }

    #[test]
    fn error_messages_and_codes() {
        let missing = RosterError::MissingColumns(vec![Column::Name, Column::CreditCode]);
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
            RosterError::DuplicateColumn(Column::Park).code().as_str(),
            "duplicate_column"
        );
        assert!(
            RosterError::DuplicateColumn(Column::Park)
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
        assert_eq!(
            RosterError::Write(String::new()).code(),
            ErrorCode::InternalError
        );
        assert_eq!(RosterError::Empty.to_string(), RosterError::Empty.message());
    }

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
    fn missing_columns() {
        assert_eq!(
            read_csv("行业,园区\n化工,东区\n".as_bytes()),
            Err(RosterError::MissingColumns(vec![
                Column::Name,
                Column::CreditCode
            ]))
        );
        assert_eq!(
            read_csv("企业名称,园区\n甲,东区\n".as_bytes()),
            Err(RosterError::MissingColumns(vec![Column::CreditCode]))
        );
    }

    #[test]
    fn duplicate_column() {
        assert_eq!(
            read_csv("企业名称,统一社会信用代码,单位名称\n甲,1,乙\n".as_bytes()),
            Err(RosterError::DuplicateColumn(Column::Name))
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
        assert_eq!(read_xlsx(&write_xlsx(&[]).unwrap()), Ok(vec![]));
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
    fn csv_round_trip() {
        let rows = sample_rows();
        let mut bytes = write_csv(&rows[..1], true);
        assert!(bytes.starts_with(UTF8_BOM));
        let rest = write_csv(&rows[1..], false);
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
        let csv = write_csv(&rows, true);
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
