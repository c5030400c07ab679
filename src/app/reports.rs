//! Reports, the broker's worklist and exports: the records are read from the store and
//! handed to `clearinghouse-reports` with the caller as viewer, so a report never shows a
//! row the caller may not see (confidential needs are counts for everyone but brokers and
//! admins). Matching supplies each unmatched need's best candidate for the worklist.

use clearinghouse_domain::{
    Date, Match, Need, Offer, OfferId, Party, Principal, Role, Timestamp, Violations,
};
use clearinghouse_matching::{FitContext, NeedStage, naive::Work};
use clearinghouse_reports::{
    self as reports, Brief, Report, ReportFilter, ReportInput, Viewer,
    iati::{IatiExport, IatiOptions},
    worklist::Worklist,
};
use clearinghouse_storage::{ListQuery, Resource, Store};

use super::{
    App, clock,
    matches::can_see_match,
    matching::{policy_of, rates_of},
    visibility,
};
use crate::error::ApiError;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Needs by area × region and sub-area.
    Coverage,
    /// Unmatched needs by months open; follow-ups due.
    Ageing,
    /// Matches by status and funding mode.
    Matches,
    /// Per provider.
    Portfolio,
    /// Per GP sub-working group.
    Pipeline,
}

/// Everything a report reads, as of one moment.
#[derive(Debug, Default)]
struct Records {
    needs: Vec<Need>,
    offers: Vec<Offer>,
    matches: Vec<Match>,
    parties: Vec<Party>,
}

fn all<R: Resource>(store: &Store) -> Result<Vec<R>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list::<R>(
            &ListQuery {
                index: None,
                after,
                limit: 5_000,
                max_scan: usize::MAX,
            },
            &|_| true,
        )?;
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

fn records(store: &Store) -> Result<Records, ApiError> {
    Ok(Records {
        needs: all(store)?,
        offers: all(store)?,
        matches: all(store)?,
        parties: all(store)?,
    })
}

/// Checks a filter, reporting every problem as a field violation.
pub fn check_filter(f: &ReportFilter) -> Result<(), ApiError> {
    let mut v = Violations::new("filter");
    for p in f.problems() {
        let field = match p {
            reports::filter::FilterProblem::EmptyPeriod { .. } => "requested_until",
            reports::filter::FilterProblem::UnknownRegion(_) => "region",
            reports::filter::FilterProblem::UnknownSubRegion(_) => "subregion",
        };
        v.add(field, p.to_string());
    }
    Ok(v.into_result()?)
}

