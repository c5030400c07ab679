//! Target `request`: arbitrary bytes decoded as every request message of the public API;
//! each message that decodes is re-encoded (the encoding must be stable) and then goes
//! through the same conversion and validation a handler runs before it calls the use
//! case: `clearinghouse::convert` (wire to domain, every bad field recorded), page tokens
//! (`api::paging`), enum filters, etags, reasons, idempotency keys, the domain
//! constructors (`Need::new`, `Offer::new`, `Party::new`, `NewPrincipal::validate`),
//! masked updates of existing records, matching policies and exchange rates. Every error
//! is turned into the gRPC status the client would get.
//!
//! The property: no panic, and a page token issued for a filter is accepted back.

use clearinghouse::{
    api::{self, paging},
    app::needs::check_geo_filter,
    convert::{self, enums, matches as mconv},
    error::ApiError,
    pb,
};
use clearinghouse_domain::{
    self as d, Need, NeedField, Offer, OfferField, Party, PartyField, PartyFields, PartyId,
    PrincipalId, Timestamp, ValidationError, Violations, need::NeedContext, offer::OfferContext,
    principal::NewPrincipal,
};
use clearinghouse_matching::Rate;
use prost::Message;

/// A fixed instant (2026-11-15) so runs are reproducible.
const NOW: Timestamp = Timestamp(1_794_700_000_000);

fn status<T>(r: Result<T, ApiError>) {
    if let Err(e) = r {
        let _ = e.into_status();
    }
}

fn invalid<T>(r: Result<T, ValidationError>) {
    status(r.map_err(ApiError::Invalid));
}

/// Edge problems merged with the constructor's, as a handler reports them.
fn rejected(problems: Option<ValidationError>) {
    if let Some(e) = problems {
        let _ = ApiError::Invalid(e).into_status();
    }
}

fn principal(role: d::Role, party: Option<&str>) -> d::Principal {
    d::Principal {
        id: PrincipalId("01JFUZZPRINCIPAL0000000000".to_owned()),
        version: 1,
        display_name: "fuzz".to_owned(),
        role,
        party: party.map(|p| PartyId(p.to_owned())),
        key_hash: [0; 32],
        expires_at: None,
        revoked_at: None,
        created_at: NOW,
        created_by: PrincipalId::system(),
    }
}

fn state(iso3: &str) -> Option<Party> {
    Party::new(
        PartyId(String::new()),
        PartyFields {
            kind: Some(d::PartyKind::State),
            display_name: iso3.to_owned(),
            short_name: iso3.to_owned(),
            country_code: iso3.to_owned(),
            external_id: String::new(),
            description: String::new(),
        },
        NOW,
        PrincipalId::system(),
    )
    .ok()
}

fn organization() -> Option<Party> {
    Party::new(
        PartyId("org-au".to_owned()),
        PartyFields {
            kind: Some(d::PartyKind::RegionalOrganization),
            display_name: "African Union".to_owned(),
            short_name: "AU".to_owned(),
            country_code: "ETH".to_owned(),
            external_id: String::new(),
            description: String::new(),
        },
        NOW,
        PrincipalId::system(),
    )
    .ok()
}

/// Re-encoding a decoded message and decoding it again gives the same encoding.
fn stable<M: Message + Default>(m: &M) {
    let bytes = m.encode_to_vec();
    let again = M::decode(bytes.as_slice());
    assert!(again.is_ok(), "a re-encoded message no longer decodes");
    if let Ok(again) = again {
        assert_eq!(again.encode_to_vec(), bytes, "re-encoding is not stable");
    }
}

/// Page size and token of a list request, then the token the server would issue for the
/// same filter must be accepted back with its cursor.
fn paged<M: Message + Clone>(method: &str, filter: &M, size: i32, token: &str) {
    let key = clearinghouse::app::tokens::TokenKey::from_bytes(&[7; 32]);
    match paging::page_in(&key, method, filter, size, token) {
        Ok((page, fp)) => {
            assert!(page.size >= 1, "a page holds at least one item");
            let cursor = page.after.unwrap_or(0).wrapping_add(1);
            let next = paging::token_out(&key, &fp, Some(cursor));
            let back = paging::page_in(&key, method, filter, size, &next);
            assert!(
                matches!(back, Ok((ref p, _)) if p.after == Some(cursor)),
                "a token issued for a filter is refused with the same filter: {next}"
            );
        }
        Err(e) => {
            let _ = e.into_status();
        }
    }
}

