//! Roster columns: which header cell names which column (in Chinese or English, with
//! the usual synonyms, stars and bracketed notes), and the Chinese headers exports use.

use super::{is_blank_char, trim_cell};

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
    /// 联系人: the contact person.
    ContactPerson,
    /// 联系电话: the contact's mobile (personal data: sealed, exported masked).
    ContactPhone,
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
    pub const ALL: [Column; 11] = [
        Column::Name,
        Column::CreditCode,
        Column::Sector,
        Column::Park,
        Column::Address,
        Column::ContactPerson,
        Column::ContactPhone,
        Column::KeyEnterprise,
        Column::Status,
        Column::Longitude,
        Column::Latitude,
    ];

    /// The Chinese header used in exports and templates: 企业名称, 统一社会信用代码, 行业, 园区, 地址, 联系人, 联系电话, 重点企业, 状态, 经度, 纬度
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "企业名称",
            Column::CreditCode => "统一社会信用代码",
            Column::Sector => "行业",
            Column::Park => "园区",
            Column::Address => "地址",
            Column::ContactPerson => "联系人",
            Column::ContactPhone => "联系电话",
            Column::KeyEnterprise => "重点企业",
            Column::Status => "状态",
            Column::Longitude => "经度",
            Column::Latitude => "纬度",
        }
    }

    /// Stable English key for API error reports: name, credit_code, sector, park, address, contact_person, contact_phone, key_enterprise, status, longitude, latitude
    pub fn key(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::CreditCode => "credit_code",
            Column::Sector => "sector",
            Column::Park => "park",
            Column::Address => "address",
            Column::ContactPerson => "contact_person",
            Column::ContactPhone => "contact_phone",
            Column::KeyEnterprise => "key_enterprise",
            Column::Status => "status",
            Column::Longitude => "longitude",
            Column::Latitude => "latitude",
        }
    }

    /// Recognises a header cell: the Chinese header, the English key, and common synonyms (e.g. 企业名称/名称/单位名称/企业名; 统一社会信用代码/信用代码/社会信用代码; 行业/所属行业/行业类别; 园区/所属园区/属地园区/属地; 地址/企业地址/详细地址; 联系人/企业联系人/联系人姓名; 联系电话/联系人电话/联系人手机/联系方式; 重点企业/是否重点企业; 状态/经营状态/企业状态; 经度/lng/lon/longitude; 纬度/lat/latitude).
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
        "联系人" | "企业联系人" | "联系人姓名" | "contact" | "contact_person" => {
            Column::ContactPerson
        }
        "联系电话" | "联系人电话" | "联系人手机" | "联系方式" | "contact_phone" => {
            Column::ContactPhone
        }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
        assert_eq!(Column::from_header("联系人"), Some(Column::ContactPerson));
        assert_eq!(
            Column::from_header("联系电话（手机）"),
            Some(Column::ContactPhone)
        );
        assert_eq!(Column::from_header("备注"), None);
        assert_eq!(Column::from_header(""), None);
        assert_eq!(Column::from_header("()"), None);
    }
}
