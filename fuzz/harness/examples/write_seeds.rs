//! Writes the starting inputs of each fuzz target into `fuzz/corpus/<target>/` (or the
//! directory given as the first argument): valid encoded requests, valid stored records of
//! every kind, and seeded random bytes for the matching target. Names are content hashes,
//! so running it again adds nothing new.
//!
//! Run: `cargo run -p clearinghouse-fuzz --example write_seeds`.

use std::path::{Path, PathBuf};

use clearinghouse::pb;
use clearinghouse_domain::{
    self as d, AuditEntry, CurrencyCode, FundingMode, MatchingSettings, Money, PrincipalId,
    Timestamp,
    matches::{Acceptance, Contribution, ContributionRole, Origin, Proposal},
};
use clearinghouse_matching::synth::{self, Shape};
use clearinghouse_storage::{
    Resource,
    records::{self, AuditRecordV1, IdempotencyRecordV1, V1},
};
use prost::Message;

const T0: Timestamp = Timestamp(1_795_000_000_000);

/// FNV-1a, 64 bits: a stable name for the content.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn write(dir: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("seed-{:016x}", fnv(data))), data)
}

fn requests() -> Vec<Vec<u8>> {
    let need = pb::Need {
        title: "Training for licensing officers".into(),
        description: "Control lists and licensing procedures".into(),
        area: pb::ThematicArea::ExportTransshipment as i32,
        sub_areas: vec![pb::SubArea::ControlLists as i32],
        assistance_kinds: vec![pb::AssistanceKind::Training as i32],
        accepted_funding_modes: vec![pb::FundingMode::SingleDonor as i32],
        estimated_budget: Some(pb::Money {
            currency_code: "USD".into(),
            minor_units: 25_000_000,
        }),
        wanted_from: "2027-01-01".into(),
        needed_by: "2027-12-31".into(),
        languages: vec!["en".into()],
        ..Default::default()
    };
    let offer = pb::Offer {
        programme_name: "Outreach".into(),
        description: "Export control outreach".into(),
        areas: vec![pb::ThematicArea::ExportTransshipment as i32],
        assistance_kinds: vec![pb::AssistanceKind::Training as i32],
        scope: Some(pb::GeoScope {
            regions: vec!["Africa".into()],
            ..Default::default()
        }),
        funding_modes: vec![pb::FundingMode::SingleDonor as i32],
        valid_until: "2030-12-31".into(),
        ..Default::default()
    };
    let mask = |p: &[&str]| prost_types_mask(p);
    vec![
        pb::CreateNeedRequest {
            need: Some(need.clone()),
            request_id: "123e4567-e89b-12d3-a456-426614174000".into(),
        }
        .encode_to_vec(),
        pb::UpdateNeedRequest {
            need: Some(pb::Need {
                id: "N0".into(),
                etag: "1".into(),
                ..need
            }),
            update_mask: Some(mask(&["title", "sub_areas"])),
        }
        .encode_to_vec(),
        pb::ListNeedsRequest {
            page_size: 50,
            page_token: "0011223344556677.42".into(),
            country_code: "KEN".into(),
            region: "Africa".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        pb::CreateOfferRequest {
            offer: Some(offer.clone()),
            request_id: String::new(),
        }
        .encode_to_vec(),
        pb::UpdateOfferRequest {
            offer: Some(pb::Offer {
                id: "O0".into(),
                etag: "2".into(),
                ..offer
            }),
            update_mask: Some(mask(&["programme_name", "scope"])),
        }
        .encode_to_vec(),
        pb::CreatePartyRequest {
            party: Some(pb::Party {
                kind: pb::PartyKind::NgoAcademic as i32,
                display_name: "Institute".into(),
                short_name: "INST".into(),
                country_code: "CHE".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }
        .encode_to_vec(),
        pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: "Mission of Kenya".into(),
                role: pb::Role::Requester as i32,
                party_id: "state-KEN".into(),
                ..Default::default()
            }),
            request_id: "0e7c5a1b-9d2f-4e3a-b6c8-1f2e3d4c5b6a".into(),
        }
        .encode_to_vec(),
        pb::CreateMatchRequest {
            need_id: "N0".into(),
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![pb::Contribution {
                offer_id: "O0".into(),
                amount: Some(pb::Money {
                    currency_code: "EUR".into(),
                    minor_units: 1_000_000,
                }),
                ..Default::default()
            }],
            request_id: String::new(),
        }
        .encode_to_vec(),
        pb::UpdateMatchingPolicyRequest {
            policy: Some(pb::MatchingPolicy {
                thematic_weight: 0.35,
                geography_weight: 0.2,
                funding_weight: 0.15,
                budget_weight: 0.15,
                assistance_weight: 0.1,
                timing_weight: 0.05,
                language_weight: 0.0,
                domain_weight: 0.0,
                specificity_weight: 0.0,
                missing_kinds_penalty: 0.6,
                no_common_language_penalty: 0.5,
                single_donor_shortfall_penalty: 0.4,
                top_k: 20,
                exact_consortium_max: 16,
                etag: "1".into(),
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["language_weight".into()],
            }),
        }
        .encode_to_vec(),
        pb::SetExchangeRatesRequest {
            base_currency_code: "USD".into(),
            rates: vec![pb::ExchangeRate {
                currency_code: "EUR".into(),
                rate: "1.08".into(),
            }],
            etag: "2".into(),
        }
        .encode_to_vec(),
        pb::DeclineMatchRequest {
            id: "M0".into(),
            etag: "3".into(),
            reason_code: pb::ReasonCode::Other as i32,
            reason_text: "no capacity this year".into(),
        }
        .encode_to_vec(),
    ]
}

