//! The engine's slim copies of records: they keep what matching reads and drop the free
//! text, history and contacts, and a slim pair filters, scores and explains exactly as
//! the whole records do.

use proptest::prelude::*;

use clearinghouse_domain::{NeedFeedback, PrincipalId, Timestamp, need::Contact};
use clearinghouse_matching::{
    Engine, FitContext, NeedStage, Policy, fit,
    naive::Work,
    slim,
    synth::{self, Shape},
};

fn contact() -> Contact {
    Contact {
        name: "Desk officer".into(),
        email: "desk@example.org".into(),
        phone: "+1 555 0100".into(),
        organization: "Ministry".into(),
    }
}

/// A synthetic dataset whose records carry every heavy field slimming empties.
fn heavy(seed: u64, needs: usize, offers: usize) -> synth::Dataset {
    let mut data = synth::generate(
        seed,
        Shape {
            needs,
            offers,
            planted_pct: 20,
        },
    );
    for n in &mut data.needs {
        let f = &mut n.fields;
        f.external_id = format!("ext-{}", n.id);
        f.note_verbale_reference = "NV/2026/17".into();
        f.title = format!("Title of {}", n.id);
        f.description = "A long description of what is needed, for whom and why.".into();
        f.national_action_plan_ref = "NAP 4.2".into();
        f.iaea_plan_ref = "INSSP 3".into();
        f.assistance_received = "Workshop in 2024".into();
        f.public_summary = "Summary".into();
        f.contact = contact();
        n.feedback.push(NeedFeedback {
            text: "Useful".into(),
            at: Timestamp(1),
            author: PrincipalId::system(),
        });
    }
    for o in &mut data.offers {
        let f = &mut o.fields;
        f.external_id = format!("ext-{}", o.id);
        f.eligibility_notes = "Eligible: every State of the region".into();
        f.contact = contact();
    }
    data
}

#[test]
fn the_engine_keeps_no_free_text_history_feedback_or_contact() {
    let data = heavy(7, 20, 20);
    let (policy, rates) = (Policy::default(), synth::rates());
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::AuthenticatedToo,
    };
    let mut engine = Engine::untracked();
    let mut w = Work::default();
    for o in &data.offers {
        assert!(engine.upsert_offer(o.clone(), &ctx, &mut w));
    }
    for n in &data.needs {
        assert!(engine.upsert_need(n.clone(), &ctx, &mut w));
    }
    for n in &data.needs {
        let kept = engine.needs().get(&n.id.0).expect("indexed");
        assert!(!n.fields.title.is_empty() && !n.history.is_empty());
        assert_eq!(kept.fields.title, "");
        assert_eq!(kept.fields.description, "");
        assert_eq!(kept.fields.public_summary, "");
        assert_eq!(kept.fields.contact, Contact::default());
        assert!(kept.history.is_empty() && kept.feedback.is_empty());
        assert_eq!(&*kept, &slim::need(n.clone()));
        // What matching and visibility read is kept.
        assert_eq!(
            (&kept.id, kept.version, &kept.requester, kept.status),
            (&n.id, n.version, &n.requester, n.status)
        );
        assert_eq!(kept.fields.sub_areas, n.fields.sub_areas);
        assert_eq!(kept.fields.visibility, n.fields.visibility);
        assert_eq!(kept.fields.estimated_budget, n.fields.estimated_budget);
    }
    for o in &data.offers {
        let kept = engine.offers().get(&o.id.0).expect("indexed");
        assert!(!o.fields.programme_name.is_empty() && !o.history.is_empty());
        assert_eq!(kept.fields.programme_name, "");
        assert_eq!(kept.fields.description, "");
        assert_eq!(kept.fields.eligibility_notes, "");
        assert_eq!(kept.fields.contact, Contact::default());
        assert!(kept.history.is_empty());
        assert_eq!(&*kept, &slim::offer(o.clone()));
        assert_eq!(
            (&kept.id, kept.version, &kept.provider, kept.status),
            (&o.id, o.version, &o.provider, o.status)
        );
        assert_eq!(kept.fields.scope, o.fields.scope);
        assert_eq!(kept.fields.budget_ceiling, o.fields.budget_ceiling);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn a_slim_pair_filters_scores_and_explains_as_the_whole_records(
        seed in any::<u64>(),
        needs in 1usize..20,
        offers in 1usize..60,
        brokers in any::<bool>(),
    ) {
        let data = heavy(seed, needs, offers);
        let (policy, rates) = (Policy::default(), synth::rates());
        let stage = if brokers { NeedStage::AuthenticatedToo } else { NeedStage::Circulated };
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage };
        for n in &data.needs {
            let sn = slim::need(n.clone());
            for o in &data.offers {
                let so = slim::offer(o.clone());
                prop_assert_eq!(fit::passes(&sn, &so, &ctx), fit::passes(n, o, &ctx));
                prop_assert_eq!(fit::explain(&sn, &so, &ctx), fit::explain(n, o, &ctx));
                if fit::passes(n, o, &ctx) {
                    prop_assert_eq!(fit::score(&sn, &so, &ctx), fit::score(n, o, &ctx));
                }
            }
        }
    }
}
