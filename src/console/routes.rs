//! Every console route: method, path pattern and the named action it performs. The
//! method table (`auth::table::CONSOLE_ACTIONS`) maps each action name to the RPC whose
//! use case it runs, so the roles of that RPC decide who may use it; a test fails when a
//! route's action is missing there.

use http::Method;

/// What a console request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Action {
    Home,
    SignInForm,
    SignIn,
    SignOut,
    Asset,
    Worklist,
    Needs,
    NeedNew,
    NeedCreate,
    NeedView,
    NeedEdit,
    NeedUpdate,
    NeedSubmit,
    NeedAuthenticate,
    NeedReject,
    NeedCirculate,
    NeedWithdraw,
    NeedConsent,
    NeedFeedback,
    NeedClose,
    WhyNot,
    Consortium,
    ProposeForm,
    Propose,
    Matches,
    MatchView,
    MatchAccept,
    MatchDecline,
    MatchWithdraw,
    MatchStart,
    MatchSuspend,
    MatchResume,
    MatchComplete,
    MatchCancel,
    Plan,
    Reports,
    ReportCoverage,
    ReportAgeing,
    ReportMatches,
    ReportPortfolio,
    ReportPipeline,
    Audit,
    IntakeForm,
    IntakeRead,
    IntakeCreate,
    Offers,
    OfferView,
}

/// One route.
#[derive(Debug, Clone)]
pub struct Route {
    /// GET or POST.
    pub method: Method,
    /// Path; `{id}` matches one segment.
    pub pattern: &'static str,
    /// What it does.
    pub action: Action,
    /// The action's name in the method table.
    pub name: &'static str,
}

macro_rules! routes {
    ($($method:ident $pattern:literal => $action:ident $name:literal,)+) => {
        /// Every route, literal paths before the patterns they would also match.
        pub const ROUTES: &[Route] = &[$(Route {
            method: Method::$method,
            pattern: $pattern,
            action: Action::$action,
            name: $name,
        }),+];
    };
}

routes! {
    GET "/console/" => Home "home",
    GET "/console/sign-in" => SignInForm "sign_in.form",
    POST "/console/sign-in" => SignIn "sign_in",
    POST "/console/sign-out" => SignOut "sign_out",
    GET "/console/assets/{id}" => Asset "asset",
    GET "/console/worklist" => Worklist "worklist",
    GET "/console/needs" => Needs "needs.list",
    POST "/console/needs" => NeedCreate "need.create",
    GET "/console/needs/new" => NeedNew "need.new",
    GET "/console/needs/{id}" => NeedView "need.view",
    GET "/console/needs/{id}/edit" => NeedEdit "need.edit",
    POST "/console/needs/{id}/edit" => NeedUpdate "need.update",
    POST "/console/needs/{id}/submit" => NeedSubmit "need.submit",
    POST "/console/needs/{id}/authenticate" => NeedAuthenticate "need.authenticate",
    POST "/console/needs/{id}/reject" => NeedReject "need.reject",
    POST "/console/needs/{id}/circulate" => NeedCirculate "need.circulate",
    POST "/console/needs/{id}/withdraw" => NeedWithdraw "need.withdraw",
    POST "/console/needs/{id}/consent" => NeedConsent "need.consent",
    POST "/console/needs/{id}/feedback" => NeedFeedback "need.feedback",
    POST "/console/needs/{id}/close" => NeedClose "need.close",
    GET "/console/needs/{id}/why-not" => WhyNot "need.why_not",
    GET "/console/needs/{id}/consortium" => Consortium "need.consortium",
    GET "/console/needs/{id}/propose" => ProposeForm "match.new",
    POST "/console/needs/{id}/propose" => Propose "match.create",
    GET "/console/matches" => Matches "matches.list",
    GET "/console/matches/{id}" => MatchView "match.view",
    POST "/console/matches/{id}/accept" => MatchAccept "match.accept",
    POST "/console/matches/{id}/decline" => MatchDecline "match.decline",
    POST "/console/matches/{id}/withdraw" => MatchWithdraw "match.withdraw",
    POST "/console/matches/{id}/start" => MatchStart "match.start",
    POST "/console/matches/{id}/suspend" => MatchSuspend "match.suspend",
    POST "/console/matches/{id}/resume" => MatchResume "match.resume",
    POST "/console/matches/{id}/complete" => MatchComplete "match.complete",
    POST "/console/matches/{id}/cancel" => MatchCancel "match.cancel",
    GET "/console/plan" => Plan "plan",
    GET "/console/reports" => Reports "reports",
    GET "/console/reports/coverage" => ReportCoverage "report.coverage",
    GET "/console/reports/ageing" => ReportAgeing "report.ageing",
    GET "/console/reports/matches" => ReportMatches "report.matches",
    GET "/console/reports/portfolio" => ReportPortfolio "report.portfolio",
    GET "/console/reports/pipeline" => ReportPipeline "report.pipeline",
    GET "/console/audit" => Audit "audit",
    GET "/console/intake" => IntakeForm "intake.form",
    POST "/console/intake" => IntakeRead "intake.read",
    POST "/console/intake/create" => IntakeCreate "intake.create",
    GET "/console/offers" => Offers "offers.list",
    GET "/console/offers/{id}" => OfferView "offer.view",
}

impl Action {
    /// The action's name in the method table.
    pub fn name(self) -> &'static str {
        ROUTES
            .iter()
            .find(|r| r.action == self)
            .map_or("unknown", |r| r.name)
    }
}

/// Whether a path segment may be an id (no encoding games: letters, digits, `-`, `_`,
/// `.`, at most 128 bytes).
fn is_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn matches(pattern: &str, path: &str) -> Option<Option<String>> {
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    let mut id = None;
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(seg)) if is_id(seg) => id = Some(seg.to_owned()),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

/// The route of `method path`, with its `{id}`; `Err(true)` when the path exists under
/// another method, `Err(false)` when it does not exist.
pub fn find(method: &Method, path: &str) -> Result<(Route, Option<String>), bool> {
    let mut other_method = false;
    for r in ROUTES {
        if let Some(id) = matches(r.pattern, path) {
            if r.method == method {
                return Ok((r.clone(), id));
            }
            other_method = true;
        }
    }
    Err(other_method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_paths_win_over_patterns_and_ids_are_plain() {
        let (r, id) = find(&Method::GET, "/console/needs/new").expect("route");
        assert_eq!((r.action, id), (Action::NeedNew, None));
        let (r, id) = find(&Method::GET, "/console/needs/01J0ABC").expect("route");
        assert_eq!(
            (r.action, id.as_deref()),
            (Action::NeedView, Some("01J0ABC"))
        );
        let (r, _) = find(&Method::POST, "/console/needs/01J0ABC/submit").expect("route");
        assert_eq!(r.action, Action::NeedSubmit);
        assert_eq!(
            find(&Method::GET, "/console/needs/01J0ABC/submit").err(),
            Some(true)
        );
        assert_eq!(
            find(&Method::GET, "/console/needs/a%2Fb").err(),
            Some(false)
        );
        assert_eq!(find(&Method::GET, "/console/nothing").err(), Some(false));
    }

    #[test]
    fn every_action_has_exactly_one_name() {
        let mut names: Vec<&str> = ROUTES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        let mut actions: Vec<String> = ROUTES.iter().map(|r| format!("{:?}", r.action)).collect();
        actions.sort_unstable();
        actions.dedup();
        assert_eq!(names.len(), actions.len(), "one name per action");
        assert_eq!(actions.len(), ROUTES.len(), "one route per action");
    }
}