fn prost_types_mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn stored() -> Vec<Vec<u8>> {
    let data = synth::generate(
        9,
        Shape {
            needs: 2,
            offers: 2,
            planted_pct: 50,
        },
    );
    let usd = CurrencyCode::parse("USD");
    let mut out = Vec::new();
    for n in &data.needs {
        out.extend(n.encode().ok());
    }
    for o in &data.offers {
        out.extend(o.encode().ok());
    }
    if let Some(usd) = usd {
        let settings = MatchingSettings {
            version: 3,
            weights: [0.35, 0.2, 0.15, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0],
            gates: [0.6, 0.5, 0.4],
            top_k: 20,
            exact_consortium_max: 16,
            base_currency: usd,
            rates: vec![(usd, 1, 1)],
            updated_at: T0,
        };
        out.extend(settings.encode().ok());
        let m = d::Match::propose(
            Proposal {
                id: "01JMATCH".into(),
                need: d::NeedId("01JNEED".into()),
                requester: d::PartyId("state-KEN".into()),
                funding_mode: FundingMode::JointlyFunded,
                contributions: vec![Contribution {
                    offer: d::OfferId("01JOFFER".into()),
                    provider: d::PartyId("state-FRA".into()),
                    role: ContributionRole::Funding,
                    amount: Some(Money {
                        currency: usd,
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
        );
        if let Ok(m) = m {
            out.extend(m.encode().ok());
        }
    }
    let principal = d::Principal {
        id: PrincipalId("01JPRINCIPAL".into()),
        version: 1,
        display_name: "Mission of Kenya".into(),
        role: d::Role::Requester,
        party: Some(d::PartyId("state-KEN".into())),
        key_hash: [7; 32],
        expires_at: Some(T0),
        revoked_at: None,
        created_at: T0,
        created_by: PrincipalId::system(),
    };
    out.extend(principal.encode().ok());
    let entry = AuditEntry {
        sequence: 42,
        at: T0,
        actor: PrincipalId("01JPRINCIPAL".into()),
        action: "need.submit".into(),
        resource_kind: "need".into(),
        resource_id: "01JNEED".into(),
        before_version: 1,
        after_version: 2,
        chain: None,
    };
    out.extend(records::encode(V1, &AuditRecordV1::from(&entry)).ok());
    let idem = IdempotencyRecordV1 {
        payload_hash: [9; 32],
        kind: "need".into(),
        id: "01JNEED".into(),
    };
    out.extend(records::encode(V1, &idem).ok());
    out
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn main() -> std::io::Result<()> {
    let root = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus"),
        PathBuf::from,
    );
    for r in requests() {
        write(&root.join("request"), &r)?;
    }
    for s in stored() {
        write(&root.join("stored_value"), &s)?;
    }
    for (seed, len) in [
        (1, 256),
        (2, 512),
        (3, 1024),
        (4, 2048),
        (5, 4096),
        (6, 8192),
    ] {
        write(&root.join("matching"), &random_bytes(seed, len))?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}
