//! Needs and offers decoded without their text (`summary`): every field but the text,
//! contacts, history, feedback, creator and last changer equals the whole decoding, for
//! both need formats, the offer format, and records with every list and option filled
//! (which also round trip whole through the stored formats).

mod support;

use clearinghouse_domain::{
    AssistanceKind, BudgetStatus, CurrencyCode, Date, GpSubWorkingGroup, Money, Need, NeedFeedback,
    NeedStatus, Offer, PartyId, PrincipalId, StatusChange, Timestamp, WeaponDomain, need::Contact,
};
use clearinghouse_storage::{ListQuery, Resource, Store, StoreOptions, records, summary, written};
use support::fixtures::*;

/// The need as the summary decoding should give it.
fn without_text(mut n: Need) -> Need {
    let f = &mut n.fields;
    f.external_id.clear();
    f.note_verbale_reference.clear();
    f.title.clear();
    f.description.clear();
    f.national_action_plan_ref.clear();
    f.iaea_plan_ref.clear();
    f.assistance_received.clear();
    f.public_summary.clear();
    f.contact = Contact::default();
    n.history.clear();
    n.feedback.clear();
    n.created_by = PrincipalId(String::new());
    n.updated_by = PrincipalId(String::new());
    n
}

fn offer_without_text(mut o: Offer) -> Offer {
    let f = &mut o.fields;
    f.external_id.clear();
    f.programme_name.clear();
    f.description.clear();
    f.eligibility_notes.clear();
    f.implementing_parties.clear();
    f.contact = Contact::default();
    o.history.clear();
    o.created_by = PrincipalId(String::new());
    o.updated_by = PrincipalId(String::new());
    o
}

fn contact() -> Contact {
    Contact {
        name: "Desk officer".into(),
        email: "desk@example.org".into(),
        phone: "+254 20 000".into(),
        organization: "Ministry".into(),
    }
}

/// A need with every field the summary keeps or drops filled.
fn full_need() -> Need {
    let mut n = need("01JNEED", &state("KEN"), "Control lists");
    let f = &mut n.fields;
    f.external_id = "KEN-2026-4".into();
    f.note_verbale_reference = "NV/17".into();
    f.request_date = Date::parse("2026-10-01").ok();
    f.weapon_domains = vec![WeaponDomain::Nuclear, WeaponDomain::Chemical];
    f.assistance_kinds = vec![AssistanceKind::Training, AssistanceKind::Equipment];
    f.required_assistance_kinds = vec![AssistanceKind::Training];
    f.preferred_funding_mode = f.accepted_funding_modes.first().copied();
    f.languages = vec!["en".into(), "fr".into()];
    f.required_languages = vec!["fr".into()];
    f.national_action_plan_ref = "NAP 4".into();
    f.iaea_plan_ref = "INSSP 2".into();
    f.assistance_received = "A workshop".into();
    f.beneficiary_countries = vec!["UGA".into(), "TZA".into()];
    f.public_summary = "Summary".into();
    f.contact = contact();
    n.status = NeedStatus::Circulated;
    n.history.push(StatusChange {
        from: Some("DRAFT".into()),
        to: "SUBMITTED".into(),
        at: Timestamp(T0.0 + 1),
        actor: actor(),
        reason: "sent".into(),
    });
    n.consent_window_ends = Date::parse("2026-12-01").ok();
    n.feedback.push(NeedFeedback {
        text: "Useful".into(),
        at: Timestamp(T0.0 + 2),
        author: actor(),
    });
    n
}