fn need_checks(n: &pb::Need, request_id: &str) {
    let who = principal(d::Role::Requester, Some("state-KEN"));
    status(api::idempotency(&who, request_id, n));
    for party in [state("KEN"), organization()].into_iter().flatten() {
        let mut v = Violations::new("need");
        let fields = convert::need::fields_in(&mut v, n);
        let built = Need::new(
            NeedContext {
                id: d::NeedId("N1".to_owned()),
                requester: &party,
                now: NOW,
                actor: who.id.clone(),
            },
            fields,
        );
        let problems = match built {
            Ok(need) => {
                let _ = convert::need::out(&need);
                v.merge(None)
            }
            Err(e) => v.merge(Some(e)),
        };
        rejected(problems);
    }
}

/// A valid need in `status`, for masked updates.
fn base_need(status: d::NeedStatus) -> Option<(Party, Need)> {
    let party = state("KEN")?;
    let mut need = Need::new(
        NeedContext {
            id: d::NeedId("N0".to_owned()),
            requester: &party,
            now: NOW,
            actor: PrincipalId::system(),
        },
        d::NeedFields {
            title: "Control lists".to_owned(),
            description: "Training for licensing officers".to_owned(),
            area: Some(d::Area::ExportTransshipment),
            sub_areas: vec![d::SubArea::ControlLists],
            assistance_kinds: vec![d::AssistanceKind::Training],
            accepted_funding_modes: vec![d::FundingMode::SingleDonor],
            ..d::NeedFields::default()
        },
    )
    .ok()?;
    need.status = status;
    Some((party, need))
}

fn update_need(r: &pb::UpdateNeedRequest) {
    let n = r.need.clone().unwrap_or_default();
    status(convert::etag_in("need.etag", &n.etag));
    let mut v = Violations::new("need");
    let src = convert::need::fields_in(&mut v, &n);
    let paths = r
        .update_mask
        .as_ref()
        .map(|m| m.paths.clone())
        .unwrap_or_default();
    let mask: Vec<NeedField> = paths.iter().filter_map(|p| NeedField::parse(p)).collect();
    for st in [d::NeedStatus::Draft, d::NeedStatus::Circulated] {
        if let Some((party, base)) = base_need(st)
            && let Err(e) = base.updated(&party, &src, &mask, NOW, &PrincipalId::system())
        {
            status::<()>(Err(ApiError::from(e)));
        }
    }
}

fn offer_checks(o: &pb::Offer, request_id: &str) {
    let who = principal(d::Role::Provider, Some("state-FRA"));
    status(api::idempotency(&who, request_id, o));
    let mut v = Violations::new("offer");
    let fields = convert::offer::fields_in(&mut v, o);
    let built = Offer::new(
        OfferContext {
            id: d::OfferId("O1".to_owned()),
            provider: PartyId("state-FRA".to_owned()),
            now: NOW,
            actor: who.id,
        },
        fields,
    );
    let problems = match built {
        Ok(offer) => {
            let _ = convert::offer::out(&offer);
            v.merge(None)
        }
        Err(e) => v.merge(Some(e)),
    };
    rejected(problems);
}

fn base_offer(status: d::OfferStatus) -> Option<Offer> {
    let mut o = Offer::new(
        OfferContext {
            id: d::OfferId("O0".to_owned()),
            provider: PartyId("state-FRA".to_owned()),
            now: NOW,
            actor: PrincipalId::system(),
        },
        d::OfferFields {
            programme_name: "Outreach".to_owned(),
            description: "Export control outreach".to_owned(),
            areas: vec![d::Area::ExportTransshipment],
            assistance_kinds: vec![d::AssistanceKind::Training],
            funding_modes: vec![d::FundingMode::SingleDonor],
            ..d::OfferFields::default()
        },
    )
    .ok()?;
    o.status = status;
    Some(o)
}

