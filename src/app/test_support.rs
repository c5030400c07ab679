//! Builders the use cases' unit tests share: a store in a temporary directory with its
//! matching index and use cases, and valid parties, needs, offers and principals.

use std::sync::Arc;

use clearinghouse_domain::{
    Area, AssistanceKind, FundingMode, GeoScope, Need, Offer, OfferFields, OfferId, PartyId,
    Principal, PrincipalId, Role, Timestamp, offer::OfferContext, transition::Actor,
};
use clearinghouse_storage::{Store, StoreOptions, WriteMeta};

use super::{App, matching::Matching};

/// The time every record of these tests is written at.
pub(crate) const NOW: Timestamp = Timestamp(1_795_000_000_000);

/// An active offer of France: training in the cross-cutting area, worldwide.
pub(crate) fn active_offer(id: &str) -> Offer {
    Offer::new(
        OfferContext {
            id: OfferId(id.into()),
            provider: PartyId("state-FRA".into()),
            now: NOW,
            actor: PrincipalId::system(),
        },
        OfferFields {
            programme_name: "p".into(),
            description: "d".into(),
            areas: vec![Area::CrossCutting],
            assistance_kinds: vec![AssistanceKind::Training],
            funding_modes: vec![FundingMode::SingleDonor],
            scope: GeoScope {
                global: true,
                ..GeoScope::default()
            },
            ..OfferFields::default()
        },
    )
    .expect("offer")
    .activate(Actor::Provider, &PrincipalId::system(), NOW)
    .expect("active")
}

/// A store, its matching index and the use cases over them, in a temporary directory.
pub(crate) fn app_on_temp_store() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        &StoreOptions {
            cache_capacity_bytes: 16 << 20,
            sync_fault: None,
        },
    )
    .expect("store");
    (dir, app_on(store))
}

/// [`app_on_temp_store`] holding `active_offer("O1")` and `circulated_need("N1")`, both
/// indexed; also returns the store.
pub(crate) fn app_with_one_offer_and_one_need() -> (tempfile::TempDir, App, Arc<Store>) {
    let (dir, app) = app_on_temp_store();
    let store = Arc::clone(&app.store);
    store
        .create(active_offer("O1"), &system_meta("offer.create"))
        .expect("offer");
    store
        .create(circulated_need("N1"), &system_meta("need.create"))
        .expect("need");
    app.matching.follow(&store);
    (dir, app, store)
}

/// The use cases over the in-memory engine whose transactions run concurrently and yield
/// at every read and write, so that calls interleave as much as they can.
pub(crate) fn app_on_interleaving_engine() -> App {
    let engine = Arc::new(clearinghouse_storage::MemoryEngine::new(true));
    app_on(Store::with_engine(engine).expect("store"))
}

/// The matching index and the use cases over `store`.
pub(crate) fn app_on(store: Store) -> App {
    let store = Arc::new(store);
    let matching = Arc::new(Matching::load(&store, NOW).expect("matching"));
    let live = Arc::new(super::watch::Live::new(
        tokio::sync::watch::channel(false).1,
    ));
    App::new(store, matching, live).expect("app")
}

/// Audit metadata of a change the system makes.
pub(crate) fn system_meta(action: &str) -> WriteMeta {
    WriteMeta {
        actor: PrincipalId::system(),
        action: action.into(),
        now: NOW,
        idempotency: None,
    }
}

/// A need of Kenya the offers of `active_offer` fit, circulated and public.
pub(crate) fn circulated_need(id: &str) -> Need {
    use clearinghouse_domain::{
        NeedFields, NeedId, Party, PartyFields, PartyKind, PublicationConsent, Visibility,
        need::NeedContext,
    };
    let kenya = Party::new(
        PartyId("state-KEN".into()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: "Kenya".into(),
            short_name: "KEN".into(),
            country_code: "KEN".into(),
            external_id: String::new(),
            description: String::new(),
        },
        NOW,
        PrincipalId::system(),
    )
    .expect("party");
    let who = PrincipalId::system();
    Need::new(
        NeedContext {
            id: NeedId(id.into()),
            requester: &kenya,
            now: NOW,
            actor: who.clone(),
        },
        NeedFields {
            title: "Training of customs officers".into(),
            description: "Training on control lists".into(),
            area: Some(Area::CrossCutting),
            sub_areas: vec![clearinghouse_domain::SubArea::CapacityTrainingGeneral],
            assistance_kinds: vec![AssistanceKind::Training],
            accepted_funding_modes: vec![FundingMode::SingleDonor],
            languages: vec!["en".into()],
            publication_consent: PublicationConsent::Granted,
            visibility: Visibility::Public,
            ..NeedFields::default()
        },
    )
    .expect("need")
    .submit(Actor::Requester, &who, NOW)
    .and_then(|n| n.authenticate(Actor::Broker, &who, NOW))
    .and_then(|n| n.circulate(Actor::Broker, &who, NOW))
    .expect("circulated")
}

/// A provider acting for France (the provider of `active_offer`).
pub(crate) fn provider_of_france() -> Principal {
    principal("p-france", Role::Provider, Some("state-FRA"))
}

/// A principal of `role`, acting for `party` when the role needs one.
pub(crate) fn principal(id: &str, role: Role, party: Option<&str>) -> Principal {
    Principal {
        id: PrincipalId(id.into()),
        version: 1,
        display_name: id.into(),
        role,
        party: party.map(|p| PartyId(p.into())),
        key_hash: [0; 32],
        expires_at: None,
        revoked_at: None,
        created_at: NOW,
        created_by: PrincipalId::system(),
    }
}
