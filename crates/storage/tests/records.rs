//! Stored formats: golden bytes per record version (a format change must be deliberate)
//! and encode/decode round trips of valid values.

mod support;

use proptest::prelude::*;

use clearinghouse_domain::{
    Area, AssistanceKind, FundingMode, Need, Offer, Party, SubArea, WeaponDomain,
};
use clearinghouse_storage::{Resource, records};
use support::fixtures::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn party_v1_golden_bytes() {
    let p = state("KEN");
    let bytes = p.encode().expect("encode");
    assert_eq!(bytes[0], records::V1);
    assert_eq!(hex(&bytes), GOLDEN_PARTY_V1);
    assert_eq!(Party::decode(&bytes).expect("decode"), p);
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn need_v1_golden_bytes_still_decode_without_requirements() {
    let n = need("01JNEED", &state("KEN"), "Control lists");
    let decoded = Need::decode(&unhex(GOLDEN_NEED_V1)).expect("decode V1");
    assert_eq!(decoded, n);
    assert!(decoded.fields.required_assistance_kinds.is_empty());
    assert!(decoded.fields.required_languages.is_empty());
}

#[test]
fn need_v2_golden_bytes() {
    let mut n = need("01JNEED", &state("KEN"), "Control lists");
    n.fields.languages = vec!["fr".into(), "en".into()];
    n.fields.required_languages = vec!["fr".into()];
    n.fields.required_assistance_kinds = vec![AssistanceKind::Training];
    let bytes = n.encode().expect("encode");
    assert_eq!(bytes[0], records::V2);
    assert_eq!(hex(&bytes), GOLDEN_NEED_V2);
    assert_eq!(Need::decode(&bytes).expect("decode"), n);
    // A V2 body is the V1 body followed by the two lists.
    let v1 = need("01JNEED", &state("KEN"), "Control lists");
    let mut v1_like = n.clone();
    v1_like.fields.required_languages.clear();
    v1_like.fields.required_assistance_kinds.clear();
    v1_like.fields.languages = v1.fields.languages;
    assert_eq!(
        &v1_like.encode().expect("encode")[1..],
        [&unhex(GOLDEN_NEED_V1)[1..], &[0u8, 0u8][..]]
            .concat()
            .as_slice()
    );
}

#[test]
fn offer_v1_golden_bytes() {
    let o = offer("01JOFFER", "state-FRA");
    let bytes = o.encode().expect("encode");
    assert_eq!(hex(&bytes), GOLDEN_OFFER_V1);
    assert_eq!(Offer::decode(&bytes).expect("decode"), o);
}

#[test]
fn settings_v1_golden_bytes_decode_to_the_additive_model() {
    use clearinghouse_domain::{CurrencyCode, MatchingSettings};
    let s = MatchingSettings::decode(&unhex(GOLDEN_SETTINGS_V1)).expect("decode V1");
    assert_eq!(
        s,
        MatchingSettings {
            version: 3,
            weights: [0.35, 0.2, 0.15, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0],
            gates: [0.0; 3],
            top_k: 20,
            exact_consortium_max: 16,
            base_currency: CurrencyCode::USD,
            rates: vec![(CurrencyCode::parse("EUR").expect("eur"), 108, 100)],
            updated_at: T0,
        }
    );
}

#[test]
fn settings_v2_golden_bytes() {
    use clearinghouse_domain::{CurrencyCode, MatchingSettings};
    let s = MatchingSettings {
        version: 4,
        weights: [0.24, 0.1, 0.07, 0.1, 0.08, 0.03, 0.12, 0.08, 0.18],
        gates: [0.6, 0.5, 0.6],
        top_k: 20,
        exact_consortium_max: 16,
        base_currency: CurrencyCode::USD,
        rates: vec![(CurrencyCode::parse("EUR").expect("eur"), 108, 100)],
        updated_at: T0,
    };
    let bytes = s.encode().expect("encode");
    assert_eq!(bytes[0], records::V2);
    assert_eq!(hex(&bytes), GOLDEN_SETTINGS_V2);
    assert_eq!(MatchingSettings::decode(&bytes).expect("decode"), s);
}

#[test]
fn match_v1_golden_bytes() {
    use clearinghouse_domain::{
        CurrencyCode, FundingMode, Match, Money, NeedId, OfferId, PartyId, PrincipalId,
        matches::{Acceptance, Contribution, ContributionRole, Origin, Proposal},
    };
    let m = Match::propose(
        Proposal {
            id: "01JMATCH".into(),
            need: NeedId("01JNEED".into()),
            requester: PartyId("state-KEN".into()),
            funding_mode: FundingMode::JointlyFunded,
            contributions: vec![Contribution {
                offer: OfferId("01JOFFER".into()),
                provider: PartyId("state-FRA".into()),
                role: ContributionRole::Funding,
                amount: Some(Money {
                    currency: CurrencyCode::USD,
                    minor_units: 400_000,
                }),
                in_kind: String::new(),
                acceptance: Acceptance::Pending,
                decline_reason: None,
            }],
            score_milli: 745,
            explanation: vec!["offer 01JOFFER (0.745)".into()],
            origin: Origin::Broker,
        },
        T0,
        PrincipalId("p-broker".into()),
    )
    .expect("valid match");
    let bytes = m.encode().expect("encode");
    assert_eq!(hex(&bytes), GOLDEN_MATCH_V1);
    assert_eq!(Match::decode(&bytes).expect("decode"), m);
}

#[test]
fn audit_v2_golden_bytes_and_chain_link() {
    use clearinghouse_domain::{AuditEntry, PrincipalId};
    use clearinghouse_storage::audit_chain;
    let mut entry = AuditEntry {
        sequence: 2,
        at: T0,
        actor: PrincipalId("p-broker".into()),
        action: "need.submit".into(),
        resource_kind: "need".into(),
        resource_id: "01JNEED".into(),
        before_version: 1,
        after_version: 2,
        chain: None,
    };
    let link = audit_chain::link(&entry, [0xab; 32]);
    entry.chain = Some(link);
    let bytes =
        records::encode(records::V2, &records::AuditRecordV2::new(&entry, link)).expect("encode");
    assert_eq!(bytes[0], records::V2);
    assert_eq!(hex(&bytes), GOLDEN_AUDIT_V2);
    assert_eq!(records::decode_audit(&bytes).expect("decode"), entry);
    // Version 1 entries still decode, without a link.
    let v1 = records::encode(records::V1, &records::AuditRecordV1::from(&entry)).expect("v1");
    let old = records::decode_audit(&v1).expect("decode v1");
    assert_eq!(old.chain, None);
    assert_eq!(
        AuditEntry {
            chain: None,
            ..entry
        },
        old
    );
}

fn proposal_decision() -> clearinghouse_storage::decision::Decision {
    use clearinghouse_domain::{NeedId, PrincipalId, Role};
    use clearinghouse_storage::decision::{Decision, DecisionEvent, Shown};
    Decision {
        id: "01JDECISION".into(),
        version: 1,
        at: T0,
        actor: PrincipalId("p-broker".into()),
        role: Role::Broker,
        need: NeedId("01JNEED".into()),
        event: DecisionEvent::Proposed {
            match_id: "01JMATCH".into(),
            offers: vec!["01JOFFER".into()],
            candidates: vec![Shown {
                offer: "01JOFFER".into(),
                rank: 1,
                score_milli: 745,
                factors: [1.0, 0.85, 0.6, 0.5, 1.0, 1.0, 0.7, 0.25, 0.5],
                shortfalls: [0.0, 0.0, 0.5],
            }],
            view: "01JVIEW".into(),
        },
    }
}

#[test]
fn decision_v1_golden_bytes() {
    use clearinghouse_domain::{MatchStatus, NeedId, PrincipalId, Role, matches::ReasonCode};
    use clearinghouse_storage::decision::{Answer, Decision, DecisionEvent};
    let d = proposal_decision();
    let bytes = d.encode().expect("encode");
    assert_eq!(bytes[0], records::V1);
    assert_eq!(hex(&bytes), GOLDEN_DECISION_PROPOSED_V1);
    assert_eq!(Decision::decode(&bytes).expect("decode"), d);
    let a = Decision {
        id: "01JANSWER".into(),
        version: 1,
        at: T0,
        actor: PrincipalId("p-provider".into()),
        role: Role::Provider,
        need: NeedId("01JNEED".into()),
        event: DecisionEvent::Answered {
            match_id: "01JMATCH".into(),
            answer: Answer::Decline,
            reason: Some((ReasonCode::NoCapacity, "budget spent".into())),
            status: MatchStatus::Declined,
        },
    };
    let bytes = a.encode().expect("encode");
    assert_eq!(hex(&bytes), GOLDEN_DECISION_ANSWERED_V1);
    assert_eq!(Decision::decode(&bytes).expect("decode"), a);
}

#[test]
fn the_largest_decision_stays_under_the_value_cap() {
    use clearinghouse_storage::decision::{DecisionEvent, MAX_PROPOSED, MAX_SHOWN, Shown};
    let mut d = proposal_decision();
    let shown = |i: usize, rank: u32| Shown {
        offer: format!("{i:026}"),
        rank,
        score_milli: 1000,
        factors: [0.123_456_789; 9],
        shortfalls: [0.987_654_321; 3],
    };
    d.event = DecisionEvent::Proposed {
        match_id: "0".repeat(26),
        offers: (0..MAX_PROPOSED * 2).map(|i| format!("{i:026}")).collect(),
        candidates: (0..MAX_SHOWN * 2)
            .map(|i| shown(i, u32::try_from(i + 1).expect("small")))
            .chain((0..MAX_PROPOSED * 2).map(|i| shown(i + 1000, 0)))
            .collect(),
        view: "0".repeat(26),
    };
    let d = d.bounded();
    let DecisionEvent::Proposed {
        offers, candidates, ..
    } = &d.event
    else {
        panic!("still a proposal");
    };
    assert_eq!(offers.len(), MAX_PROPOSED);
    assert_eq!(candidates.len(), MAX_SHOWN + MAX_PROPOSED);
    let bytes = d.encode().expect("encodes under the cap");
    // ARCHITECTURE.md and docs/matching.md say under 16 KB.
    assert!(bytes.len() < 16_000, "{} bytes", bytes.len());
}

const GOLDEN_AUDIT_V2: &str = "020280f8b2e5bd6808702d62726f6b65720b6e6565642e7375626d6974046e6565640730314a4e4545440102abababababababababababababababababababababababababababababababab54e33e25d652660854eeddbbd19c082b6173e1142fe33216a17a7b70dc1ed78a";
const GOLDEN_MATCH_V1: &str = "010830314a4d41544348010730314a4e4545440973746174652d4b454e0e4a4f494e544c595f46554e444544010830314a4f464645520973746174652d4652410746554e44494e47010355534480ea30000750454e44494e47000750454e44494e470850524f504f53454401000850524f504f53454480f8b2e5bd6808702d62726f6b657200e90501166f666665722030314a4f464645522028302e373435290642524f4b45520080f8b2e5bd6880f8b2e5bd6808702d62726f6b6572";
const GOLDEN_SETTINGS_V1: &str = "0103666666666666d63f9a9999999999c93f333333333333c33f333333333333c33f9a9999999999b93f9a9999999999a93f000000000000000014100355534401034555526c6480f8b2e5bd68";
const GOLDEN_SETTINGS_V2: &str = "0204b81e85eb51b8ce3f9a9999999999b93fec51b81e85ebb13f9a9999999999b93f7b14ae47e17ab43fb81e85eb51b89e3fb81e85eb51b8be3f7b14ae47e17ab43f0ad7a3703d0ac73f333333333333e33f000000000000e03f333333333333e33f14100355534401034555526c6480f8b2e5bd68";
const GOLDEN_PARTY_V1: &str = "010973746174652d4b454e01055354415445095374617465204b454e034b454e034b454e000080f8b2e5bd6880f8b2e5bd6806702d74657374";
const GOLDEN_NEED_V1: &str = "010730314a4e454544010973746174652d4b454e00034150490001cec4020d436f6e74726f6c206c697374732d547261696e696e67206f6620637573746f6d73206f66666963657273206f6e20636f6e74726f6c206c6973747301144558504f52545f5452414e53534849504d454e54020d434f4e54524f4c5f4c49535453104558504f52545f4c4943454e53494e47000108545241494e494e47064d454449554d01a6c50201feca02010355534480ade204020c53494e474c455f444f4e4f520e4a4f494e544c595f46554e444544010c53494e474c455f444f4e4f520102656e000000034b454e000750454e44494e470950524f5649444552530000000000054452414654010005445241465480f8b2e5bd6806702d746573740000a8ca020080f8b2e5bd6880f8b2e5bd6806702d7465737406702d74657374";
const GOLDEN_NEED_V2: &str = "020730314a4e454544010973746174652d4b454e00034150490001cec4020d436f6e74726f6c206c697374732d547261696e696e67206f6620637573746f6d73206f66666963657273206f6e20636f6e74726f6c206c6973747301144558504f52545f5452414e53534849504d454e54020d434f4e54524f4c5f4c49535453104558504f52545f4c4943454e53494e47000108545241494e494e47064d454449554d01a6c50201feca02010355534480ade204020c53494e474c455f444f4e4f520e4a4f494e544c595f46554e444544010c53494e474c455f444f4e4f520202667202656e000000034b454e000750454e44494e470950524f5649444552530000000000054452414654010005445241465480f8b2e5bd6806702d746573740000a8ca020080f8b2e5bd6880f8b2e5bd6806702d7465737406702d746573740108545241494e494e4701026672";
const GOLDEN_OFFER_V1: &str = "010830314a4f46464552010973746174652d4652410000174578706f727420636f6e74726f6c206f7574726561636816576f726b73686f7073206f6e206c6963656e73696e670000000001144558504f52545f5452414e53534849504d454e5400000108545241494e494e4700010641667269636100010350455200010c53494e474c455f444f4e4f520000000000000a494e44494341544956450000000000054452414654010005445241465480f8b2e5bd6806702d746573740080f8b2e5bd6880f8b2e5bd6806702d7465737406702d74657374";

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = Vec<T>> {
    proptest::sample::subsequence(all.to_vec(), 1..=all.len().min(4))
}

proptest! {
    /// Any valid need survives encode/decode unchanged.
    #[test]
    fn valid_needs_round_trip(
        title in "[A-Za-z][A-Za-z0-9 éü—]{0,59}",
        area_i in 0usize..7,
        kinds in pick(AssistanceKind::ALL),
        modes in pick(FundingMode::ALL),
        domains in proptest::sample::subsequence(WeaponDomain::ALL.to_vec(), 0..=4),
        budget in proptest::option::of(0i64..i64::MAX),
        iso in proptest::sample::select(vec!["KEN", "PER", "FRA", "JAM", "FSM"]),
    ) {
        let area = Area::ALL[area_i];
        let mut f = need_fields(&title);
        f.area = Some(area);
        f.sub_areas = area.sub_areas().take(2).collect::<Vec<SubArea>>();
        f.required_assistance_kinds = kinds.iter().copied().step_by(2).collect();
        f.assistance_kinds = kinds;
        f.required_languages = f.languages.clone();
        f.accepted_funding_modes = modes;
        f.weapon_domains = domains;
        f.estimated_budget = budget.map(|b| clearinghouse_domain::Money {
            currency: clearinghouse_domain::CurrencyCode::parse("EUR").expect("eur"),
            minor_units: b,
        });
        let n = Need::new(
            clearinghouse_domain::need::NeedContext {
                id: clearinghouse_domain::NeedId("01X".into()),
                requester: &state(iso),
                now: T0,
                actor: actor(),
            },
            f,
        ).expect("valid");
        let back = Need::decode(&n.encode().expect("encode")).expect("decode");
        prop_assert_eq!(back, n);
    }
}
const GOLDEN_DECISION_PROPOSED_V1: &str = "010b30314a4445434953494f4e80f8b2e5bd6808702d62726f6b65720642524f4b45520730314a4e4545440850524f504f5345440830314a4d41544348010830314a4f46464552010830314a4f4646455201e905000000000000f03f333333333333eb3f333333333333e33f000000000000e03f000000000000f03f000000000000f03f666666666666e63f000000000000d03f000000000000e03f00000000000000000000000000000000000000000000e03f0730314a56494557000000";
const GOLDEN_DECISION_ANSWERED_V1: &str = "010930314a414e5357455280f8b2e5bd680a702d70726f76696465720850524f56494445520730314a4e45454408414e5357455245440830314a4d41544348000000074445434c494e45010b4e4f5f43415041434954590c627564676574207370656e74084445434c494e4544";
