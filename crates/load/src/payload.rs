//! Realistic request payloads from a seeded generator: needs as a State's mission would
//! file them (one thematic area, a few of its sub-areas, a budget, a window in the coming
//! year, a description of several hundred characters) and offers as a donor programme
//! would publish them.

use clearinghouse_domain::{Area, AssistanceKind, FundingMode};
use rand::{Rng, rngs::StdRng, seq::IndexedRandom};

use clearinghouse::pb;

/// One thematic area with its sub-areas, as protobuf enum values.
#[derive(Debug, Clone)]
pub struct AreaCodes {
    /// `ThematicArea` value.
    pub area: i32,
    /// `SubArea` values of that area.
    pub sub_areas: Vec<i32>,
}

/// The taxonomy as protobuf enum values, bridged by name from the domain's code lists.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    /// Every area with its sub-areas.
    pub areas: Vec<AreaCodes>,
    /// Every kind of help.
    pub kinds: Vec<i32>,
}

impl Taxonomy {
    /// Builds the table from the domain crate.
    pub fn load() -> Taxonomy {
        let areas = Area::ALL
            .iter()
            .filter_map(|a| {
                let area = pb::ThematicArea::from_str_name(&format!("THEMATIC_AREA_{}", a.code()))?;
                let sub_areas = a
                    .sub_areas()
                    .filter_map(|s| pb::SubArea::from_str_name(&format!("SUB_AREA_{}", s.code())))
                    .map(|s| s as i32)
                    .collect::<Vec<_>>();
                (!sub_areas.is_empty()).then_some(AreaCodes {
                    area: area as i32,
                    sub_areas,
                })
            })
            .collect();
        let kinds = AssistanceKind::ALL
            .iter()
            .filter_map(|k| {
                pb::AssistanceKind::from_str_name(&format!("ASSISTANCE_KIND_{}", k.code()))
            })
            .map(|k| k as i32)
            .collect();
        Taxonomy { areas, kinds }
    }
}

fn funding_modes() -> Vec<i32> {
    FundingMode::ALL
        .iter()
        .filter_map(|m| pb::FundingMode::from_str_name(&format!("FUNDING_MODE_{}", m.code())))
        .map(|m| m as i32)
        .collect()
}

const SUBJECTS: &[&str] = &[
    "licensing officers",
    "customs and border guards",
    "the national 1540 coordination committee",
    "laboratory managers",
    "prosecutors and judges",
    "the nuclear regulatory authority",
    "chemical industry associations",
    "financial intelligence unit analysts",
    "port and airport security staff",
    "public health emergency responders",
];

const ACTIVITIES: &[&str] = &[
    "Training",
    "Legislative review",
    "Peer review",
    "Equipment and training",
    "Expert mission",
    "Table-top exercise",
    "Workshop series",
    "Mentoring programme",
];

const SENTENCES: &[&str] = &[
    "The national control list has not been updated since the last review and does not yet \
     reflect the current multilateral regime lists.",
    "Officers rotate frequently, so the programme should leave behind a train-the-trainer \
     curriculum and materials in the working language.",
    "The request follows the priorities identified in the national implementation action plan \
     submitted to the Committee.",
    "An inter-agency working group will host the activities and nominate participants from \
     customs, the licensing authority and the ministry of foreign affairs.",
    "Equipment already received under earlier assistance needs calibration and maintenance \
     procedures that staff can carry out themselves.",
    "The government would welcome a gap analysis against the obligations of resolution 1540 \
     before drafting amendments to the penal code.",
    "Regional cooperation with neighbouring States is expected, and observers from the \
     regional organization may attend.",
    "Outcomes will be reported in the next national report, with indicators agreed with the \
     assistance provider at the start.",
];

const LANGUAGES: &[&str] = &["en", "fr", "es", "ar", "ru", "pt"];
const CURRENCIES: &[&str] = &["USD", "EUR", "GBP"];

fn description(rng: &mut StdRng) -> String {
    let n = rng.random_range(3..=6);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if let Some(s) = SENTENCES.choose(rng) {
            out.push(*s);
        }
    }
    out.join(" ")
}

fn some<T: Copy>(rng: &mut StdRng, items: &[T], min: usize, max: usize) -> Vec<T> {
    let n = rng.random_range(min..=max.min(items.len()).max(min));
    items.choose_multiple(rng, n).copied().collect()
}