impl App {
    fn with_input<T>(
        &self,
        store: &Store,
        who: &Principal,
        filter: &ReportFilter,
        f: impl FnOnce(&ReportInput<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let r = records(store)?;
        let rates = rates_of(&self.matching.settings());
        let viewer = Viewer::from_principal(who);
        let today: Date = clock::now().date();
        f(&ReportInput {
            needs: &r.needs,
            offers: &r.offers,
            matches: &r.matches,
            parties: &r.parties,
            today,
            rates: &rates,
            viewer: &viewer,
            filter,
        })
    }

    /// One report for `who`.
    pub async fn report(
        &self,
        who: &Principal,
        kind: ReportKind,
        filter: ReportFilter,
    ) -> Result<Report, ApiError> {
        check_filter(&filter)?;
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            app.with_input(store, &who, &filter, |input| {
                Ok(match kind {
                    ReportKind::Coverage => Report::Coverage(reports::coverage::coverage(input)),
                    ReportKind::Ageing => Report::Ageing(reports::ageing::ageing(input)),
                    ReportKind::Matches => {
                        Report::Matches(reports::match_volume::match_volume(input))
                    }
                    ReportKind::Portfolio => {
                        Report::Portfolio(reports::portfolio::portfolio(input))
                    }
                    ReportKind::Pipeline => Report::Pipeline(reports::pipeline::pipeline(input)),
                })
            })
        })
        .await
    }

    /// Every report at once (the matchmaking brief), computed over one reading.
    pub async fn brief(&self, who: &Principal, filter: ReportFilter) -> Result<Brief, ApiError> {
        check_filter(&filter)?;
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| app.with_input(store, &who, &filter, |i| Ok(Brief::build(i))))
            .await
    }

    /// A broker's day at a glance, each unmatched need with its best candidate.
    pub async fn worklist(
        &self,
        who: &Principal,
        filter: ReportFilter,
    ) -> Result<Worklist, ApiError> {
        check_filter(&filter)?;
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            app.with_input(store, &who, &filter, |input| {
                let settings = app.matching.settings();
                let (policy, rates) = (policy_of(&settings), rates_of(&settings));
                let ctx = FitContext {
                    policy: &policy,
                    rates: &rates,
                    today: input.today,
                    stage: NeedStage::Circulated,
                };
                let best = |n: &Need| -> Option<(OfferId, u32)> {
                    let top = app.matching.best_offer(n, &ctx)?;
                    Some((OfferId(top.id), top.score_milli))
                };
                Ok(reports::worklist::worklist(input, &best))
            })
        })
        .await
    }

    /// The matches `who` may see under `filter`, in creation order: every match for
    /// brokers and admins, a provider's and a requester's own, and for analysts those
    /// of needs published to them.
    pub async fn export_matches(
        &self,
        who: &Principal,
        filter: ReportFilter,
    ) -> Result<Vec<(Match, Option<Need>)>, ApiError> {
        check_filter(&filter)?;
        let who = who.clone();
        self.blocking(move |store| {
            let r = records(store)?;
            let mut out = Vec::new();
            for m in r.matches {
                let need = r.needs.iter().find(|n| n.id == m.need).cloned();
                let visible = can_see_match(&who, &m)
                    || (who.role == Role::Analyst
                        && need
                            .as_ref()
                            .is_some_and(|n| visibility::can_see_need(&who, n)));
                let passes = need.as_ref().is_none_or(|n| filter.need_passes(n));
                if visible && passes {
                    out.push((m, need));
                }
            }
            Ok(out)
        })
        .await
    }

    /// Agreed and later matches as IATI 2.03 activity XML: the header, one string per
    /// activity, the footer.
    pub async fn export_iati(
        &self,
        who: &Principal,
        filter: ReportFilter,
        mut options: IatiOptions,
    ) -> Result<Vec<String>, ApiError> {
        check_filter(&filter)?;
        if options.include_unpublished && !matches!(who.role, Role::Admin | Role::Broker) {
            return Err(ApiError::PermissionDenied(
                "only brokers and admins may export needs that are not published".to_owned(),
            ));
        }
        options.generated_at = Some(clock::now());
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            app.with_input(store, &who, &filter, |input| {
                let export = IatiExport::new(input, &options).map_err(|e| match e {
                    reports::ReportError::IatiOptions(msg) => {
                        let field = ["reporting_org_ref", "reporting_org_name"]
                            .into_iter()
                            .find(|f| msg.starts_with(f))
                            .unwrap_or("reporting_org_ref");
                        ApiError::invalid(field, msg)
                    }
                    other => ApiError::Internal(other.to_string()),
                })?;
                if export.is_empty() {
                    return Err(ApiError::Transition(
                        clearinghouse_domain::TransitionError::Rule {
                            reason: "NOTHING_TO_EXPORT",
                            message: reports::ReportError::NoActivities.to_string(),
                        },
                    ));
                }
                let mut out = vec![export.header()];
                out.extend(export.activities());
                out.push(export.footer());
                Ok(out)
            })
        })
        .await
    }
}

impl super::matching::Matching {
    /// The best open offer for `n` through the index (the worklist's suggestion).
    pub fn best_offer(
        &self,
        n: &Need,
        ctx: &FitContext<'_>,
    ) -> Option<clearinghouse_matching::rank::Ranked> {
        let e = self.engine_read();
        e.offers_for_need(n, ctx, 1, &mut Work::default())
            .into_iter()
            .next()
    }
}

/// A timestamp's date (for export rows).
pub fn day_of(t: Timestamp) -> String {
    t.date().to_string()
}
