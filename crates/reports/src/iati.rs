//! IATI 2.03 activity XML for matches `AGREED` and later (`AGREED`, `IN_IMPLEMENTATION`,
//! `SUSPENDED`, `COMPLETED`, `CANCELLED`): one `<iati-activity>` per match.
//!
//! Streamable: [`IatiExport::header`], then [`IatiExport::activities`] one chunk per
//! activity, then [`IatiExport::footer`], so a server can send chunks as they are made.
//!
//! What each activity holds:
//! - `iati-identifier`: the reporting organisation's identifier, `-`, the match id;
//! - `reporting-org` from [`IatiOptions`];
//! - `title` and `description` from the need's public summary (never its title, contact
//!   or description, which are not written for publication);
//! - `participating-org`: role 1 (funding) for each funding contribution's provider, role
//!   4 (implementing) for implementing contributions and the offer's implementing
//!   organisations; declined contributions are left out;
//! - `activity-status` from [`MatchStatus::iati_activity_status`];
//! - `activity-date`: planned start (the need's wanted-from date, else the day of
//!   agreement), planned end (needed-by), actual start (implementation began), actual
//!   end (completed or cancelled);
//! - `recipient-country`: the need's country and beneficiary countries as ISO 3166-1
//!   alpha-2, shares split evenly;
//! - `sector`: vocabulary 99, the taxonomy codes `AREA.SUB_AREA`, shares split evenly;
//! - `default-aid-type` (vocabulary 1) when every kind of help maps to one code (pooled
//!   IO funds: B03);
//! - `budget` (type 1 original, status 2 committed) of the pledged amounts from the day
//!   of agreement for at most a year: in the pledges' currency when they share one, else
//!   converted to the base currency, else one budget per currency.
//!
//! Only publishable needs are exported: visibility `PUBLIC` with publication consent
//! granted or deemed granted. [`IatiOptions::include_unpublished`] adds the others for
//! brokers and admins only (an internal export); for anyone else they are counted in
//! [`IatiOmitted`], never written.

use clearinghouse_domain::{
    AssistanceKind, Date, FundingMode, Match, MatchStatus, Need, PartyId, PartyKind,
    PublicationConsent, Timestamp, Visibility, geo,
    matches::{Acceptance, ContributionRole},
};

use crate::{
    classify::{agreed_on, reached_on},
    error::ReportError,
    input::{Lookup, ReportInput},
    markup::esc,
    money::plain_decimal,
    viewer::RowAccess,
};

/// Who publishes, and what to include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IatiOptions {
    /// IATI organisation identifier of the reporting organisation; also the prefix of
    /// every `iati-identifier`.
    pub reporting_org_ref: String,
    /// Its name.
    pub reporting_org_name: String,
    /// IATI OrganisationType code of the reporting organisation (`40`: multilateral).
    pub reporting_org_type: String,
    /// Language of the narratives (ISO 639-1).
    pub language: String,
    /// When the file is generated (`generated-datetime`); left out when `None`.
    pub generated_at: Option<Timestamp>,
    /// Also export matches of needs that are not publishable; honoured only for viewers
    /// who may see confidential rows.
    pub include_unpublished: bool,
}

impl IatiOptions {
    /// Options for a reporting organisation, as a multilateral body writing in English.
    pub fn new(reporting_org_ref: &str, reporting_org_name: &str) -> IatiOptions {
        IatiOptions {
            reporting_org_ref: reporting_org_ref.to_owned(),
            reporting_org_name: reporting_org_name.to_owned(),
            reporting_org_type: "40".to_owned(),
            language: "en".to_owned(),
            generated_at: None,
            include_unpublished: false,
        }
    }

