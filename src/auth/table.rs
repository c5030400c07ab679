//! The one method → roles table. A method missing from it is denied to everyone; a test
//! enumerates every RPC of the descriptor set and fails if one is missing.

use clearinghouse_domain::Role;

use Role::{Admin, Analyst, Broker, Provider, Requester};

const ALL: &[Role] = &[Admin, Broker, Requester, Provider, Analyst];
const BROKERS: &[Role] = &[Admin, Broker];
const ADMIN: &[Role] = &[Admin];
/// Reports and exports: brokers and admins, GP working groups, and providers (their own
/// rows; confidential needs only as counts for everyone but brokers and admins).
const REPORTS: &[Role] = &[Admin, Broker, Provider, Analyst];

/// Full gRPC method path → roles allowed to call it. Data-dependent rules (ownership,
/// visibility) are checked again by the use case.
pub const METHOD_ROLES: &[(&str, &[Role])] = &[
    ("/clearinghouse.v1.PartyService/CreateParty", BROKERS),
    ("/clearinghouse.v1.PartyService/GetParty", ALL),
    ("/clearinghouse.v1.PartyService/ListParties", ALL),
    ("/clearinghouse.v1.PartyService/UpdateParty", BROKERS),
    (
        "/clearinghouse.v1.NeedService/CreateNeed",
        &[Broker, Requester],
    ),
    ("/clearinghouse.v1.NeedService/GetNeed", ALL),
    ("/clearinghouse.v1.NeedService/ListNeeds", ALL),
    (
        "/clearinghouse.v1.NeedService/UpdateNeed",
        &[Broker, Requester],
    ),
    (
        "/clearinghouse.v1.NeedService/SubmitNeed",
        &[Broker, Requester],
    ),
    ("/clearinghouse.v1.NeedService/AuthenticateNeed", &[Broker]),
    ("/clearinghouse.v1.NeedService/RejectNeed", &[Broker]),
    ("/clearinghouse.v1.NeedService/CirculateNeed", &[Broker]),
    (
        "/clearinghouse.v1.NeedService/WithdrawNeed",
        &[Broker, Requester],
    ),
    (
        "/clearinghouse.v1.NeedService/AddNeedFeedback",
        &[Broker, Requester],
    ),
    ("/clearinghouse.v1.NeedService/CloseNeed", &[Broker]),
    (
        "/clearinghouse.v1.OfferService/CreateOffer",
        &[Broker, Provider],
    ),
    ("/clearinghouse.v1.OfferService/GetOffer", ALL),
    ("/clearinghouse.v1.OfferService/ListOffers", ALL),
    (
        "/clearinghouse.v1.OfferService/UpdateOffer",
        &[Broker, Provider],
    ),
    (
        "/clearinghouse.v1.OfferService/ActivateOffer",
        &[Broker, Provider],
    ),
    (
        "/clearinghouse.v1.OfferService/WithdrawOffer",
        &[Broker, Provider],
    ),
    ("/clearinghouse.v1.AdminService/CreatePrincipal", ADMIN),
    ("/clearinghouse.v1.AdminService/ListPrincipals", ADMIN),
    ("/clearinghouse.v1.AdminService/RevokePrincipal", ADMIN),
    ("/clearinghouse.v1.AdminService/ListAuditEntries", ADMIN),
    ("/clearinghouse.v1.AdminService/GetMatchingPolicy", ADMIN),
    ("/clearinghouse.v1.AdminService/UpdateMatchingPolicy", ADMIN),
    ("/clearinghouse.v1.AdminService/SetExchangeRates", ADMIN),
    ("/clearinghouse.v1.AdminService/ExportBackup", ADMIN),
    ("/clearinghouse.v1.AdminService/ListDecisions", ADMIN),
    (
        "/clearinghouse.v1.MatchService/FindOffersForNeed",
        &[Admin, Broker, Requester],
    ),
    (
        "/clearinghouse.v1.MatchService/FindNeedsForOffer",
        &[Admin, Broker, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/ExplainFit",
        &[Admin, Broker, Requester, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/SuggestConsortium",
        &[Admin, Broker, Requester],
    ),
    (
        "/clearinghouse.v1.MatchService/CreateMatch",
        &[Broker, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/GetMatch",
        &[Admin, Broker, Requester, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/ListMatches",
        &[Admin, Broker, Requester, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/AcceptMatch",
        &[Requester, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/DeclineMatch",
        &[Requester, Provider],
    ),
    ("/clearinghouse.v1.MatchService/WithdrawMatch", &[Broker]),
    (
        "/clearinghouse.v1.MatchService/StartImplementation",
        &[Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/SuspendMatch",
        &[Broker, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/ResumeMatch",
        &[Broker, Provider],
    ),
    ("/clearinghouse.v1.MatchService/CompleteMatch", &[Provider]),
    (
        "/clearinghouse.v1.MatchService/CancelMatch",
        &[Broker, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/WatchMatches",
        &[Admin, Broker, Requester, Provider],
    ),
    (
        "/clearinghouse.v1.MatchService/PlanAllocation",
        &[Admin, Broker],
    ),
    (
        "/clearinghouse.v1.IntakeService/SuggestNeeds",
        &[Broker, Requester, Provider],
    ),
    (
        "/clearinghouse.v1.IntakeService/SuggestOfferScope",
        &[Broker, Requester, Provider],
    ),
    ("/clearinghouse.v1.ReportService/GetCoverageReport", REPORTS),
    ("/clearinghouse.v1.ReportService/GetAgeingReport", REPORTS),
    ("/clearinghouse.v1.ReportService/GetMatchesReport", REPORTS),
    (
        "/clearinghouse.v1.ReportService/GetProviderPortfolio",
        REPORTS,
    ),
    ("/clearinghouse.v1.ReportService/GetPipelineReport", REPORTS),
    ("/clearinghouse.v1.ReportService/GetWorklist", BROKERS),
    ("/clearinghouse.v1.ReportService/ExportMatches", REPORTS),
    ("/clearinghouse.v1.ReportService/ExportIati", REPORTS),
];

/// Console actions open without a session: the start page (which sends a visitor to
/// sign-in or to their role's first page), signing in and out, and the stylesheet.
pub const CONSOLE_PUBLIC: &[&str] = &["home", "sign_in.form", "sign_in", "sign_out", "asset"];

/// Console action → the RPC whose use case it performs; the RPC's roles above decide who
/// may use the action, and the action takes a token from the caller's rate limit like the
/// RPC would. A page showing more than its main data (a need's candidates and matches)
/// shows each part only when the role may call that part's RPC too.
pub const CONSOLE_ACTIONS: &[(&str, &str)] = &[
    ("worklist", "/clearinghouse.v1.ReportService/GetWorklist"),
    ("needs.list", "/clearinghouse.v1.NeedService/ListNeeds"),
    ("need.new", "/clearinghouse.v1.NeedService/CreateNeed"),
    ("need.create", "/clearinghouse.v1.NeedService/CreateNeed"),
    ("need.view", "/clearinghouse.v1.NeedService/GetNeed"),
    ("need.edit", "/clearinghouse.v1.NeedService/UpdateNeed"),
    ("need.update", "/clearinghouse.v1.NeedService/UpdateNeed"),
    ("need.submit", "/clearinghouse.v1.NeedService/SubmitNeed"),
    (
        "need.authenticate",
        "/clearinghouse.v1.NeedService/AuthenticateNeed",
    ),
    ("need.reject", "/clearinghouse.v1.NeedService/RejectNeed"),
    (
        "need.circulate",
        "/clearinghouse.v1.NeedService/CirculateNeed",
    ),
    (
        "need.withdraw",
        "/clearinghouse.v1.NeedService/WithdrawNeed",
    ),
    ("need.consent", "/clearinghouse.v1.NeedService/UpdateNeed"),
    (
        "need.feedback",
        "/clearinghouse.v1.NeedService/AddNeedFeedback",
    ),
    ("need.close", "/clearinghouse.v1.NeedService/CloseNeed"),
    ("need.why_not", "/clearinghouse.v1.MatchService/ExplainFit"),
    (
        "need.consortium",
        "/clearinghouse.v1.MatchService/SuggestConsortium",
    ),
    ("match.new", "/clearinghouse.v1.MatchService/CreateMatch"),
    ("match.create", "/clearinghouse.v1.MatchService/CreateMatch"),
    ("matches.list", "/clearinghouse.v1.MatchService/ListMatches"),
    ("match.view", "/clearinghouse.v1.MatchService/GetMatch"),
    ("match.accept", "/clearinghouse.v1.MatchService/AcceptMatch"),
    (
        "match.decline",
        "/clearinghouse.v1.MatchService/DeclineMatch",
    ),
    (
        "match.withdraw",
        "/clearinghouse.v1.MatchService/WithdrawMatch",
    ),
    (
        "match.start",
        "/clearinghouse.v1.MatchService/StartImplementation",
    ),
    (
        "match.suspend",
        "/clearinghouse.v1.MatchService/SuspendMatch",
    ),
    ("match.resume", "/clearinghouse.v1.MatchService/ResumeMatch"),
    (
        "match.complete",
        "/clearinghouse.v1.MatchService/CompleteMatch",
    ),
    ("match.cancel", "/clearinghouse.v1.MatchService/CancelMatch"),
    ("plan", "/clearinghouse.v1.MatchService/PlanAllocation"),
    (
        "reports",
        "/clearinghouse.v1.ReportService/GetCoverageReport",
    ),
    (
        "report.coverage",
        "/clearinghouse.v1.ReportService/GetCoverageReport",
    ),
    (
        "report.ageing",
        "/clearinghouse.v1.ReportService/GetAgeingReport",
    ),
    (
        "report.matches",
        "/clearinghouse.v1.ReportService/GetMatchesReport",
    ),
    (
        "report.portfolio",
        "/clearinghouse.v1.ReportService/GetProviderPortfolio",
    ),
    (
        "report.pipeline",
        "/clearinghouse.v1.ReportService/GetPipelineReport",
    ),
    ("audit", "/clearinghouse.v1.AdminService/ListAuditEntries"),
    (
        "intake.form",
        "/clearinghouse.v1.IntakeService/SuggestNeeds",
    ),
    (
        "intake.read",
        "/clearinghouse.v1.IntakeService/SuggestNeeds",
    ),
    ("intake.create", "/clearinghouse.v1.NeedService/CreateNeed"),
    ("offers.list", "/clearinghouse.v1.OfferService/ListOffers"),
    ("offer.view", "/clearinghouse.v1.OfferService/GetOffer"),
];

/// The RPC a console action performs, or `None` if it is not in the table (denied).
pub fn console_method(action: &str) -> Option<&'static str> {
    CONSOLE_ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, m)| *m)
}

/// Paths served without authentication: health checking and reflection.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// Roles allowed to call `path`, or `None` if the method is not in the table (denied).
pub fn allowed_roles(path: &str) -> Option<&'static [Role]> {
    METHOD_ROLES
        .iter()
        .find(|(m, _)| *m == path)
        .map(|(_, roles)| *roles)
}

/// Whether `role` may call `path`.
pub fn is_allowed(path: &str, role: Role) -> bool {
    allowed_roles(path).is_some_and(|r| r.contains(&role))
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::pb;

    fn descriptor_methods() -> Vec<String> {
        let fds = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("fds");
        let mut out = Vec::new();
        for file in fds.file {
            if file.package() != "clearinghouse.v1" {
                continue;
            }
            for svc in &file.service {
                for m in &svc.method {
                    out.push(format!("/clearinghouse.v1.{}/{}", svc.name(), m.name()));
                }
            }
        }
        out
    }

    #[test]
    fn every_rpc_of_the_descriptor_set_is_in_the_table() {
        let methods = descriptor_methods();
        assert!(methods.len() >= 25, "found only {} methods", methods.len());
        let missing: Vec<&String> = methods
            .iter()
            .filter(|m| allowed_roles(m).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "methods missing from METHOD_ROLES: {missing:?}"
        );
    }

    #[test]
    fn the_table_names_only_real_methods() {
        let methods = descriptor_methods();
        for (m, _) in METHOD_ROLES {
            assert!(methods.iter().any(|x| x == m), "{m} is not in the proto");
        }
    }

    #[test]
    fn unknown_methods_are_denied_to_everyone() {
        for role in ALL {
            assert!(!is_allowed(
                "/clearinghouse.v1.NeedService/DropEverything",
                *role
            ));
        }
    }

    #[test]
    fn every_console_route_is_public_or_mapped_to_a_method_of_the_table() {
        use crate::console::routes::ROUTES;
        for r in ROUTES {
            let public = CONSOLE_PUBLIC.contains(&r.name);
            let method = console_method(r.name);
            assert!(
                public != method.is_some(),
                "console action {} ({} {}) must be either public or mapped to one RPC",
                r.name,
                r.method,
                r.pattern
            );
            if let Some(m) = method {
                assert!(
                    allowed_roles(m).is_some(),
                    "{} maps to {m}, which is not in METHOD_ROLES",
                    r.name
                );
            }
        }
        for (name, _) in CONSOLE_ACTIONS {
            assert!(
                ROUTES.iter().any(|r| r.name == *name),
                "{name} names no console route"
            );
        }
        for name in CONSOLE_PUBLIC {
            assert!(
                ROUTES.iter().any(|r| r.name == *name),
                "{name} names no console route"
            );
        }
    }
}
