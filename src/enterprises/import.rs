//! Roster import: rows matched by credit code are inserted or updated; sectors and
//! parks are matched by code or name. Every bad row is reported with its row number
//! and column, and nothing is written unless there are none or the caller asked for
//! a partial import. Runs inside one transaction.
//!
//! The contact phone is sealed before it is stored ([`CONTACT_PHONE`]); a masked
//! number, as exports write it, keeps the stored number when it is that number's mask.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor, Event};
use crate::db::DbConnection;
use crate::db::schema::org_units;
use crate::domain::enterprise::{
    Coordinates, CreditCode, EnterpriseName, EnterpriseStatus, parse_address, parse_contact_person,
    parse_flag,
};
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::domain::person::Mobile;
use crate::enterprises::roster::{Column, RawRow};
use crate::enterprises::{CONTACT_PHONE, Enterprise, EnterpriseChanges, NewEnterprise, Visibility};
use crate::error::{ApiError, FieldError};
use crate::personal::{SealedMobile, Vault};

/// How to import.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Report what would change, write nothing.
    pub dry_run: bool,
    /// Write the good rows even when some rows are bad.
    pub partial: bool,
}

/// One problem in one cell.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RowError {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// Column key (`credit_code`).
    pub column: &'static str,
    /// Column header (`统一社会信用代码`).
    pub header: &'static str,
    /// Stable code.
    pub code: &'static str,
    /// Chinese message.
    pub message: String,
}

/// What an import did, or would do.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    /// Nothing was meant to be written.
    pub dry_run: bool,
    /// Good rows are written despite bad ones.
    pub partial: bool,
    /// Whether anything was written.
    pub written: bool,
    /// Data rows read.
    pub rows: usize,
    /// New enterprises.
    pub inserted: usize,
    /// Changed enterprises.
    pub updated: usize,
    /// Rows identical to the roster.
    pub unchanged: usize,
    /// Rows with errors.
    pub rejected: usize,
    /// Every problem found.
    pub errors: Vec<RowError>,
}

/// Sectors or parks by id, upper-case code and name.
struct Units(HashMap<String, OrgUnitId>);

impl Units {
    fn load(conn: &mut DbConnection, kind: &str) -> Result<Self, ApiError> {
        let rows: Vec<(OrgUnitId, String, String)> = org_units::table
            .filter(org_units::kind.eq(kind))
            .select((org_units::id, org_units::code, org_units::name))
            .load(conn)?;
        let mut keys = HashMap::new();
        for (id, code, name) in rows {
            keys.insert(code.to_uppercase(), id.clone());
            keys.insert(name, id.clone());
            keys.insert(id.to_string(), id);
        }
        Ok(Self(keys))
    }

    fn resolve(&self, text: &str) -> Option<OrgUnitId> {
        let text = text.trim();
        self.0
            .get(text)
            .or_else(|| self.0.get(&text.to_uppercase()))
            .cloned()
    }
}

/// A row parsed into domain values; `None` means the column was not in the file.
struct RowValues {
    name: EnterpriseName,
    credit_code: CreditCode,
    sector_id: Option<OrgUnitId>,
    park_id: Option<OrgUnitId>,
    address: Option<String>,
    key_enterprise: Option<bool>,
    status: Option<EnterpriseStatus>,
    coordinates: Option<Option<Coordinates>>,
    contact_person: Option<String>,
    contact_phone: Option<PhoneCell>,
}

/// A contact phone cell: a number, or the masked number an export wrote (which keeps
/// the stored number when it still matches it, so an export imports back unchanged).
enum PhoneCell {
    Number(Mobile),
    Masked(String),
}

impl PhoneCell {
    fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if text.contains('*') {
            return Ok(PhoneCell::Masked(text.to_owned()));
        }
        Mobile::parse(text).map(PhoneCell::Number)
    }

    /// The phone to store in place of `current`, or the row's error when a masked
    /// number is not the stored one's.
    fn resolve(
        self,
        vault: &Vault,
        current: Option<SealedMobile>,
        row: usize,
    ) -> Result<Result<Option<SealedMobile>, RowError>, ApiError> {
        match self {
            PhoneCell::Number(mobile) => {
                let index = vault.blind_index(CONTACT_PHONE, mobile.as_str());
                match current.filter(|phone| phone.index == index) {
                    Some(same) => Ok(Ok(Some(same))),
                    None => Ok(Ok(Some(
                        vault
                            .seal_mobile(CONTACT_PHONE, &mobile)
                            .map_err(ApiError::internal)?,
                    ))),
                }
            }
            PhoneCell::Masked(masked) => Ok(match current.filter(|phone| phone.masked == masked) {
                Some(same) => Ok(Some(same)),
                None => Err(RowError {
                    row,
                    column: Column::ContactPhone.key(),
                    header: Column::ContactPhone.header(),
                    code: "masked_phone",
                    message: "联系电话是遮盖过的号码，与名录中的不一致：请填写完整的手机号码"
                        .to_owned(),
                }),
            }),
        }
    }
}

