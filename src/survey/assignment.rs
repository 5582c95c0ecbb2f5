//! Who takes which case: the surveyors an assignment names (checked to be active
//! surveyors) and the balanced plan, which spreads cases evenly by count and keeps a
//! park's enterprises with one surveyor where it can.

use std::collections::BTreeMap;

use crate::db::DbConnection;
use crate::domain::account::{Role, Scope};
use crate::domain::id::{OrgUnitId, UserId};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::survey::SurveyScope;
use crate::survey::cases::PlacedCase;
use crate::users::{User, UserFilter, UserView};

/// Most surveyors [`Surveyor::of_scope`] lists.
const MAX_LISTED: i64 = 1000;

/// A surveyor and their team (one sector or one park).
#[derive(Clone, Debug)]
pub struct Surveyor {
    /// The user.
    pub id: UserId,
    /// Their team.
    pub scope: Scope,
}

impl Surveyor {
    /// Whether the surveyor's team covers an enterprise of `sector` in `park`.
    pub fn covers(&self, sector: &OrgUnitId, park: &OrgUnitId) -> bool {
        self.scope.sector_ids.contains(sector) || self.scope.park_ids.contains(park)
    }

    /// The active surveyors whose team is one of the units `scope` sees (every team for
    /// the whole zone, none for anyone else): who an official may give cases to.
    pub fn of_scope(
        conn: &mut DbConnection,
        scope: &SurveyScope,
    ) -> Result<Vec<UserView>, ApiError> {
        let filter = UserFilter {
            role: Some(Role::Surveyor),
            active: Some(true),
            q: None,
        };
        let listed = User::list(conn, &filter, None, MAX_LISTED)?;
        Ok(listed
            .into_iter()
            .filter(|user| match scope {
                SurveyScope::All => true,
                SurveyScope::Sectors(ids) => user.sector_ids.iter().any(|id| ids.contains(id)),
                SurveyScope::Parks(ids) => user.park_ids.iter().any(|id| ids.contains(id)),
                SurveyScope::Assignee(_) | SurveyScope::Nothing => false,
            })
            .collect())
    }

    /// The active surveyors `ids`, in order; any other id is a field error
    /// `unknown_surveyor` (named `field`, or `field[i]` for a list).
    pub fn load_all(
        conn: &mut DbConnection,
        ids: &[UserId],
        field: &str,
        listed: bool,
    ) -> Result<Vec<Surveyor>, ApiError> {
        let mut errors = FieldErrors::default();
        let mut surveyors = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            match User::find_with_scope(conn, id) {
                Ok((user, scope)) if user.active && user.role == Role::Surveyor => {
                    surveyors.push(Surveyor { id: user.id, scope });
                }
                _ => errors.push(FieldError::new(
                    if listed {
                        format!("{field}[{index}]")
                    } else {
                        field.to_owned()
                    },
                    "unknown_surveyor",
                    "摸排人员不存在或已停用",
                )),
            }
        }
        errors.finish()?;
        Ok(surveyors)
    }
}

/// A balanced assignment: which surveyor (by index) takes which case (by index), and
/// how many cases no named surveyor's team covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// (case index, surveyor index).
    pub moves: Vec<(usize, usize)>,
    /// Cases left unassigned: outside every named surveyor's team.
    pub uncovered: usize,
}

