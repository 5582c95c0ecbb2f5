//! The roster's exports: an enterprise as a row ([`ExportRow`]) with the columns and
//! headers of [`Column::ALL`], the ones the import reads, written by the exports'
//! sheet writers ([`crate::exports::sheet`]).

use std::sync::LazyLock;

use super::Column;
use crate::exports::sheet::{Cell, Record, SheetColumn};

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
    /// 联系人.
    pub contact_person: String,
    /// 联系电话, masked (`138****5678`): exports never carry the full number.
    pub contact_phone: String,
    /// 重点企业 (written as 是/否).
    pub key_enterprise: bool,
    /// 状态, as people read it.
    pub status: String,
    /// 经度.
    pub longitude: Option<f64>,
    /// 纬度.
    pub latitude: Option<f64>,
}

/// The columns of [`Column::ALL`] with their widths; credit codes are text.
static COLUMNS: LazyLock<Vec<SheetColumn>> = LazyLock::new(|| {
    const WIDTHS: [f64; 11] = [
        36.0, 22.0, 16.0, 16.0, 40.0, 12.0, 14.0, 10.0, 10.0, 13.0, 13.0,
    ];
    Column::ALL
        .into_iter()
        .zip(WIDTHS)
        .map(|(column, width)| SheetColumn {
            header: column.header(),
            width,
            text: column == Column::CreditCode,
        })
        .collect()
});

impl ExportRow {
    /// The row's text cells in [`Column::ALL`] order; coordinates are `None` when absent.
    fn texts(&self) -> [&str; 9] {
        [
            &self.name,
            &self.credit_code,
            &self.sector,
            &self.park,
            &self.address,
            &self.contact_person,
            &self.contact_phone,
            if self.key_enterprise { "是" } else { "否" },
            &self.status,
        ]
    }
}

impl Record for ExportRow {
    const SHEET: &'static str = "企业名录";

    fn columns() -> &'static [SheetColumn] {
        &COLUMNS
    }

    fn cells(&self) -> Vec<Cell<'_>> {
        let mut cells: Vec<Cell<'_>> = self.texts().into_iter().map(Cell::Text).collect();
        cells.push(Cell::Number(self.longitude));
        cells.push(Cell::Number(self.latitude));
        cells
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
    use crate::exports::sheet::{UTF8_BOM, XlsxExport, write_csv, write_xlsx};

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
            "\u{feff}企业名称,统一社会信用代码,行业,园区,地址,联系人,联系电话,重点企业,状态,经度,纬度\r\n"
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
        let expected = "\u{feff}企业名称,统一社会信用代码,行业,园区,地址,联系人,联系电话,重点企业,状态,经度,纬度\r\n\
            江苏长江化工有限公司,91320100MA1XYZ1234,化工,新材料产业园,南京市江北新区长江路 88 号，2 号楼,王经理,138****5678,是,在营,118.712345,32.2\r\n\
            \"“引号”与 \"\"quotes\"\" 公司\",913201001234567890,,港口物流园,\"多行\n地址\",,,否,停产,120,\r\n\
            \"'=HYPERLINK(\"\"http://evil\"\")\",92320100L12345678X,'-,,'@home,'+张,,否,,,-33.5\r\n";
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), expected);
        assert_eq!(
            write_csv::<ExportRow>(&[], true).unwrap(),
            "\u{feff}企业名称,统一社会信用代码,行业,园区,地址,联系人,联系电话,重点企业,状态,经度,纬度\r\n"
                .as_bytes()
        );
        assert_eq!(write_csv::<ExportRow>(&[], false).unwrap(), b"");
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
        assert_eq!(workbook.sheet_names(), vec![ExportRow::SHEET.to_owned()]);
        let range = workbook.worksheet_range(ExportRow::SHEET).unwrap();
        assert!(
            matches!(range.get_value((1, 1)), Some(calamine::Data::String(s)) if s == "91320100MA1XYZ1234")
        );
        assert!(
            matches!(range.get_value((2, 1)), Some(calamine::Data::String(s)) if s == "913201001234567890")
        );
        assert!(matches!(
            range.get_value((1, 9)),
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
                contact_person: "王经理".into(),
                contact_phone: "138****5678".into(),
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