fn parse_number(text: &str, field: &str) -> Result<f64, FieldError> {
    text.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "invalid_number", "应为数字"))
}

fn parse_row(raw: &RawRow, sectors: &Units, parks: &Units) -> Result<RowValues, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut record = |column: Column, error: FieldError| {
        errors.push(RowError {
            row: raw.row,
            column: column.key(),
            header: column.header(),
            code: error.code,
            message: error.message,
        });
    };
    let cell = |column: Column| raw.cells.get(&column).map(String::as_str);
    let name = EnterpriseName::parse(cell(Column::Name).unwrap_or_default())
        .map_err(|e| record(Column::Name, e))
        .ok();
    let credit_code = CreditCode::parse(cell(Column::CreditCode).unwrap_or_default())
        .map_err(|e| record(Column::CreditCode, e))
        .ok();
    let mut unit = |column: Column, units: &Units, label: &str| {
        cell(column).and_then(|text| {
            units.resolve(text).or_else(|| {
                let message = format!("找不到{label}“{text}”，请填写系统中已有的{label}编码或名称");
                record(
                    column,
                    FieldError::new(column.key(), "unknown_org_unit", message),
                );
                None
            })
        })
    };
    let sector_id = unit(Column::Sector, sectors, "行业");
    let park_id = unit(Column::Park, parks, "园区");
    let address = cell(Column::Address).map(|text| {
        parse_address(text)
            .map_err(|e| record(Column::Address, e))
            .ok()
    });
    let key_enterprise = cell(Column::KeyEnterprise).map(|text| {
        parse_flag("key_enterprise", text)
            .map_err(|e| record(Column::KeyEnterprise, e))
            .ok()
    });
    let contact_person = cell(Column::ContactPerson).and_then(|text| {
        parse_contact_person(text)
            .map_err(|e| record(Column::ContactPerson, e))
            .ok()
    });
    let contact_phone = cell(Column::ContactPhone).and_then(|text| {
        PhoneCell::parse(text)
            .map_err(|e| record(Column::ContactPhone, e))
            .ok()
    });
    let status = cell(Column::Status).map(|text| {
        EnterpriseStatus::parse(text)
            .map_err(|e| record(Column::Status, e))
            .ok()
    });
    let longitude = cell(Column::Longitude).map(|t| {
        parse_number(t, "longitude")
            .map_err(|e| record(Column::Longitude, e))
            .ok()
    });
    let latitude = cell(Column::Latitude).map(|t| {
        parse_number(t, "latitude")
            .map_err(|e| record(Column::Latitude, e))
            .ok()
    });
    let coordinates = match (longitude, latitude) {
        (Some(None), _) | (_, Some(None)) => None,
        (longitude, latitude) if longitude.is_some() || latitude.is_some() => {
            match Coordinates::parse(longitude.flatten(), latitude.flatten()) {
                Ok(coordinates) => Some(coordinates),
                Err(error) => {
                    let column = if error.field == "latitude" {
                        Column::Latitude
                    } else {
                        Column::Longitude
                    };
                    record(column, error);
                    None
                }
            }
        }
        _ => None,
    };
    let (Some(name), Some(credit_code)) = (name, credit_code) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RowValues {
        name,
        credit_code,
        sector_id,
        park_id,
        address: address.flatten(),
        key_enterprise: key_enterprise.flatten(),
        status: status.flatten(),
        coordinates,
        contact_person,
        contact_phone,
    })
}

/// What a valid row will do.
enum Plan {
    Insert(NewEnterprise),
    Update(EnterpriseId, EnterpriseChanges),
    Unchanged,
}

