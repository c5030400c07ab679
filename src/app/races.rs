//! Concurrent calls on one record: whoever may act, on which version and whether the step
//! is allowed are all judged on the record as read inside the writing transaction, so no
//! interleaving of calls lets a write through on a check made against an older copy.

use std::sync::Arc;

use clearinghouse_domain::{
    FundingMode, Match, Need, OfferId, PrincipalId, Role, matches::ContributionRole,
    matches::ReasonCode, transition::Actor,
};
use clearinghouse_storage::{AuditFilter, Error as StoreError, ListQuery, Store, index};

use super::{
    App,
    matches::{MatchAction, NewContribution},
    test_support::{
        NOW, active_offer, app_on_interleaving_engine, app_on_temp_store, circulated_need,
        principal, provider_of_france, system_meta,
    },
};
use crate::error::ApiError;

const ROUNDS: usize = 24;

fn single_donor(offer: &str) -> Vec<NewContribution> {
    vec![NewContribution {
        offer: OfferId(offer.into()),
        role: ContributionRole::Funding,
        amount: None,
        in_kind: "training".into(),
    }]
}

/// Audit sequence of the entry that did `action` on `id` (the first one).
fn sequence_of(store: &Store, id: &str, action: &str) -> Option<u64> {
    store
        .list_audit(
            &AuditFilter {
                resource_id: Some(id.into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .expect("audit")
        .items
        .into_iter()
        .find(|e| e.action == action)
        .map(|e| e.sequence)
}

fn matches_of(store: &Store, need: &str) -> Vec<Match> {
    store
        .list::<Match>(
            &ListQuery {
                index: Some((index::NEED, need)),
                after: None,
                limit: 100,
                max_scan: 1_000,
            },
            &|_| true,
        )
        .expect("list")
        .items
}

/// Proposals racing the need's withdrawal: a match is only ever created on a need that
/// was still circulated when its transaction committed, i.e. every match on a withdrawn
/// need was created before the withdrawal. A check of the need made before the
/// transaction would let a proposal through after the withdrawal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_match_is_created_on_a_need_after_it_was_withdrawn() {
    let (_dir, app) = app_on_temp_store();
    proposals_race_a_withdrawal(app).await;
    proposals_race_a_withdrawal(app_on_interleaving_engine()).await;
}

async fn proposals_race_a_withdrawal(app: App) {
    let store = Arc::clone(&app.store);
    let broker = principal("p-broker", Role::Broker, None);
    let (mut before, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let need = format!("N{round:02}");
        store
            .create(circulated_need(&need), &system_meta("need.create"))
            .expect("need");
        for i in 0..4 {
            store
                .create(
                    active_offer(&format!("O{round:02}-{i}")),
                    &system_meta("offer.create"),
                )
                .expect("offer");
        }
        // All five calls start together; the withdrawal gives its core away a different
        // number of times each round, so it lands before, between and after the
        // proposals' checks.
        let start = Arc::new(tokio::sync::Barrier::new(5));
        let proposals: Vec<_> = (0..4)
            .map(|i| {
                let (app, broker, need) = (app.clone(), broker.clone(), need.clone());
                let start = Arc::clone(&start);
                tokio::spawn(async move {
                    start.wait().await;
                    app.create_match(
                        &broker,
                        need,
                        Some(FundingMode::SingleDonor),
                        single_donor(&format!("O{round:02}-{i}")),
                        Default::default(),
                        None,
                    )
                    .await
                })
            })
            .collect();
        let withdrawal = {
            let (store, need) = (Arc::clone(&store), need.clone());
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                tokio::task::spawn_blocking(move || {
                    for _ in 0..round * 40 {
                        std::thread::yield_now();
                    }
                    store.update_unchecked::<Need, ApiError>(
                        &need,
                        None,
                        &system_meta("need.withdraw"),
                        |n| Ok(n.withdraw(Actor::Requester, &PrincipalId::system(), NOW, "met")?),
                    )
                })
                .await
            })
        };
        for p in proposals {
            match p.await.expect("task") {
                Ok(_) => before += 1,
                Err(ApiError::Transition(_)) => refused += 1,
                Err(e) => panic!("unexpected refusal: {e}"),
            }
        }
        withdrawal
            .await
            .expect("task")
            .expect("blocking task")
            .expect("withdraw");
        let withdrawn = sequence_of(&store, &need, "need.withdraw").expect("withdrawn");
        for m in matches_of(&store, &need) {
            let created = sequence_of(&store, &m.id, "match.create").expect("created");
            assert!(
                created < withdrawn,
                "match {} was created (audit {created}) after {need} was withdrawn (audit {withdrawn})",
                m.id
            );
        }
    }
    assert_eq!(before + refused, ROUNDS * 4, "every proposal was answered");
}

/// Two parties answer the same proposal at once, each with the etag they read: one
/// answer applies and the other is refused as stale, never both (the second would apply
/// to a version its sender never saw).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_answers_sent_with_the_same_etag_never_both_apply() {
    let (_dir, app) = app_on_temp_store();
    answers_race(app).await;
    answers_race(app_on_interleaving_engine()).await;
}

async fn answers_race(app: App) {
    let store = Arc::clone(&app.store);
    let broker = principal("p-broker", Role::Broker, None);
    let kenya = principal("p-kenya", Role::Requester, Some("state-KEN"));
    let france = provider_of_france();
    for round in 0..ROUNDS {
        let (need, offer) = (format!("N{round:02}"), format!("O{round:02}"));
        store
            .create(circulated_need(&need), &system_meta("need.create"))
            .expect("need");
        store
            .create(active_offer(&offer), &system_meta("offer.create"))
            .expect("offer");
        let m = app
            .create_match(
                &broker,
                need,
                Some(FundingMode::SingleDonor),
                single_donor(&offer),
                Default::default(),
                None,
            )
            .await
            .expect("proposed");
        let answer = |who: clearinghouse_domain::Principal, action: MatchAction| {
            let (app, id, etag) = (app.clone(), m.id.clone(), Some(m.version));
            tokio::spawn(async move { app.transition_match(&who, id, etag, action).await })
        };
        let accepted = answer(kenya.clone(), MatchAction::Accept);
        let declined = answer(
            france.clone(),
            MatchAction::Decline(ReasonCode::NoCapacity, "budget spent".into()),
        );
        let results = [
            accepted.await.expect("task").map(|_| ()),
            declined.await.expect("task").map(|_| ()),
        ];
        let applied = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(applied, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(ApiError::Store(StoreError::StaleVersion { .. })))),
            "the other answer is refused as stale: {results:?}"
        );
        let stored = store.get::<Match>(&m.id).expect("get").expect("match");
        assert_eq!(stored.version, m.version + 1, "exactly one change applied");
    }
}