    fn check(&self) -> Result<(), ReportError> {
        let r = &self.reporting_org_ref;
        if r.is_empty()
            || r.len() > 100
            || !r
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ReportError::IatiOptions(format!(
                "reporting_org_ref '{r}' must be 1 to 100 letters, digits, '-', '_' or '.' (an IATI organisation identifier such as XM-DAC-41111)"
            )));
        }
        if self.reporting_org_name.trim().is_empty() {
            return Err(ReportError::IatiOptions(
                "reporting_org_name is empty; name the reporting organisation".to_owned(),
            ));
        }
        if self.reporting_org_type.is_empty()
            || !self.reporting_org_type.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ReportError::IatiOptions(format!(
                "reporting_org_type '{}' is not an IATI OrganisationType code (e.g. 40)",
                self.reporting_org_type
            )));
        }
        if self.language.len() != 2 || !self.language.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(ReportError::IatiOptions(format!(
                "language '{}' is not an ISO 639-1 code (e.g. en)",
                self.language
            )));
        }
        Ok(())
    }
}

/// Matches that passed the filters but are not in the export, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IatiOmitted {
    /// Needs marked `COMMITTEE_ONLY`.
    pub confidential: u32,
    /// Needs not public, or without publication consent.
    pub unpublished: u32,
    /// Matches whose need is not in the data.
    pub unknown_need: u32,
}

/// An IATI export over one input.
#[derive(Debug)]
pub struct IatiExport<'a> {
    options: &'a IatiOptions,
    input: ReportInput<'a>,
    lookup: Lookup<'a>,
    selected: Vec<(&'a Match, &'a Need)>,
    omitted: IatiOmitted,
}

/// Whether a match in `status` is exported (agreed and later).
pub fn is_exported(status: MatchStatus) -> bool {
    matches!(
        status,
        MatchStatus::Agreed
            | MatchStatus::InImplementation
            | MatchStatus::Suspended
            | MatchStatus::Completed
            | MatchStatus::Cancelled
    )
}

/// Whether a need may be published: visibility `PUBLIC` and consent given.
pub fn is_publishable(n: &Need) -> bool {
    n.fields.visibility == Visibility::Public
        && matches!(
            n.fields.publication_consent,
            PublicationConsent::Granted | PublicationConsent::DeemedGranted
        )
}

impl<'a> IatiExport<'a> {
    /// Selects the matches to export (agreed and later, passing the filter, publishable),
    /// in creation order.
    pub fn new(input: &ReportInput<'a>, options: &'a IatiOptions) -> Result<Self, ReportError> {
        options.check()?;
        let lookup = Lookup::new(input);
        let mut omitted = IatiOmitted::default();
        let mut selected = Vec::new();
        for m in input.matches.iter().filter(|m| is_exported(m.status)) {
            if !lookup.match_passes(input.filter, m) {
                continue;
            }
            let Some(n) = lookup.need(&m.need) else {
                omitted.unknown_need += 1;
                continue;
            };
            let allowed = input.viewer.need_row(n) == RowAccess::Shown
                && (is_publishable(n)
                    || options.include_unpublished && input.viewer.sees_confidential_rows());
            if allowed {
                selected.push((m, n));
            } else if n.fields.visibility == Visibility::CommitteeOnly {
                omitted.confidential += 1;
            } else {
                omitted.unpublished += 1;
            }
        }
        selected.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
        Ok(IatiExport {
            options,
            input: *input,
            lookup,
            selected,
            omitted,
        })
    }

    /// Activities in the export.
    pub fn len(&self) -> usize {
        self.selected.len()
    }

    /// Whether no match is exported (the file would not be valid IATI).
    pub fn is_empty(&self) -> bool {
        self.selected.is_empty()
    }

    /// What was left out.
    pub fn omitted(&self) -> IatiOmitted {
        self.omitted
    }

