//! Bridges between protobuf enums (`FUNDING_MODE_SINGLE_DONOR = 1`) and domain code lists
//! (`FundingMode::SingleDonor`, code `SINGLE_DONOR`), by name, so numbering and naming
//! stay in one place each.

use std::fmt::Display;

use clearinghouse_domain::{self as d, Violations};

use crate::pb;

/// One protobuf enum ↔ one domain code list.
#[derive(Debug)]
pub struct Bridge<D: 'static> {
    prefix: &'static str,
    pb_name: fn(i32) -> Option<&'static str>,
    pb_value: fn(&str) -> Option<i32>,
    from_code: fn(&str) -> Option<D>,
    code: fn(D) -> &'static str,
    all: &'static [D],
}

impl<D: 'static> Bridge<D> {
    /// A bridge from its parts (used by `bridge!`-style declarations elsewhere).
    pub const fn new(
        prefix: &'static str,
        pb_name: fn(i32) -> Option<&'static str>,
        pb_value: fn(&str) -> Option<i32>,
        from_code: fn(&str) -> Option<D>,
        code: fn(D) -> &'static str,
        all: &'static [D],
    ) -> Bridge<D> {
        Bridge {
            prefix,
            pb_name,
            pb_value,
            from_code,
            code,
            all,
        }
    }
}

