//! Checking every row before anything is sent: cells through the column setters, then
//! the same conversion and domain rules the server applies (`convert::*::fields_in`,
//! `Need::new`, `Offer::new`), locally and without a server. Every problem of every row
//! is collected, with its line and field.

use std::collections::HashMap;

use clearinghouse_domain::{
    NeedId, OfferId, Party, PartyFields, PartyId, PartyKind, PrincipalId, Timestamp,
    ValidationError, Violations, geo, need::NeedContext, offer::OfferContext,
};

use super::read::{Row, ShapeError};
use crate::{
    cli::fields::{self, FieldSpec},
    convert, pb,
};

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line the row starts on.
    pub line: usize,
    /// The row's external id, when it has one.
    pub external_id: String,
    /// Column or field path (`sub_areas[1]`); empty for the row as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A row ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared<M> {
    /// Line the row starts on.
    pub line: usize,
    /// Its external id.
    pub external_id: String,
    /// The message to create.
    pub msg: M,
}

/// What import needs to know about a resource.
pub trait Importable: Default + Clone + Send + Sync + 'static {
    /// `need` or `offer`.
    const NOUN: &'static str;
    /// The file columns.
    fn specs() -> &'static [FieldSpec<Self>];
    /// The row's external id.
    fn external_id(&self) -> &str;
    /// The party the row is for (empty: the key's own party).
    fn party(&self) -> &str;
    /// The domain's verdict: every violation, with field paths.
    fn violations(&self) -> Vec<(String, String)>;
}

/// A stand-in for the party a row names, enough for the domain rules: a State for
/// `state-ISO3` (its country), an organization otherwise. `None` names an unknown State.
fn party_for(id: &str, row_country: &str) -> Option<Party> {
    let (kind, country) = match id.strip_prefix("state-") {
        Some(iso3) => (PartyKind::State, geo::country(iso3)?.iso3.to_owned()),
        None if id.is_empty() => (PartyKind::State, row_country.to_owned()),
        None => (PartyKind::RegionalOrganization, String::new()),
    };
    Some(Party {
        id: PartyId(id.to_owned()),
        version: 1,
        kind,
        fields: PartyFields {
            kind: Some(kind),
            display_name: id.to_owned(),
            short_name: String::new(),
            country_code: country,
            external_id: String::new(),
            description: String::new(),
        },
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        created_by: PrincipalId::system(),
    })
}

/// Edge violations plus the domain's, without the resource prefix (`need.`).
fn merged(
    noun: &str,
    edge: Violations,
    domain: Result<(), ValidationError>,
) -> Vec<(String, String)> {
    let prefix = format!("{noun}.");
    edge.merge(domain.err())
        .map(|e| e.violations)
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            (
                v.field.strip_prefix(&prefix).unwrap_or(&v.field).to_owned(),
                v.description,
            )
        })
        .collect()
}

impl Importable for pb::Need {
    const NOUN: &'static str = "need";

    fn specs() -> &'static [FieldSpec<Self>] {
        fields::need::FIELDS
    }

    fn external_id(&self) -> &str {
        &self.external_id
    }

    fn party(&self) -> &str {
        &self.requester_party_id
    }

    fn violations(&self) -> Vec<(String, String)> {
        let mut edge = Violations::new("need");
        let f = convert::need::fields_in(&mut edge, self);
        let Some(party) = party_for(&self.requester_party_id, &self.country_code) else {
            edge.add(
                "requester_party_id",
                format!(
                    "'{}' is no State: use state- and an ISO3 code, e.g. state-KEN",
                    self.requester_party_id
                ),
            );
            return merged("need", edge, Ok(()));
        };
        let built = clearinghouse_domain::Need::new(
            NeedContext {
                id: NeedId("import".to_owned()),
                requester: &party,
                now: Timestamp(0),
                actor: PrincipalId::system(),
            },
            f,
        );
        merged("need", edge, built.map(|_| ()))
    }
}

impl Importable for pb::Offer {
    const NOUN: &'static str = "offer";

    fn specs() -> &'static [FieldSpec<Self>] {
        fields::offer::FIELDS
    }

    fn external_id(&self) -> &str {
        &self.external_id
    }

    fn party(&self) -> &str {
        &self.provider_party_id
    }

    fn violations(&self) -> Vec<(String, String)> {
        let mut edge = Violations::new("offer");
        let f = convert::offer::fields_in(&mut edge, self);
        if party_for(&self.provider_party_id, "").is_none() {
            edge.add(
                "provider_party_id",
                format!(
                    "'{}' is no State: use state- and an ISO3 code, e.g. state-FRA",
                    self.provider_party_id
                ),
            );
        }
        let built = clearinghouse_domain::Offer::new(
            OfferContext {
                id: OfferId("import".to_owned()),
                provider: PartyId(self.provider_party_id.clone()),
                now: Timestamp(0),
                actor: PrincipalId::system(),
            },
            f,
        );
        merged("offer", edge, built.map(|_| ()))
    }
}

/// Problems of the file's shape, as row problems.
pub fn shape_problems(errors: Vec<ShapeError>) -> Vec<Problem> {
    errors
        .into_iter()
        .map(|e| Problem {
            line: e.line.unwrap_or(0),
            external_id: String::new(),
            field: String::new(),
            message: e.message,
        })
        .collect()
}