    /// The XML declaration and the opening `<iati-activities>`.
    pub fn header(&self) -> String {
        let generated = self
            .options
            .generated_at
            .map(|t| format!(" generated-datetime=\"{}\"", datetime(t)))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<iati-activities version=\"2.03\"{generated}>\n"
        )
    }

    /// One `<iati-activity>` chunk per exported match, made as the iterator advances.
    pub fn activities(&self) -> impl Iterator<Item = String> + '_ {
        self.selected.iter().map(|(m, n)| self.activity(m, n))
    }

    /// The closing `</iati-activities>`.
    pub fn footer(&self) -> String {
        "</iati-activities>\n".to_owned()
    }

    /// The whole file; an error when no activity is exported.
    pub fn to_xml(&self) -> Result<String, ReportError> {
        if self.is_empty() {
            return Err(ReportError::NoActivities);
        }
        let mut out = self.header();
        for a in self.activities() {
            out.push_str(&a);
        }
        out.push_str(&self.footer());
        Ok(out)
    }

    fn activity(&self, m: &Match, n: &Need) -> String {
        let o = self.options;
        let lang = esc(&o.language);
        let budgets = self.budgets(m, n);
        let default_currency = budgets
            .first()
            .map_or(self.input.rates.base.as_str().to_owned(), |b| {
                b.currency.clone()
            });
        let mut x = String::new();
        x.push_str(&format!(
            "  <iati-activity last-updated-datetime=\"{}\" xml:lang=\"{lang}\" default-currency=\"{}\">\n",
            datetime(m.updated_at),
            esc(&default_currency)
        ));
        x.push_str(&format!(
            "    <iati-identifier>{}-{}</iati-identifier>\n",
            esc(&o.reporting_org_ref),
            esc(&m.id)
        ));
        x.push_str(&format!(
            "    <reporting-org ref=\"{}\" type=\"{}\">\n      <narrative>{}</narrative>\n    </reporting-org>\n",
            esc(&o.reporting_org_ref),
            esc(&o.reporting_org_type),
            esc(&o.reporting_org_name)
        ));
        let (title, description) = title_and_description(n);
        x.push_str(&format!(
            "    <title>\n      <narrative>{}</narrative>\n    </title>\n",
            esc(&title)
        ));
        x.push_str(&format!(
            "    <description type=\"1\">\n      <narrative>{}</narrative>\n    </description>\n",
            esc(&description)
        ));
        for (role, party) in self.participants(m) {
            let p = self.lookup.party(party);
            let name = self.lookup.party_name(party);
            let kind = p.and_then(|p| org_type(p.kind));
            let type_attr = kind.map(|k| format!(" type=\"{k}\"")).unwrap_or_default();
            x.push_str(&format!(
                "    <participating-org role=\"{role}\"{type_attr}>\n      <narrative>{}</narrative>\n    </participating-org>\n",
                esc(&name)
            ));
        }
        x.push_str(&format!(
            "    <activity-status code=\"{}\"/>\n",
            m.status.iati_activity_status()
        ));
        for (kind, date) in activity_dates(m, n) {
            x.push_str(&format!(
                "    <activity-date type=\"{kind}\" iso-date=\"{date}\"/>\n"
            ));
        }
        let countries = recipient_countries(n);
        let shares = split_percent(countries.len());
        for ((code, name), pct) in countries.iter().zip(&shares) {
            x.push_str(&format!(
                "    <recipient-country code=\"{}\" percentage=\"{pct}\">\n      <narrative>{}</narrative>\n    </recipient-country>\n",
                esc(code),
                esc(name)
            ));
        }
        let sectors: Vec<String> = n.fields.sub_areas.iter().map(|s| s.full_code()).collect();
        let shares = split_percent(sectors.len());
        for (code, pct) in sectors.iter().zip(&shares) {
            x.push_str(&format!(
                "    <sector vocabulary=\"99\" code=\"{}\" percentage=\"{pct}\"/>\n",
                esc(code)
            ));
        }
        if let Some(code) = aid_type(m.funding_mode, &n.fields.assistance_kinds) {
            x.push_str(&format!(
                "    <default-aid-type code=\"{code}\" vocabulary=\"1\"/>\n"
            ));
        }
        let start = agreed_on(m);
        let year_end = start.add_months(12).add_days(-1);
        let end = match n.fields.needed_by {
            Some(by) if by >= start && by < year_end => by,
            _ => year_end,
        };
        for b in &budgets {
            x.push_str(&format!(
                "    <budget type=\"1\" status=\"2\">\n      <period-start iso-date=\"{start}\"/>\n      <period-end iso-date=\"{end}\"/>\n      <value currency=\"{}\" value-date=\"{start}\">{}</value>\n    </budget>\n",
                esc(&b.currency),
                plain_decimal(b.minor, &b.currency)
            ));
        }
        x.push_str("  </iati-activity>\n");
        x
    }

    fn participants<'m>(&self, m: &'m Match) -> Vec<(u8, &'m PartyId)>
    where
        'a: 'm,
    {
        let mut funding: Vec<&PartyId> = Vec::new();
        let mut implementing: Vec<&PartyId> = Vec::new();
        for c in m
            .contributions
            .iter()
            .filter(|c| c.acceptance != Acceptance::Declined)
        {
            if matches!(c.role, ContributionRole::Funding | ContributionRole::Both)
                && !funding.contains(&&c.provider)
            {
                funding.push(&c.provider);
            }
            if matches!(
                c.role,
                ContributionRole::Implementing | ContributionRole::Both
            ) && !implementing.contains(&&c.provider)
            {
                implementing.push(&c.provider);
            }
            if let Some(o) = self.lookup.offer(&c.offer) {
                for p in &o.fields.implementing_parties {
                    if !implementing.contains(&p) {
                        implementing.push(p);
                    }
                }
            }
        }
        funding
            .into_iter()
            .map(|p| (1, p))
            .chain(implementing.into_iter().map(|p| (4, p)))
            .collect()
    }

    fn budgets(&self, m: &Match, _n: &Need) -> Vec<Budget> {
        let pledged = m.pledged();
        if pledged.len() <= 1 {
            return pledged
                .into_iter()
                .map(|p| Budget {
                    currency: p.currency.as_str().to_owned(),
                    minor: p.minor_units,
                })
                .collect();
        }
        let converted: Option<i64> = pledged
            .iter()
            .map(|p| self.input.rates.to_base(*p))
            .try_fold(0i64, |acc, v| v.map(|v| acc.saturating_add(v)));
        match converted {
            Some(total) => vec![Budget {
                currency: self.input.rates.base.as_str().to_owned(),
                minor: total,
            }],
            None => pledged
                .into_iter()
                .map(|p| Budget {
                    currency: p.currency.as_str().to_owned(),
                    minor: p.minor_units,
                })
                .collect(),
        }
    }
}