/// A client-chosen idempotency key (a version 4 UUID from the seeded generator).
pub fn request_id(rng: &mut StdRng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A need from a State requester (the server fills the requesting party and country).
pub fn need(rng: &mut StdRng, tax: &Taxonomy, seq: u64) -> pb::Need {
    let area = tax.areas.choose(rng).cloned().unwrap_or(AreaCodes {
        area: pb::ThematicArea::ExportTransshipment as i32,
        sub_areas: vec![pb::SubArea::ControlLists as i32],
    });
    let modes = funding_modes();
    let accepted = some(rng, &modes, 1, 3);
    let preferred = accepted.first().copied().unwrap_or(0);
    let month = rng.random_range(1..=12);
    let title = format!(
        "{} for {} ({seq})",
        ACTIVITIES.choose(rng).copied().unwrap_or("Training"),
        SUBJECTS.choose(rng).copied().unwrap_or("officials"),
    );
    pb::Need {
        title,
        description: description(rng),
        area: area.area,
        sub_areas: some(rng, &area.sub_areas, 1, 3),
        assistance_kinds: some(rng, &tax.kinds, 1, 3),
        priority: rng.random_range(1..=3),
        accepted_funding_modes: accepted,
        preferred_funding_mode: preferred,
        estimated_budget: Some(pb::Money {
            currency_code: CURRENCIES.choose(rng).copied().unwrap_or("USD").to_owned(),
            minor_units: rng.random_range(10_000..2_000_000) * 100,
        }),
        wanted_from: format!("2027-{month:02}-01"),
        needed_by: format!("2028-{month:02}-28"),
        languages: some(rng, LANGUAGES, 1, 2)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        national_action_plan_ref: if rng.random_bool(0.5) {
            format!("NAP 2025-2029, action {}", rng.random_range(1..40))
        } else {
            String::new()
        },
        publication_consent: pb::PublicationConsent::Granted as i32,
        visibility: if rng.random_bool(0.7) {
            pb::Visibility::Providers as i32
        } else {
            pb::Visibility::Public as i32
        },
        public_summary: "Capacity building requested under resolution 1540.".to_owned(),
        contact: Some(pb::ContactPoint {
            name: "Desk officer, Permanent Mission".to_owned(),
            email: format!("desk{}@mission.example.org", seq % 1000),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A need fit for a full match lifecycle: single-donor, budget in USD, consent granted.
pub fn lifecycle_need(rng: &mut StdRng, tax: &Taxonomy, seq: u64, budget_cents: i64) -> pb::Need {
    let mut n = need(rng, tax, seq);
    n.accepted_funding_modes = vec![pb::FundingMode::SingleDonor as i32];
    n.preferred_funding_mode = pb::FundingMode::SingleDonor as i32;
    n.estimated_budget = Some(usd(budget_cents));
    n
}

/// US dollars in cents.
pub fn usd(cents: i64) -> pb::Money {
    pb::Money {
        currency_code: "USD".to_owned(),
        minor_units: cents,
    }
}

/// An offer of a donor programme with a regional or global scope.
pub fn offer(rng: &mut StdRng, tax: &Taxonomy, seq: u64) -> pb::Offer {
    let regions = ["Africa", "Americas", "Asia", "Europe", "Oceania"];
    let n_areas = rng.random_range(1..=2);
    let picked: Vec<AreaCodes> = tax.areas.choose_multiple(rng, n_areas).cloned().collect();
    let (areas, sub_areas) = if rng.random_bool(0.4) {
        (picked.iter().map(|a| a.area).collect(), Vec::new())
    } else {
        let subs: Vec<i32> = picked.iter().flat_map(|a| a.sub_areas.clone()).collect();
        (Vec::new(), some(rng, &subs, 1, 4))
    };
    let scope = if rng.random_bool(0.2) {
        pb::GeoScope {
            global: true,
            ..Default::default()
        }
    } else {
        pb::GeoScope {
            regions: some(rng, &regions, 1, 2)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            ..Default::default()
        }
    };
    let modes = funding_modes();
    pb::Offer {
        programme_name: format!(
            "{} programme {seq}",
            ACTIVITIES.choose(rng).copied().unwrap_or("Training")
        ),
        description: description(rng),
        areas,
        sub_areas,
        assistance_kinds: some(rng, &tax.kinds, 2, 4),
        scope: Some(scope),
        funding_modes: some(rng, &modes, 1, 2),
        languages: some(rng, LANGUAGES, 1, 3)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        budget_ceiling: Some(usd(rng.random_range(50_000..5_000_000) * 100)),
        valid_until: "2030-12-31".to_owned(),
        contact: Some(pb::ContactPoint {
            name: "Programme manager".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pooled offer that fits every need a lifecycle creates: every area, global scope,
/// every kind of help and funding mode, a large USD ceiling.
pub fn lifecycle_offer(tax: &Taxonomy, seq: u64, ceiling_cents: i64) -> pb::Offer {
    pb::Offer {
        programme_name: format!("Pooled assistance facility {seq}"),
        description: "Funds and implements assistance in every thematic area worldwide.".to_owned(),
        areas: tax.areas.iter().map(|a| a.area).collect(),
        assistance_kinds: tax.kinds.clone(),
        scope: Some(pb::GeoScope {
            global: true,
            ..Default::default()
        }),
        funding_modes: funding_modes(),
        budget_ceiling: Some(usd(ceiling_cents)),
        valid_until: "2030-12-31".to_owned(),
        contact: Some(pb::ContactPoint {
            name: "Facility manager".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_taxonomy_bridges_every_area_and_kind_by_name() {
        let tax = Taxonomy::load();
        assert_eq!(tax.areas.len(), Area::ALL.len());
        assert_eq!(tax.kinds.len(), AssistanceKind::ALL.len());
        let subs: usize = tax.areas.iter().map(|a| a.sub_areas.len()).sum();
        assert_eq!(subs, clearinghouse_domain::SubArea::ALL.len());
    }

    #[test]
    fn request_ids_are_version_4_uuids_and_differ() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = request_id(&mut rng);
        let b = request_id(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn the_same_seed_gives_the_same_need() {
        let tax = Taxonomy::load();
        let a = need(&mut StdRng::seed_from_u64(3), &tax, 1);
        let b = need(&mut StdRng::seed_from_u64(3), &tax, 1);
        assert_eq!(a, b);
        assert!(!a.sub_areas.is_empty() && a.description.len() > 200);
    }
}