/// Checks every row; returns the messages to send, or every problem found.
pub fn check<M: Importable>(rows: &[Row]) -> Result<Vec<Prepared<M>>, Vec<Problem>> {
    let specs = M::specs();
    let mut problems = Vec::new();
    let mut unknown_seen: Vec<String> = Vec::new();
    let mut first_line: HashMap<(String, String), usize> = HashMap::new();
    let mut out = Vec::new();
    for row in rows {
        let ext = row.get("external_id").unwrap_or("").trim().to_owned();
        let mut report = |field: &str, message: String| {
            problems.push(Problem {
                line: row.line,
                external_id: ext.clone(),
                field: field.to_owned(),
                message,
            });
        };
        let mut msg = M::default();
        let mut bad_cells = Vec::new();
        for (column, value) in &row.cells {
            match fields::find(specs, column) {
                Some(spec) => {
                    if let Some(set) = spec.set
                        && let Err(e) = set(&mut msg, value)
                    {
                        bad_cells.push(column.clone());
                        report(column, e);
                    }
                }
                None if !unknown_seen.contains(column) => {
                    unknown_seen.push(column.clone());
                    report(
                        column,
                        format!(
                            "is not a column of a {} file; the columns are: {}",
                            M::NOUN,
                            specs
                                .iter()
                                .filter(|s| s.set.is_some())
                                .map(|s| s.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                None => {}
            }
        }
        if ext.is_empty() {
            report(
                "external_id",
                "is required: import uses it to create each row only once".to_owned(),
            );
        } else {
            let key = (msg.party().to_owned(), ext.clone());
            if let Some(first) = first_line.get(&key) {
                report(
                    "external_id",
                    format!("'{ext}' is also on line {first}; each row needs its own"),
                );
            } else {
                first_line.insert(key, row.line);
            }
        }
        for (field, message) in msg.violations() {
            let column = field.split(['.', '[']).next().unwrap_or(&field);
            if bad_cells.iter().any(|c| c == column) {
                continue;
            }
            report(&field, message);
        }
        out.push(Prepared {
            line: row.line,
            external_id: ext,
            msg,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: usize, cells: &[(&str, &str)]) -> Row {
        Row {
            line,
            cells: cells
                .iter()
                .map(|(c, v)| ((*c).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn good_need(line: usize, ext: &str) -> Row {
        row(
            line,
            &[
                ("external_id", ext),
                ("requester_party_id", "state-KEN"),
                ("title", "Control-list training"),
                ("description", "Two-week course for licensing officers"),
                ("area", "EXPORT_TRANSSHIPMENT"),
                ("sub_areas", "CONTROL_LISTS;EXPORT_LICENSING"),
                ("assistance_kinds", "TRAINING"),
                ("accepted_funding_modes", "SINGLE_DONOR"),
                ("estimated_budget", "USD 250000"),
            ],
        )
    }

    #[test]
    fn good_rows_become_messages_with_the_state_country_derived_by_the_server() {
        let ok = check::<pb::Need>(&[good_need(2, "KEN-1"), good_need(3, "KEN-2")]).expect("valid");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].line, 3);
        assert_eq!(ok[0].msg.sub_areas.len(), 2);
        assert_eq!(
            ok[0].msg.estimated_budget.as_ref().map(|m| m.minor_units),
            Some(25_000_000)
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_field() {
        let mut wrong_area = good_need(3, "KEN-2");
        wrong_area.cells[5].1 = "CONTROL_LISTS;INSIDER_THREAT".into();
        let mut bad_cell = good_need(4, "KEN-3");
        bad_cell.cells[8].1 = "USD lots".into();
        let missing = row(5, &[("external_id", ""), ("title", "x")]);
        let problems = check::<pb::Need>(&[good_need(2, "KEN-1"), wrong_area, bad_cell, missing])
            .expect_err("invalid");
        let at = |line: usize| -> Vec<&str> {
            problems
                .iter()
                .filter(|p| p.line == line)
                .map(|p| p.field.as_str())
                .collect()
        };
        assert!(at(2).is_empty());
        assert_eq!(at(3), vec!["sub_areas[1]"]);
        assert_eq!(at(4), vec!["estimated_budget"]);
        let five = at(5);
        assert!(five.contains(&"external_id"), "{five:?}");
        assert!(five.contains(&"area"), "{five:?}");
        assert!(five.contains(&"description"), "{five:?}");
    }

    #[test]
    fn a_repeated_external_id_and_an_unknown_column_are_problems() {
        let mut extra = good_need(3, "KEN-1");
        extra.cells.push(("budjet".into(), "USD 5".into()));
        let problems = check::<pb::Need>(&[good_need(2, "KEN-1"), extra]).expect_err("invalid");
        assert!(
            problems
                .iter()
                .any(|p| p.field == "external_id" && p.message.contains("line 2"))
        );
        assert!(problems.iter().any(|p| p.field == "budjet"));
    }

    #[test]
    fn an_unknown_state_is_refused_before_sending() {
        let mut r = good_need(2, "X-1");
        r.cells[1].1 = "state-XXX".into();
        let problems = check::<pb::Need>(&[r]).expect_err("unknown state");
        assert_eq!(problems[0].field, "requester_party_id");
    }

    #[test]
    fn offers_are_checked_by_the_offer_rules() {
        let r = row(
            2,
            &[
                ("external_id", "FRA-1"),
                ("provider_party_id", "state-FRA"),
                ("programme_name", "Export control outreach"),
                ("description", "Workshops"),
                ("areas", "EXPORT_TRANSSHIPMENT"),
                ("assistance_kinds", "TRAINING"),
                ("scope_subregions", "Eastern Africa"),
                ("funding_modes", "SINGLE_DONOR"),
                ("budget_ceiling", "EUR 500000"),
                ("max_contribution", "EUR 900000"),
            ],
        );
        let problems = check::<pb::Offer>(&[r]).expect_err("max above ceiling");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "max_contribution");
    }
}