#[derive(Debug)]
struct Budget {
    currency: String,
    minor: i64,
}

/// IATI OrganisationType of a party kind, where one fits (10 government, 40 multilateral).
fn org_type(kind: PartyKind) -> Option<&'static str> {
    match kind {
        PartyKind::State => Some("10"),
        PartyKind::InternationalOrganization | PartyKind::RegionalOrganization => Some("40"),
        PartyKind::NgoAcademic | PartyKind::GpInitiative => None,
    }
}

/// The IATI aid type (vocabulary 1) when the kinds of help agree on one.
pub fn aid_type(mode: FundingMode, kinds: &[AssistanceKind]) -> Option<&'static str> {
    if mode == FundingMode::PooledIoFund {
        return Some("B03");
    }
    let mut codes: Vec<&'static str> = kinds
        .iter()
        .map(|k| match k {
            AssistanceKind::LegislativeAdvice | AssistanceKind::ExpertMission => "D01",
            AssistanceKind::Training
            | AssistanceKind::AssessmentPeerReview
            | AssistanceKind::ExchangeOfExperience
            | AssistanceKind::TranslationDocumentation => "D02",
            AssistanceKind::Equipment | AssistanceKind::Infrastructure => "C01",
            AssistanceKind::FinancialContribution => match mode {
                FundingMode::JointlyFunded => "B04",
                _ => "C01",
            },
        })
        .collect();
    codes.sort_unstable();
    codes.dedup();
    match codes.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

fn activity_dates(m: &Match, n: &Need) -> Vec<(u8, Date)> {
    let agreed = agreed_on(m);
    let planned_start = n.fields.wanted_from.unwrap_or(agreed);
    let mut out = vec![(1, planned_start)];
    if let Some(by) = n.fields.needed_by
        && by >= planned_start
    {
        out.push((3, by));
    }
    let started = m
        .history
        .iter()
        .find(|c| c.to == MatchStatus::InImplementation.code())
        .map(|c| c.at.date());
    if let Some(d) = started {
        out.push((2, d));
    }
    let ended = match m.status {
        MatchStatus::Completed => reached_on(m, MatchStatus::Completed),
        MatchStatus::Cancelled => reached_on(m, MatchStatus::Cancelled),
        _ => None,
    };
    if let Some(d) = ended {
        out.push((4, d));
    }
    out.sort_by_key(|(k, _)| *k);
    out
}