fn plan(
    conn: &mut DbConnection,
    vault: &Vault,
    row: usize,
    mut values: RowValues,
) -> Result<Result<Plan, Vec<RowError>>, ApiError> {
    let existing = Enterprise::find_by_credit_code(conn, &values.credit_code)?;
    let current_phone = existing.as_ref().and_then(Enterprise::sealed_contact_phone);
    let contact_phone = match values.contact_phone.take() {
        Some(cell) => match cell.resolve(vault, current_phone, row)? {
            Ok(phone) => phone,
            Err(error) => return Ok(Err(vec![error])),
        },
        None => current_phone,
    };
    let missing = |column: Column, label: &str| RowError {
        row,
        column: column.key(),
        header: column.header(),
        code: "required",
        message: format!("新企业须填写{label}"),
    };
    let Some(current) = existing else {
        let (Some(sector_id), Some(park_id)) = (values.sector_id.clone(), values.park_id.clone())
        else {
            let mut errors = Vec::new();
            if values.sector_id.is_none() {
                errors.push(missing(Column::Sector, "行业"));
            }
            if values.park_id.is_none() {
                errors.push(missing(Column::Park, "园区"));
            }
            return Ok(Err(errors));
        };
        return Ok(Ok(Plan::Insert(NewEnterprise {
            name: values.name,
            credit_code: values.credit_code,
            sector_id,
            park_id,
            address: values.address.unwrap_or_default(),
            key_enterprise: values.key_enterprise.unwrap_or(false),
            status: values.status.unwrap_or(EnterpriseStatus::Operating),
            coordinates: values.coordinates.flatten(),
            contact_person: values.contact_person.unwrap_or_default(),
            contact_phone,
        })));
    };
    let current_coordinates = match (current.longitude, current.latitude) {
        (Some(longitude), Some(latitude)) => Some(Coordinates {
            longitude,
            latitude,
        }),
        _ => None,
    };
    let wanted = NewEnterprise {
        name: values.name,
        credit_code: values.credit_code,
        sector_id: values
            .sector_id
            .unwrap_or_else(|| current.sector_id.clone()),
        park_id: values.park_id.unwrap_or_else(|| current.park_id.clone()),
        address: values.address.unwrap_or_else(|| current.address.clone()),
        key_enterprise: values.key_enterprise.unwrap_or(current.key_enterprise),
        status: values
            .status
            .or(Some(current.status))
            .unwrap_or(EnterpriseStatus::Operating),
        coordinates: values.coordinates.unwrap_or(current_coordinates),
        contact_person: values
            .contact_person
            .unwrap_or_else(|| current.contact_person.clone()),
        contact_phone,
    };
    let changes = EnterpriseChanges::between(&current, &wanted);
    Ok(Ok(if changes.is_empty() {
        Plan::Unchanged
    } else {
        Plan::Update(current.id, changes)
    }))
}

/// Imports parsed rows inside the caller's transaction.
pub fn run(
    conn: &mut DbConnection,
    vault: &Vault,
    actor: &Actor,
    rows: Vec<RawRow>,
    options: ImportOptions,
) -> Result<ImportReport, ApiError> {
    let sectors = Units::load(conn, "sector")?;
    let parks = Units::load(conn, "park")?;
    let mut report = ImportReport {
        dry_run: options.dry_run,
        partial: options.partial,
        written: false,
        rows: rows.len(),
        inserted: 0,
        updated: 0,
        unchanged: 0,
        rejected: 0,
        errors: Vec::new(),
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut plans = Vec::new();
    for raw in &rows {
        let outcome = match parse_row(raw, &sectors, &parks) {
            Ok(values) => match seen.insert(values.credit_code.as_str().to_owned(), raw.row) {
                Some(first) => Err(vec![RowError {
                    row: raw.row,
                    column: Column::CreditCode.key(),
                    header: Column::CreditCode.header(),
                    code: "duplicate_in_file",
                    message: format!("与第 {first} 行的统一社会信用代码重复"),
                }]),
                None => plan(conn, vault, raw.row, values)?,
            },
            Err(errors) => Err(errors),
        };
        match outcome {
            Ok(plan) => plans.push(plan),
            Err(errors) => {
                report.rejected += 1;
                report.errors.extend(errors);
            }
        }
    }
    for plan in &plans {
        match plan {
            Plan::Insert(_) => report.inserted += 1,
            Plan::Update(..) => report.updated += 1,
            Plan::Unchanged => report.unchanged += 1,
        }
    }
    let write = !options.dry_run && (report.rejected == 0 || options.partial);
    if !write {
        return Ok(report);
    }
    for plan in plans {
        match plan {
            Plan::Insert(new) => {
                let enterprise = Enterprise::create(conn, &new)?;
                audit::append(
                    conn,
                    actor,
                    Event::success("enterprise.import_create", "enterprise", &enterprise.id),
                )?;
            }
            Plan::Update(id, changes) => {
                let before = Enterprise::find(conn, &Visibility::All, &id)?;
                let after = Enterprise::update(conn, &id, &changes)?;
                let event = Event::success("enterprise.import_update", "enterprise", &id)
                    .with_details(audit::changes(&before.audited(), &after.audited()));
                audit::append(conn, actor, event)?;
            }
            Plan::Unchanged => {}
        }
    }
    let summary = Event::success("enterprise.import", "enterprise", "roster").with_details(
        serde_json::json!({
            "rows": report.rows,
            "inserted": report.inserted,
            "updated": report.updated,
            "rejected": report.rejected,
        }),
    );
    audit::append(conn, actor, summary)?;
    report.written = true;
    Ok(report)
}
