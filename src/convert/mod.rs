//! Conversions between generated protobuf types (`pb::*`) and domain types, one file per
//! resource. Input conversions record every bad field in a [`Violations`] accumulator so
//! that the client hears about all of them at once.

pub mod decision;
pub mod enums;
pub mod intake;
pub mod limits;
pub mod matches;
pub mod need;
pub mod offer;
pub mod party;
pub mod policy;
pub mod principal;
pub mod report;

use clearinghouse_domain::{Date, Money, Timestamp, Violations};

use crate::pb;

/// A domain instant as a protobuf timestamp.
pub fn ts_out(t: Timestamp) -> prost_types::Timestamp {
    let nanos = i32::try_from(t.0.rem_euclid(1000) * 1_000_000).unwrap_or(0);
    prost_types::Timestamp {
        seconds: t.0.div_euclid(1000),
        nanos,
    }
}

/// A protobuf timestamp as a domain instant (millisecond precision).
pub fn ts_in(t: &prost_types::Timestamp) -> Timestamp {
    Timestamp(
        t.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(t.nanos) / 1_000_000),
    )
}

/// An optional `YYYY-MM-DD` field: empty is `None`.
pub fn date_in(v: &mut Violations, field: &str, s: &str) -> Option<Date> {
    if s.is_empty() {
        return None;
    }
    match Date::parse(s) {
        Ok(d) => Some(d),
        Err(e) => {
            v.add(field, e);
            None
        }
    }
}

/// An optional date as text (empty for none).
pub fn date_out(d: Option<Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// An optional money field.
pub fn money_in(v: &mut Violations, field: &str, m: Option<&pb::Money>) -> Option<Money> {
    let m = m?;
    Money::parse(v, field, &m.currency_code, m.minor_units)
}

/// Money to protobuf.
pub fn money_out(m: Option<Money>) -> Option<pb::Money> {
    m.map(|m| pb::Money {
        currency_code: m.currency.as_str().to_owned(),
        minor_units: m.minor_units,
    })
}

/// A contact point in.
pub fn contact_in(c: Option<&pb::ContactPoint>) -> clearinghouse_domain::need::Contact {
    c.map(|c| clearinghouse_domain::need::Contact {
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        organization: c.organization.clone(),
    })
    .unwrap_or_default()
}

/// A contact point out.
pub fn contact_out(c: &clearinghouse_domain::need::Contact) -> Option<pb::ContactPoint> {
    (!c.is_empty()).then(|| pb::ContactPoint {
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        organization: c.organization.clone(),
    })
}

/// Status history out.
pub fn history_out(h: &[clearinghouse_domain::StatusChange]) -> Vec<pb::StatusChange> {
    h.iter()
        .map(|c| pb::StatusChange {
            from_status: c.from.clone().unwrap_or_default(),
            to_status: c.to.clone(),
            change_time: Some(ts_out(c.at)),
            actor_principal_id: c.actor.0.clone(),
            reason: c.reason.clone(),
        })
        .collect()
}

/// Version as an etag string.
pub fn etag_out(version: u64) -> String {
    version.to_string()
}

/// Parses an etag; empty is `None`.
pub fn etag_in(field: &str, etag: &str) -> Result<Option<u64>, crate::error::ApiError> {
    if etag.is_empty() {
        return Ok(None);
    }
    etag.parse().map(Some).map_err(|_| {
        crate::error::ApiError::invalid(
            field,
            format!("'{etag}' is not an etag of this service; send the etag from your last read"),
        )
    })
}
