//! Fixtures shared by the roster's unit tests.

use super::{Column, ExportRow, RawRow};

/// A row as the readers give it.
pub(super) fn row(row: usize, cells: &[(Column, &str)]) -> RawRow {
    RawRow {
        row,
        cells: cells.iter().map(|(c, t)| (*c, (*t).to_owned())).collect(),
    }
}

/// Rows that exercise the exports: commas, quotes, line breaks, formulas, missing
/// coordinates.
pub(super) fn sample_rows() -> Vec<ExportRow> {
    vec![
        ExportRow {
            name: "江苏长江化工有限公司".into(),
            credit_code: "91320100MA1XYZ1234".into(),
            sector: "化工".into(),
            park: "新材料产业园".into(),
            address: "南京市江北新区长江路 88 号，2 号楼".into(),
            contact_person: "王经理".into(),
            contact_phone: "138****5678".into(),
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
            contact_person: String::new(),
            contact_phone: String::new(),
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
            contact_person: "+张".into(),
            contact_phone: String::new(),
            key_enterprise: false,
            status: String::new(),
            longitude: None,
            latitude: Some(-33.5),
        },
    ]
}