/// Spreads `cases` over `surveyors`: each case goes to a surveyor whose team covers
/// its enterprise; counts come out even (at most one apart) where the teams allow;
/// a park's cases (largest parks first) stay with one surveyor until that surveyor
/// has their share.
pub fn balance(cases: &[PlacedCase], surveyors: &[Surveyor]) -> Plan {
    let mut plan = Plan::default();
    let eligible: Vec<Vec<usize>> = cases
        .iter()
        .map(|case| {
            surveyors
                .iter()
                .enumerate()
                .filter(|(_, s)| s.covers(&case.case.sector_id, &case.case.park_id))
                .map(|(index, _)| index)
                .collect()
        })
        .collect();
    let mut by_park: BTreeMap<&OrgUnitId, Vec<usize>> = BTreeMap::new();
    for (index, case) in cases.iter().enumerate() {
        if eligible[index].is_empty() {
            plan.uncovered += 1;
        } else {
            by_park.entry(&case.case.park_id).or_default().push(index);
        }
    }
    let total = cases.len() - plan.uncovered;
    if surveyors.is_empty() || total == 0 {
        return plan;
    }
    let base = total / surveyors.len();
    let mut extras = total % surveyors.len();
    let mut load = vec![0usize; surveyors.len()];
    let mut parks: Vec<Vec<usize>> = by_park.into_values().collect();
    // Largest parks first: they are the hardest to keep together.
    parks.sort_by_key(|group| std::cmp::Reverse(group.len()));
    for mut group in parks {
        group.sort_by(|a, b| {
            (&cases[*a].case.sector_id, &cases[*a].case.id)
                .cmp(&(&cases[*b].case.sector_id, &cases[*b].case.id))
        });
        let mut current: Option<usize> = None;
        for case in group {
            let has_room = |s: usize, load: &[usize], extras: usize| {
                load[s] < base || (load[s] == base && extras > 0)
            };
            let keep =
                current.filter(|s| eligible[case].contains(s) && has_room(*s, &load, extras));
            let chosen = match keep {
                Some(s) => s,
                None => {
                    let Some(s) = eligible[case]
                        .iter()
                        .copied()
                        .min_by_key(|s| (!has_room(*s, &load, extras), load[*s]))
                    else {
                        continue;
                    };
                    s
                }
            };
            if load[chosen] >= base && extras > 0 {
                extras -= 1;
            }
            load[chosen] += 1;
            current = Some(chosen);
            plan.moves.push((case, chosen));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id::{CampaignId, CaseId, EnterpriseId};
    use crate::survey::cases::Case;

    fn unit(name: &str) -> OrgUnitId {
        OrgUnitId::from(name.to_owned())
    }

    fn case(n: usize, sector: &str, park: &str) -> PlacedCase {
        let mut case = Case::new_unassigned(
            &CampaignId::from("c".to_owned()),
            (
                EnterpriseId::from(format!("e{n}")),
                unit(sector),
                unit(park),
                false,
            ),
            crate::db::now(),
        );
        case.id = CaseId::from(format!("case{n:03}"));
        PlacedCase {
            case,
            enterprise_name: format!("企业{n}"),
        }
    }

    fn surveyor(name: &str, sectors: &[&str], parks: &[&str]) -> Surveyor {
        Surveyor {
            id: UserId::from(name.to_owned()),
            scope: Scope {
                sector_ids: sectors.iter().map(|s| unit(s)).collect(),
                park_ids: parks.iter().map(|p| unit(p)).collect(),
                enterprise_id: None,
            },
        }
    }

    fn loads(plan: &Plan, surveyors: usize) -> Vec<usize> {
        let mut load = vec![0; surveyors];
        for (_, s) in &plan.moves {
            load[*s] += 1;
        }
        load
    }

    #[test]
    fn two_parks_go_to_two_surveyors_whole() {
        let cases = vec![
            case(1, "A", "P1"),
            case(2, "A", "P2"),
            case(3, "A", "P1"),
            case(4, "A", "P2"),
        ];
        let surveyors = vec![surveyor("s1", &["A"], &[]), surveyor("s2", &["A"], &[])];
        let plan = balance(&cases, &surveyors);
        assert_eq!(loads(&plan, 2), vec![2, 2]);
        for (a, sa) in &plan.moves {
            for (b, sb) in &plan.moves {
                if cases[*a].case.park_id == cases[*b].case.park_id {
                    assert_eq!(sa, sb, "a park was split");
                }
            }
        }
    }

    #[test]
    fn counts_stay_within_one_and_uncovered_cases_are_left() {
        let mut cases: Vec<PlacedCase> = (0..10).map(|n| case(n, "A", "P1")).collect();
        cases.push(case(99, "B", "P9"));
        let surveyors = vec![
            surveyor("s1", &["A"], &[]),
            surveyor("s2", &[], &["P1"]),
            surveyor("s3", &["A"], &[]),
        ];
        let plan = balance(&cases, &surveyors);
        assert_eq!(plan.uncovered, 1);
        let load = loads(&plan, 3);
        assert_eq!(load.iter().sum::<usize>(), 10);
        assert!(
            load.iter().max().unwrap_or(&0) - load.iter().min().unwrap_or(&0) <= 1,
            "{load:?}"
        );
    }

    #[test]
    fn a_surveyor_only_gets_what_their_team_covers() {
        let cases = vec![case(1, "A", "P1"), case(2, "B", "P2"), case(3, "B", "P2")];
        let surveyors = vec![surveyor("s1", &["A"], &[]), surveyor("s2", &[], &["P2"])];
        let plan = balance(&cases, &surveyors);
        for (c, s) in &plan.moves {
            assert!(surveyors[*s].covers(&cases[*c].case.sector_id, &cases[*c].case.park_id));
        }
        assert_eq!(plan.moves.len(), 3);
    }
}
