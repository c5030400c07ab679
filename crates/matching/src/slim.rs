//! The copy of a record the engine keeps: every field that filtering, scoring,
//! explaining, consortia, allocation plans and the service's visibility and plan filters
//! read, and none of the free text, history, feedback and contacts they never read.
//!
//! A need or offer held by the engine is only ever used to rank, filter and plan; a
//! record that goes back to a caller is read again from the store. Emptying the heavy
//! fields keeps the index to a fraction of the memory of whole records (a title,
//! description and status history are most of a stored need) while every score,
//! explanation and top-k stays the same: `fit`, `factors`, `features`, `reasons`,
//! `consortium` and `allocation` read none of the fields emptied here (the engine-versus-
//! naive property tests rank slim copies against whole records).

use clearinghouse_domain::{Need, Offer, PrincipalId, need::Contact};

/// `need` with its free text (external id, note verbale reference, title, description,
/// plan references, assistance received, public summary), point of contact, status
/// history, feedback and creator / last changer emptied. Kept: id, version, requester,
/// status, dates, and every matching field (area, sub-areas, domains, kinds and required
/// kinds, priority, window, budget, funding modes, languages and required languages,
/// country, beneficiaries, consent, visibility).
pub fn need(mut need: Need) -> Need {
    let f = &mut need.fields;
    for s in [
        &mut f.external_id,
        &mut f.note_verbale_reference,
        &mut f.title,
        &mut f.description,
        &mut f.national_action_plan_ref,
        &mut f.iaea_plan_ref,
        &mut f.assistance_received,
        &mut f.public_summary,
    ] {
        *s = String::new();
    }
    f.contact = Contact::default();
    need.history = Vec::new();
    need.feedback = Vec::new();
    need.created_by = PrincipalId(String::new());
    need.updated_by = PrincipalId(String::new());
    need
}

/// `offer` with its free text (external id, programme name, description, eligibility
/// notes), implementing parties, point of contact, status history and creator / last
/// changer emptied. Kept: id, version, provider, status, committed amount, dates, and
/// every matching field (areas, sub-areas, domains, kinds, scope, funding modes,
/// languages, ceiling, contributions, engagements, budget status, validity, lead time,
/// GP sub-working group).
pub fn offer(mut offer: Offer) -> Offer {
    let f = &mut offer.fields;
    for s in [
        &mut f.external_id,
        &mut f.programme_name,
        &mut f.description,
        &mut f.eligibility_notes,
    ] {
        *s = String::new();
    }
    f.implementing_parties = Vec::new();
    f.contact = Contact::default();
    offer.history = Vec::new();
    offer.created_by = PrincipalId(String::new());
    offer.updated_by = PrincipalId(String::new());
    offer
}