fn update_offer(r: &pb::UpdateOfferRequest) {
    let o = r.offer.clone().unwrap_or_default();
    status(convert::etag_in("offer.etag", &o.etag));
    let mut v = Violations::new("offer");
    let src = convert::offer::fields_in(&mut v, &o);
    let paths = r
        .update_mask
        .as_ref()
        .map(|m| m.paths.clone())
        .unwrap_or_default();
    let mask: Vec<OfferField> = paths.iter().filter_map(|p| OfferField::parse(p)).collect();
    for st in [d::OfferStatus::Draft, d::OfferStatus::Active] {
        if let Some(base) = base_offer(st)
            && let Err(e) = base.updated(&src, &mask, NOW, &PrincipalId::system())
        {
            status::<()>(Err(ApiError::from(e)));
        }
    }
}

fn party_checks(p: &pb::Party) {
    let mut v = Violations::new("party");
    let fields = convert::party::fields_in(&mut v, p);
    let built = Party::new(PartyId("P1".to_owned()), fields, NOW, PrincipalId::system());
    let problems = match built {
        Ok(party) => {
            let _ = convert::party::out(&party);
            v.merge(None)
        }
        Err(e) => v.merge(Some(e)),
    };
    rejected(problems);
}

fn update_party(r: &pb::UpdatePartyRequest) {
    let p = r.party.clone().unwrap_or_default();
    status(convert::etag_in("party.etag", &p.etag));
    let mut v = Violations::new("party");
    let src = convert::party::fields_in(&mut v, &p);
    let paths = r
        .update_mask
        .as_ref()
        .map(|m| m.paths.clone())
        .unwrap_or_default();
    let mask: Vec<PartyField> = paths.iter().filter_map(|x| PartyField::parse(x)).collect();
    for base in [state("KEN"), organization()].into_iter().flatten() {
        invalid(base.updated(&src, &mask, NOW));
    }
}

fn principal_checks(p: &pb::Principal) {
    let mut v = Violations::new("principal");
    let role = enums::ROLE.optional(&mut v, "role", p.role);
    invalid(v.into_result());
    let input = NewPrincipal {
        display_name: p.display_name.clone(),
        role,
        party: api::non_empty(&p.party_id).map(PartyId),
        expires_at: p.expire_time.as_ref().map(convert::ts_in),
    };
    invalid(input.validate(NOW));
}

fn policy_checks(p: &pb::MatchingPolicy) {
    status(convert::etag_in("policy.etag", &p.etag));
    let policy = convert::policy::policy_in(p);
    invalid(policy.validate());
}

fn rates_checks(r: &pb::SetExchangeRatesRequest) {
    let _ = d::CurrencyCode::parse(&r.base_currency_code);
    for x in &r.rates {
        let _ = d::CurrencyCode::parse(&x.currency_code);
        if let Some(rate) = Rate::parse(&x.rate) {
            assert!(
                rate.num > 0 && rate.den > 0,
                "a parsed rate is positive: {}",
                x.rate
            );
        }
    }
}

fn reason(code: i32, text: &str, etag: &str) {
    status(convert::etag_in("etag", etag));
    status(mconv::reason_in(code, text));
}

fn geo(country: &str, region: &str, subregion: &str) {
    status(check_geo_filter(country, region, subregion));
}