impl<D: Copy + Display + 'static> Bridge<D> {
    fn decode(&self, raw: i32) -> Result<Option<D>, ()> {
        if raw == 0 {
            return Ok(None);
        }
        let name = (self.pb_name)(raw).ok_or(())?;
        let code = name.strip_prefix(self.prefix).ok_or(())?;
        (self.from_code)(code).map(Some).ok_or(())
    }

    fn choices(&self) -> String {
        self.all
            .iter()
            .map(|x| format!("{}{}", self.prefix, (self.code)(*x)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A required value: unset or unknown is a violation.
    pub fn required(&self, v: &mut Violations, field: &str, raw: i32) -> Option<D> {
        match self.decode(raw) {
            Ok(Some(x)) => Some(x),
            Ok(None) => {
                v.add(field, format!("is required; use one of {}", self.choices()));
                None
            }
            Err(()) => {
                v.add(
                    field,
                    format!("unknown value {raw}; use one of {}", self.choices()),
                );
                None
            }
        }
    }

    /// An optional value: unset is `None`, unknown is a violation.
    pub fn optional(&self, v: &mut Violations, field: &str, raw: i32) -> Option<D> {
        match self.decode(raw) {
            Ok(x) => x,
            Err(()) => {
                v.add(
                    field,
                    format!("unknown value {raw}; use one of {}", self.choices()),
                );
                None
            }
        }
    }

    /// A repeated value: every entry must be set and known.
    pub fn list(&self, v: &mut Violations, field: &str, raws: &[i32]) -> Vec<D> {
        raws.iter()
            .enumerate()
            .filter_map(|(i, r)| self.required(v, &format!("{field}[{i}]"), *r))
            .collect()
    }

    /// A repeated value of at most `max` entries: a longer list is reported once and only
    /// its first `max` entries are decoded.
    pub fn list_max(&self, v: &mut Violations, field: &str, raws: &[i32], max: usize) -> Vec<D> {
        let raws = super::limits::capped(v, field, raws, max);
        self.list(v, field, raws)
    }

    /// A filter value: unset is `None`; unknown is an error.
    pub fn filter(&self, field: &str, raw: i32) -> Result<Option<D>, crate::error::ApiError> {
        let mut v = Violations::new("");
        let out = self.optional(&mut v, field, raw);
        v.into_result()?;
        Ok(out)
    }

    /// The protobuf number of a domain value.
    pub fn out(&self, x: D) -> i32 {
        (self.pb_value)(&format!("{}{}", self.prefix, (self.code)(x))).unwrap_or(0)
    }

    /// The protobuf numbers of a list.
    pub fn out_list(&self, xs: &[D]) -> Vec<i32> {
        xs.iter().map(|x| self.out(*x)).collect()
    }
}

macro_rules! bridge {
    ($name:ident, $pb:ty, $d:ty, $prefix:literal) => {
        #[doc = concat!("Bridge of `", stringify!($pb), "`.")]
        pub const $name: Bridge<$d> = Bridge {
            prefix: $prefix,
            pb_name: |i| <$pb>::try_from(i).ok().map(|e| e.as_str_name()),
            pb_value: |s| <$pb>::from_str_name(s).map(|e| e as i32),
            from_code: <$d>::from_code,
            code: <$d>::code,
            all: <$d>::ALL,
        };
    };
}

bridge!(AREA, pb::ThematicArea, d::Area, "THEMATIC_AREA_");
bridge!(SUB_AREA, pb::SubArea, d::SubArea, "SUB_AREA_");
bridge!(
    WEAPON_DOMAIN,
    pb::WeaponDomain,
    d::WeaponDomain,
    "WEAPON_DOMAIN_"
);
bridge!(
    ASSISTANCE_KIND,
    pb::AssistanceKind,
    d::AssistanceKind,
    "ASSISTANCE_KIND_"
);
bridge!(
    FUNDING_MODE,
    pb::FundingMode,
    d::FundingMode,
    "FUNDING_MODE_"
);
bridge!(PRIORITY, pb::Priority, d::Priority, "PRIORITY_");
bridge!(
    CHANNEL,
    pb::SubmissionChannel,
    d::SubmissionChannel,
    "SUBMISSION_CHANNEL_"
);
bridge!(
    CONSENT,
    pb::PublicationConsent,
    d::PublicationConsent,
    "PUBLICATION_CONSENT_"
);
bridge!(VISIBILITY, pb::Visibility, d::Visibility, "VISIBILITY_");
bridge!(NEED_STATUS, pb::NeedStatus, d::NeedStatus, "NEED_STATUS_");
bridge!(
    OFFER_STATUS,
    pb::OfferStatus,
    d::OfferStatus,
    "OFFER_STATUS_"
);
bridge!(
    BUDGET_STATUS,
    pb::BudgetStatus,
    d::BudgetStatus,
    "BUDGET_STATUS_"
);
bridge!(
    GP_GROUP,
    pb::GpSubWorkingGroup,
    d::GpSubWorkingGroup,
    "GP_SUB_WORKING_GROUP_"
);
bridge!(PARTY_KIND, pb::PartyKind, d::PartyKind, "PARTY_KIND_");
bridge!(ROLE, pb::Role, d::Role, "ROLE_");
bridge!(
    MATCH_STATUS,
    pb::MatchStatus,
    d::MatchStatus,
    "MATCH_STATUS_"
);
bridge!(
    REASON,
    pb::ReasonCode,
    d::matches::ReasonCode,
    "REASON_CODE_"
);
bridge!(
    CONTRIBUTION_ROLE,
    pb::ContributionRole,
    d::matches::ContributionRole,
    "CONTRIBUTION_ROLE_"
);
bridge!(
    ACCEPTANCE,
    pb::Acceptance,
    d::matches::Acceptance,
    "ACCEPTANCE_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_value_has_a_protobuf_number_and_back() {
        fn check<D: Copy + Display + PartialEq + std::fmt::Debug>(b: &Bridge<D>) {
            for x in b.all {
                let n = b.out(*x);
                assert_ne!(n, 0, "{x} has no protobuf value");
                assert_eq!(b.decode(n), Ok(Some(*x)));
            }
            assert_eq!(b.decode(0), Ok(None));
            assert_eq!(b.decode(9999), Err(()));
        }
        check(&AREA);
        check(&SUB_AREA);
        check(&WEAPON_DOMAIN);
        check(&ASSISTANCE_KIND);
        check(&FUNDING_MODE);
        check(&PRIORITY);
        check(&CHANNEL);
        check(&CONSENT);
        check(&VISIBILITY);
        check(&NEED_STATUS);
        check(&OFFER_STATUS);
        check(&BUDGET_STATUS);
        check(&GP_GROUP);
        check(&PARTY_KIND);
        check(&ROLE);
        check(&MATCH_STATUS);
        check(&REASON);
        check(&CONTRIBUTION_ROLE);
        check(&ACCEPTANCE);
    }
}