fn full_offer() -> Offer {
    let mut o = offer("01JOFFER", "state-FRA");
    let f = &mut o.fields;
    f.external_id = "FRA-9".into();
    f.implementing_parties = vec![PartyId("org-A".into()), PartyId("org-B".into())];
    f.contact = contact();
    f.weapon_domains = vec![WeaponDomain::Biological];
    f.scope.subregions = vec!["Eastern Africa".into()];
    f.scope.excluded_countries = vec!["SOM".into()];
    f.languages = vec!["fr".into(), "en".into()];
    f.eligibility_notes = "Every State".into();
    let usd = CurrencyCode::parse("USD").expect("usd");
    f.budget_ceiling = Some(Money {
        currency: usd,
        minor_units: 9_000_000,
    });
    f.max_contribution = Some(Money {
        currency: usd,
        minor_units: 3_000_000,
    });
    f.min_contribution = Some(Money {
        currency: usd,
        minor_units: 100_000,
    });
    f.max_engagements = 4;
    f.budget_status = BudgetStatus::Committed;
    f.valid_from = Date::parse("2026-01-01").ok();
    f.valid_until = Date::parse("2028-01-01").ok();
    f.lead_time_days = 30;
    f.gp_sub_working_group = GpSubWorkingGroup::ALL.first().copied();
    o.committed_minor_units = 1_000_000;
    o.history.push(StatusChange {
        from: None,
        to: "DRAFT".into(),
        at: T0,
        actor: actor(),
        reason: String::new(),
    });
    o
}

#[test]
fn a_need_summary_is_the_need_without_its_text_in_both_formats() {
    let n = full_need();
    let v2 = n.encode().expect("encode");
    assert_eq!(v2[0], records::V2);
    assert_eq!(
        Need::decode(&v2).expect("decode"),
        n,
        "every field round trips"
    );
    assert_eq!(
        summary::decode_need(&v2).expect("summary"),
        without_text(Need::decode(&v2).expect("decode"))
    );
    let mut v1_need = n.clone();
    v1_need.fields.required_assistance_kinds.clear();
    v1_need.fields.required_languages.clear();
    let v1 = written::need_v1(&v1_need).expect("v1");
    assert_eq!(Need::decode(&v1).expect("decode"), v1_need);
    assert_eq!(
        summary::decode_need(&v1).expect("summary"),
        without_text(Need::decode(&v1).expect("decode"))
    );
    assert_eq!(summary::decode_need(&v2).expect("summary"), without_text(n));
}

#[test]
fn an_offer_summary_is_the_offer_without_its_text() {
    let o = full_offer();
    let bytes = o.encode().expect("encode");
    assert_eq!(
        Offer::decode(&bytes).expect("decode"),
        o,
        "every field round trips"
    );
    assert_eq!(
        summary::decode_offer(&bytes).expect("summary"),
        offer_without_text(o)
    );
}

#[test]
fn damaged_or_unknown_values_are_refused_not_misread() {
    let bytes = full_need().encode().expect("encode");
    for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(summary::decode_need(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut unknown = bytes.clone();
    unknown[0] = 9;
    assert!(summary::decode_need(&unknown).is_err());
    let offer = full_offer().encode().expect("encode");
    assert!(summary::decode_offer(&offer[..offer.len() / 2]).is_err());
}

#[test]
fn listing_summaries_pages_like_listing_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        &StoreOptions {
            cache_capacity_bytes: 16 << 20,
            sync_fault: None,
        },
    )
    .expect("store");
    let meta = clearinghouse_storage::WriteMeta {
        actor: actor(),
        action: "need.create".into(),
        now: T0,
        idempotency: None,
    };
    for i in 0..25 {
        let mut n = full_need();
        n.id = clearinghouse_domain::NeedId(format!("N{i:02}"));
        n.fields.external_id = format!("ext-{i}");
        store.create(n, &meta).expect("create");
    }
    let q = |after| ListQuery {
        index: None,
        after,
        limit: 10,
        max_scan: 10,
    };
    let (mut whole, mut summaries) = (Vec::new(), Vec::new());
    let mut after = None;
    loop {
        let page = store.list::<Need>(&q(after), &|_| true).expect("list");
        let same = store
            .list_summaries::<Need>(&q(after), &|_| true)
            .expect("summaries");
        assert_eq!(page.next, same.next);
        whole.extend(page.items);
        summaries.extend(same.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(whole.len(), 25);
    let expected: Vec<Need> = whole.into_iter().map(without_text).collect();
    assert_eq!(summaries, expected);
}