fn recipient_countries(n: &Need) -> Vec<(String, String)> {
    let mut codes: Vec<&str> = vec![n.fields.country_code.as_str()];
    for b in &n.fields.beneficiary_countries {
        if !codes.contains(&b.as_str()) {
            codes.push(b);
        }
    }
    codes
        .into_iter()
        .filter_map(geo::country)
        .map(|c| (c.iso2.to_owned(), c.name.clone()))
        .collect()
}

/// `n` shares of 100 with two decimals that add up to exactly 100 (the first takes the
/// remainder).
pub fn split_percent(n: usize) -> Vec<String> {
    let Ok(count) = u32::try_from(n) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let base = 10_000 / count;
    let first = base + 10_000 % count;
    (0..count)
        .map(|i| {
            let h = if i == 0 { first } else { base };
            if h % 100 == 0 {
                format!("{}", h / 100)
            } else {
                format!("{}.{:02}", h / 100, h % 100)
            }
        })
        .collect()
}

const TITLE_MAX: usize = 150;

fn title_and_description(n: &Need) -> (String, String) {
    let summary = n.fields.public_summary.trim();
    let area = n.fields.area.map_or("", |a| a.code());
    let country = geo::country(&n.fields.country_code)
        .map_or_else(|| n.fields.country_code.clone(), |c| c.name.clone());
    if summary.is_empty() {
        let codes: Vec<String> = n.fields.sub_areas.iter().map(|s| s.full_code()).collect();
        return (
            format!("Resolution 1540 assistance to {country}: {area}"),
            format!(
                "Assistance under resolution 1540 brokered by the clearinghouse for {country} in {}.",
                codes.join(", ")
            ),
        );
    }
    let first = summary
        .split_terminator(['\n'])
        .next()
        .unwrap_or(summary)
        .split(". ")
        .next()
        .unwrap_or(summary)
        .trim()
        .trim_end_matches('.');
    let title = if first.chars().count() > TITLE_MAX {
        let cut: String = first.chars().take(TITLE_MAX - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        first.to_owned()
    };
    (title, summary.to_owned())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a timestamp (milliseconds since the epoch, UTC).
fn datetime(t: Timestamp) -> String {
    let day_ms = t.0.rem_euclid(86_400_000);
    let secs = day_ms / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.date(),
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_one_hundred() {
        assert_eq!(split_percent(1), vec!["100"]);
        assert_eq!(split_percent(2), vec!["50", "50"]);
        assert_eq!(split_percent(3), vec!["33.34", "33.33", "33.33"]);
        assert!(split_percent(0).is_empty());
    }

    #[test]
    fn aid_type_only_when_the_kinds_agree() {
        use AssistanceKind as K;
        assert_eq!(
            aid_type(
                FundingMode::SingleDonor,
                &[K::Training, K::AssessmentPeerReview]
            ),
            Some("D02")
        );
        assert_eq!(
            aid_type(FundingMode::SingleDonor, &[K::Training, K::Equipment]),
            None
        );
        assert_eq!(
            aid_type(FundingMode::PooledIoFund, &[K::Training]),
            Some("B03")
        );
        assert_eq!(
            aid_type(FundingMode::JointlyFunded, &[K::FinancialContribution]),
            Some("B04")
        );
        assert_eq!(
            aid_type(FundingMode::SingleDonor, &[K::FinancialContribution]),
            Some("C01")
        );
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            esc("a<b & \"c\" 'd'\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;"
        );
    }

    #[test]
    fn datetimes_are_utc_seconds() {
        assert_eq!(
            datetime(Timestamp(86_400_000 + 3_723_000)),
            "1970-01-02T01:02:03Z"
        );
    }
}