/// Decodes `data` as `M`; on success checks the encoding is stable and runs `check`.
fn each<M: Message + Default>(data: &[u8], check: impl FnOnce(&M)) {
    if let Ok(m) = M::decode(data) {
        stable(&m);
        check(&m);
    }
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    each::<pb::CreateNeedRequest>(data, |r| {
        need_checks(&r.need.clone().unwrap_or_default(), &r.request_id);
    });
    each::<pb::UpdateNeedRequest>(data, update_need);
    each::<pb::ListNeedsRequest>(data, |r| {
        let filter = pb::ListNeedsRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        paged("ListNeeds", &filter, r.page_size, &r.page_token);
        geo(&r.country_code, &r.region, &r.subregion);
        status(enums::NEED_STATUS.filter("status", r.status));
        status(enums::AREA.filter("area", r.area));
        status(enums::SUB_AREA.filter("sub_area", r.sub_area));
        status(enums::FUNDING_MODE.filter("funding_mode", r.funding_mode));
        let _ = r.updated_since.as_ref().map(convert::ts_in);
    });
    each::<pb::RejectNeedRequest>(data, |r| {
        status(convert::etag_in("etag", &r.etag));
        let mut v = Violations::new("");
        v.text("reason", &r.reason, true, 2000);
        invalid(v.into_result());
    });
    each::<pb::AddNeedFeedbackRequest>(data, |r| {
        status(convert::etag_in("etag", &r.etag));
        let mut v = Violations::new("");
        v.text("text", &r.text, true, 4000);
        invalid(v.into_result());
    });
    each::<pb::CreateOfferRequest>(data, |r| {
        offer_checks(&r.offer.clone().unwrap_or_default(), &r.request_id);
    });
    each::<pb::UpdateOfferRequest>(data, update_offer);
    each::<pb::ListOffersRequest>(data, |r| {
        let filter = pb::ListOffersRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        paged("ListOffers", &filter, r.page_size, &r.page_token);
        geo(&r.country_code, &r.region, "");
        status(enums::OFFER_STATUS.filter("status", r.status));
        status(enums::AREA.filter("area", r.area));
        status(enums::SUB_AREA.filter("sub_area", r.sub_area));
        status(enums::FUNDING_MODE.filter("funding_mode", r.funding_mode));
    });
    each::<pb::WithdrawOfferRequest>(data, |r| status(convert::etag_in("etag", &r.etag)));
    each::<pb::CreatePartyRequest>(data, |r| {
        party_checks(&r.party.clone().unwrap_or_default());
    });
    each::<pb::UpdatePartyRequest>(data, update_party);
    each::<pb::ListPartiesRequest>(data, |r| {
        let filter = pb::ListPartiesRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        paged("ListParties", &filter, r.page_size, &r.page_token);
        geo(&r.country_code, &r.region, "");
        status(enums::PARTY_KIND.filter("kind", r.kind));
    });
    each::<pb::CreatePrincipalRequest>(data, |r| {
        principal_checks(&r.principal.clone().unwrap_or_default());
    });
    each::<pb::ListPrincipalsRequest>(data, |r| {
        let filter = pb::ListPrincipalsRequest {
            page_size: 0,
            page_token: String::new(),
        };
        paged("ListPrincipals", &filter, r.page_size, &r.page_token);
    });
    each::<pb::ListAuditEntriesRequest>(data, |r| {
        let filter = pb::ListAuditEntriesRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        paged("ListAuditEntries", &filter, r.page_size, &r.page_token);
    });
    each::<pb::UpdateMatchingPolicyRequest>(data, |r| {
        policy_checks(&r.policy.clone().unwrap_or_default());
    });
    each::<pb::SetExchangeRatesRequest>(data, rates_checks);
    each::<pb::CreateMatchRequest>(data, |r| {
        let who = principal(d::Role::Broker, None);
        status(api::idempotency(&who, &r.request_id, r));
        let mut v = Violations::new("");
        let _ = enums::FUNDING_MODE.optional(&mut v, "funding_mode", r.funding_mode);
        let _ = mconv::contributions_in(&mut v, &r.contributions);
        invalid(v.into_result());
    });
    each::<pb::ListMatchesRequest>(data, |r| {
        let filter = pb::ListMatchesRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        paged("ListMatches", &filter, r.page_size, &r.page_token);
        status(enums::MATCH_STATUS.filter("status", r.status));
    });
    each::<pb::FindOffersForNeedRequest>(data, |r| {
        let filter = pb::FindOffersForNeedRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        paged("FindOffersForNeed", &filter, r.page_size, &r.page_token);
    });
    each::<pb::DeclineMatchRequest>(data, |r| reason(r.reason_code, &r.reason_text, &r.etag));
    each::<pb::WithdrawMatchRequest>(data, |r| reason(r.reason_code, &r.reason_text, &r.etag));
    each::<pb::CancelMatchRequest>(data, |r| reason(r.reason_code, &r.reason_text, &r.etag));
    each::<pb::SuspendMatchRequest>(data, |r| {
        status(convert::etag_in("etag", &r.etag));
        let mut v = Violations::new("");
        v.text("reason_text", &r.reason_text, false, 2000);
        invalid(v.into_result());
    });
    each::<pb::PlanAllocationRequest>(data, |r| {
        geo("", &r.region, "");
        status(enums::AREA.filter("area", r.area));
        status(enums::GP_GROUP.filter("gp_sub_working_group", r.gp_sub_working_group));
    });
    each::<pb::WatchMatchesRequest>(data, |_| {});
}
