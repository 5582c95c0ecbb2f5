//! Accounts: user names, passwords and roles.

use std::fmt;

use crate::db::mapping::text_enum;
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::domain::text::bounded;
use crate::error::FieldError;

/// A login name: 3 to 32 characters of `a-z 0-9 _ . -`, starting with a letter or digit,
/// compared case-insensitively (stored in lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates and normalises a user name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_ascii_lowercase();
        let length = value.chars().count();
        if length == 0 {
            return Err(FieldError::new("username", "required", "请填写用户名"));
        }
        let valid_chars = value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
        let starts_well = value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !(3..=32).contains(&length) || !valid_chars || !starts_well {
            return Err(FieldError::new(
                "username",
                "invalid_username",
                "用户名须为 3 到 32 位小写字母、数字或 _ . -，并以字母或数字开头",
            ));
        }
        Ok(Self(value))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown in the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// 1 to 50 characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded("display_name", raw, 1, 50).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest password accepted.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted (longer ones only cost hashing time).
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A new password that passed the policy: 8 to 128 characters and not guessable
/// (zxcvbn score 3 or more, which refuses common passwords, keyboard walks, dates,
/// repeats and variations of the user's own name).
pub struct NewPassword(String);

impl NewPassword {
    /// Checks `raw` against the policy; `field` names the input, `user_inputs` are words
    /// (user name, display name) the password must not be built from.
    pub fn parse(field: &str, raw: &str, user_inputs: &[&str]) -> Result<Self, FieldError> {
        let length = raw.chars().count();
        if length < PASSWORD_MIN_CHARS {
            return Err(FieldError::new(
                field,
                "password_too_short",
                format!("密码至少需要 {PASSWORD_MIN_CHARS} 个字符"),
            ));
        }
        if length > PASSWORD_MAX_CHARS {
            return Err(FieldError::new(
                field,
                "password_too_long",
                format!("密码不能超过 {PASSWORD_MAX_CHARS} 个字符"),
            ));
        }
        if u8::from(zxcvbn::zxcvbn(raw, user_inputs).score()) < 3 {
            return Err(FieldError::new(
                field,
                "password_too_common",
                "密码过于常见或容易被猜到，请换一个更长、更不规则的密码",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password, to be hashed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

text_enum! {
    /// What a user may do; the scope that comes with it lives on the user.
    pub enum Role {
        /// Users, organisation, settings.
        Admin = "admin" / "管理员",
        /// Zone command: sees everything, audits.
        Regulator = "regulator" / "园区监管",
        /// A sector authority's official: scope is sector ids.
        SectorOfficial = "sector_official" / "行业主管部门",
        /// A park's official: scope is park ids.
        ParkOfficial = "park_official" / "园区管理",
        /// Survey staff: scope is one sector or one park team.
        Surveyor = "surveyor" / "摸排人员",
        /// An enterprise's contact: scope is one enterprise.
        EnterpriseContact = "enterprise_contact" / "企业联系人",
        /// An enterprise's gate (门岗): scope is one enterprise; scans passes only.
        GateGuard = "gate_guard" / "门岗",
    }
}

/// The organisational scope of a user, checked against the role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Sectors the user works for.
    pub sector_ids: Vec<OrgUnitId>,
    /// Parks the user works for.
    pub park_ids: Vec<OrgUnitId>,
    /// The enterprise of an enterprise contact.
    pub enterprise_id: Option<EnterpriseId>,
}

impl Scope {
    /// Checks that the scope fits the role: officials need their sectors or parks,
    /// a surveyor belongs to exactly one sector or park team, admins and regulators
    /// have no scope, an enterprise contact belongs to exactly one enterprise.
    pub fn for_role(
        role: Role,
        sector_ids: Vec<OrgUnitId>,
        park_ids: Vec<OrgUnitId>,
        enterprise_id: Option<EnterpriseId>,
    ) -> Result<Self, FieldError> {
        let mut sector_ids = sector_ids;
        let mut park_ids = park_ids;
        sector_ids.sort();
        sector_ids.dedup();
        park_ids.sort();
        park_ids.dedup();
        let (sectors, parks) = (sector_ids.len(), park_ids.len());
        let enterprise = enterprise_id.is_some();
        let fits = match role {
            Role::Admin | Role::Regulator => sectors == 0 && parks == 0 && !enterprise,
            Role::SectorOfficial => sectors > 0 && parks == 0 && !enterprise,
            Role::ParkOfficial => sectors == 0 && parks > 0 && !enterprise,
            Role::Surveyor => sectors + parks == 1 && !enterprise,
            Role::EnterpriseContact | Role::GateGuard => sectors == 0 && parks == 0 && enterprise,
        };
        if !fits {
            return Err(FieldError::new("role", "scope_mismatch", scope_rule(role)));
        }
        Ok(Self {
            sector_ids,
            park_ids,
            enterprise_id,
        })
    }
}

fn scope_rule(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Regulator => "管理员和指挥部账号不设行业、园区或企业范围",
        Role::SectorOfficial => "行业主管部门账号须指定至少一个行业，且不能指定园区",
        Role::ParkOfficial => "园区账号须指定至少一个园区，且不能指定行业",
        Role::Surveyor => "摸排人员须且只能属于一个行业或一个园区",
        Role::EnterpriseContact => {
            "企业联系人须且只能指定一个企业（enterprise_id），不设行业或园区"
        }
        Role::GateGuard => "门岗账号须且只能指定一个企业（enterprise_id），不设行业或园区",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_is_lowercased_and_checked() {
        assert_eq!(
            Username::parse(" Zhang.San ").map(|u| u.0),
            Ok("zhang.san".to_owned())
        );
        for bad in ["", "ab", "_abc", "has space", "名字名字", &"a".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_policy_refuses_short_long_and_common() {
        for common in [
            "password",
            "12345678",
            "qwertyuiop",
            "password123",
            "iloveyou1",
            "admin123",
        ] {
            let error = NewPassword::parse("password", common, &[]).map(drop);
            assert!(error.is_err(), "{common} accepted");
        }
        assert_eq!(
            NewPassword::parse("p", "short", &[])
                .map(drop)
                .map_err(|e| e.code),
            Err("password_too_short")
        );
        assert_eq!(
            NewPassword::parse("p", &"x".repeat(129), &[])
                .map(drop)
                .map_err(|e| e.code),
            Err("password_too_long")
        );
        assert!(NewPassword::parse("p", "zhangsan2026", &["zhangsan"]).is_err());
    }

    #[test]
    fn password_policy_accepts_strong_and_64_character_passwords() {
        assert!(NewPassword::parse("p", "Ledger-Kiln-47-Orbit", &[]).is_ok());
        let long: String =
            "correct horse battery staple 7 orbit kiln ledger quartz violin!!".into();
        assert_eq!(long.chars().count(), 64);
        assert!(NewPassword::parse("p", &long, &[]).is_ok());
        assert!(NewPassword::parse("p", &format!("{long}{long}"), &[]).is_ok());
    }

    #[test]
    fn scope_must_fit_role() {
        let s = |v: &[&str]| {
            v.iter()
                .map(|x| OrgUnitId::from(x.to_string()))
                .collect::<Vec<_>>()
        };
        let e = || Some(EnterpriseId::from("e1".to_owned()));
        assert!(Scope::for_role(Role::Admin, vec![], vec![], None).is_ok());
        assert!(Scope::for_role(Role::Admin, s(&["a"]), vec![], None).is_err());
        assert!(Scope::for_role(Role::Regulator, vec![], vec![], e()).is_err());
        assert!(Scope::for_role(Role::SectorOfficial, vec![], vec![], None).is_err());
        assert!(Scope::for_role(Role::SectorOfficial, s(&["a", "b"]), vec![], None).is_ok());
        assert!(Scope::for_role(Role::ParkOfficial, vec![], s(&["p"]), None).is_ok());
        assert!(Scope::for_role(Role::Surveyor, s(&["a"]), s(&["p"]), None).is_err());
        assert!(Scope::for_role(Role::Surveyor, vec![], s(&["p"]), None).is_ok());
        assert!(Scope::for_role(Role::EnterpriseContact, vec![], vec![], e()).is_ok());
        assert!(Scope::for_role(Role::EnterpriseContact, vec![], vec![], None).is_err());
        assert!(Scope::for_role(Role::GateGuard, vec![], vec![], e()).is_ok());
        assert!(Scope::for_role(Role::GateGuard, vec![], vec![], None).is_err());
        assert!(Scope::for_role(Role::GateGuard, vec![], s(&["p"]), e()).is_err());
        assert!(Scope::for_role(Role::EnterpriseContact, s(&["a"]), vec![], e()).is_err());
        assert_eq!(
            Scope::for_role(Role::SectorOfficial, s(&["a", "a"]), vec![], None)
                .map(|s| s.sector_ids),
            Ok(s(&["a"]))
        );
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for &role in Role::ALL {
            assert_eq!(Role::from_stored(role.as_str()), Some(role));
        }
        assert_eq!(Role::from_stored("root"), None);
    }
}
