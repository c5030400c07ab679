//! Needs: record, read, list, edit and move through the lifecycle.

use clearinghouse_domain::{
    Area, FeedbackEntry, FundingMode, Match, Need, NeedFeedback, NeedField, NeedFields, NeedId,
    NeedStatus, Party, PartyId, Principal, PublicationConsent, Role, SubArea, Timestamp,
    Violations, geo, need::NeedContext, transition::Actor,
};
use clearinghouse_storage::{
    Created, IdempotencyKey, ListQuery, Store, TxError, UpdateError, index,
};

use super::{
    App, Listed, MAX_SCAN, PageRequest, actor_of, clock, meta, new_id, rejected, visibility,
};
use crate::error::ApiError;

/// Filters of `ListNeeds` (all optional, combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedFilter {
    /// Status.
    pub status: Option<NeedStatus>,
    /// Area.
    pub area: Option<Area>,
    /// Sub-area.
    pub sub_area: Option<SubArea>,
    /// ISO3 country.
    pub country: Option<String>,
    /// M49 region.
    pub region: Option<String>,
    /// M49 sub-region.
    pub subregion: Option<String>,
    /// Accepted funding mode.
    pub funding_mode: Option<FundingMode>,
    /// Requesting party.
    pub party: Option<PartyId>,
    /// Changed at or after.
    pub updated_since: Option<Timestamp>,
}

impl NeedFilter {
    fn matches(&self, n: &Need) -> bool {
        let c = n.country();
        self.status.is_none_or(|s| n.status == s)
            && self.area.is_none_or(|a| n.fields.area == Some(a))
            && self
                .sub_area
                .is_none_or(|s| n.fields.sub_areas.contains(&s))
            && self
                .country
                .as_ref()
                .is_none_or(|x| n.fields.country_code == *x)
            && self
                .region
                .as_ref()
                .is_none_or(|r| c.is_some_and(|c| c.region == r))
            && self
                .subregion
                .as_ref()
                .is_none_or(|r| c.is_some_and(|c| c.subregion == r))
            && self
                .funding_mode
                .is_none_or(|m| n.fields.accepted_funding_modes.contains(&m))
            && self.party.as_ref().is_none_or(|p| n.requester == *p)
            && self.updated_since.is_none_or(|t| n.updated_at >= t)
    }

    /// The most selective index for this filter.
    fn index(&self) -> Option<(&'static str, String)> {
        if let Some(p) = &self.party {
            Some((index::PARTY, p.0.clone()))
        } else if let Some(s) = self.sub_area {
            Some((index::SUB_AREA, s.code().to_owned()))
        } else if let Some(c) = &self.country {
            Some((index::COUNTRY, c.clone()))
        } else if let Some(s) = self.status {
            Some((index::STATUS, s.code().to_owned()))
        } else if let Some(a) = self.area {
            Some((index::AREA, a.code().to_owned()))
        } else {
            self.region.as_ref().map(|r| (index::REGION, r.clone()))
        }
    }
}

/// What a transition needs besides the need.
#[derive(Debug, Clone)]
pub struct TransitionInput {
    /// Need id.
    pub id: String,
    /// Etag, if the caller sent one.
    pub etag: Option<u64>,
    /// Reason or feedback text, where the transition takes one.
    pub text: String,
}

/// Which transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedAction {
    /// DRAFT → SUBMITTED.
    Submit,
    /// SUBMITTED → AUTHENTICATED.
    Authenticate,
    /// SUBMITTED → REJECTED.
    Reject,
    /// AUTHENTICATED → CIRCULATED.
    Circulate,
    /// → WITHDRAWN.
    Withdraw,
    /// Append feedback.
    AddFeedback,
    /// FULFILLED → CLOSED.
    Close,
}

impl NeedAction {
    fn name(self) -> &'static str {
        match self {
            NeedAction::Submit => "need.submit",
            NeedAction::Authenticate => "need.authenticate",
            NeedAction::Reject => "need.reject",
            NeedAction::Circulate => "need.circulate",
            NeedAction::Withdraw => "need.withdraw",
            NeedAction::AddFeedback => "need.add_feedback",
            NeedAction::Close => "need.close",
        }
    }

    fn apply(
        self,
        n: &Need,
        actor: Actor,
        who: &Principal,
        now: Timestamp,
        text: &str,
    ) -> Result<Need, ApiError> {
        let id = &who.id;
        Ok(match self {
            NeedAction::Submit => n.submit(actor, id, now)?,
            NeedAction::Authenticate => n.authenticate(actor, id, now)?,
            NeedAction::Reject => n.reject(actor, id, now, text)?,
            NeedAction::Circulate => n.circulate(actor, id, now)?,
            NeedAction::Withdraw => n.withdraw(actor, id, now, text)?,
            NeedAction::AddFeedback => n.record_feedback(id, now, text)?.0,
            NeedAction::Close => n.close(actor, id, now)?,
        })
    }
}

/// Refuses a change by a requester to another party's need, as NOT_FOUND (no leak).
fn check_owner(who: &Principal, n: &Need) -> Result<(), ApiError> {
    if !visibility::can_see_need(who, n) {
        return Err(ApiError::not_found("need", &n.id.0));
    }
    if who.role == Role::Requester && who.party.as_ref() != Some(&n.requester) {
        return Err(ApiError::not_found("need", &n.id.0));
    }
    Ok(())
}

/// Maps the store's NOT_FOUND of a need to the use case's (same message whatever the
/// reason), and everything else as it is.
fn need_result(r: Result<Need, UpdateError<ApiError>>, id: &str) -> Result<Need, ApiError> {
    match r {
        Err(UpdateError::Store(clearinghouse_storage::Error::NotFound { .. })) => {
            Err(ApiError::not_found("need", id))
        }
        other => Ok(other?),
    }
}

/// Every feedback entry of a need: those it carries itself (written before feedback had
/// its own records), then its feedback records, oldest first.
fn feedback_of(store: &Store, need: &Need) -> Result<Vec<NeedFeedback>, ApiError> {
    let mut all = need.feedback.clone();
    let mut after = None;
    loop {
        let page = store.list::<FeedbackEntry>(
            &ListQuery {
                index: Some((index::NEED, &need.id.0)),
                after,
                limit: 500,
                max_scan: usize::MAX,
            },
            &|_| true,
        )?;
        all.extend(page.items.into_iter().map(|f| f.feedback));
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(all),
        }
    }
}

/// The need as `who` sees it: feedback filled in, contact removed unless allowed.
pub fn presented(store: &Store, who: &Principal, mut need: Need) -> Result<Need, ApiError> {
    need.feedback = feedback_of(store, &need)?;
    Ok(visibility::redact_need(who, need))
}

/// Whether `who` may read `n`: the visibility rules, plus a provider named in one of
/// the need's matches (api.md: "any need in a match it is part of").
pub fn may_read_need(store: &Store, who: &Principal, n: &Need) -> Result<bool, ApiError> {
    if visibility::can_see_need(who, n) {
        return Ok(true);
    }
    let (Role::Provider, Some(own)) = (who.role, &who.party) else {
        return Ok(false);
    };
    let page = store.list::<Match>(
        &ListQuery {
            index: Some((index::NEED, &n.id.0)),
            after: None,
            limit: 1,
            max_scan: MAX_SCAN,
        },
        &|m| m.contributions.iter().any(|c| c.provider == *own),
    )?;
    Ok(!page.items.is_empty())
}

impl App {
    /// Records a need in DRAFT. `edge` holds the violations found while decoding.
    pub async fn create_need(
        &self,
        who: &Principal,
        requester: String,
        fields: NeedFields,
        edge: Violations,
        idem: Option<IdempotencyKey>,
    ) -> Result<Need, ApiError> {
        let requester = match (who.role, &who.party) {
            (Role::Requester, Some(own)) => {
                if !requester.is_empty() && requester != own.0 {
                    return Err(ApiError::PermissionDenied(format!(
                        "this key acts for party {own}; it cannot record needs of {}",
                        super::short(&requester)
                    )));
                }
                own.clone()
            }
            _ => PartyId(requester),
        };
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let mut edge = edge;
            let party: Option<Party> = if requester.0.is_empty() {
                edge.add(
                    "requester_party_id",
                    "is required when a broker records a need",
                );
                None
            } else {
                let p = store.get::<Party>(&requester.0)?;
                if p.is_none() {
                    edge.add(
                        "requester_party_id",
                        format!("no party '{}'; see ListParties", super::short(&requester.0)),
                    );
                }
                p
            };
            let Some(party) = party else {
                return Err(rejected(edge, None));
            };
            let built = Need::new(
                NeedContext {
                    id: NeedId(new_id()),
                    requester: &party,
                    now,
                    actor: who.id.clone(),
                },
                fields,
            );
            let need = match (built, edge.is_empty()) {
                (Ok(n), true) => n,
                (Ok(_), false) => return Err(rejected(edge, None)),
                (Err(e), _) => return Err(rejected(edge, Some(e))),
            };
            match store.create(need, &meta(&who, "need.create", now, idem))? {
                // Its id was made just now: no feedback can name it yet.
                Created::New(n) => Ok(visibility::redact_need(&who, n)),
                // Feedback may have been given since the first request.
                Created::Replayed(n) => presented(store, &who, n),
            }
        })
        .await
    }

    /// Reads a need the caller may see.
    pub async fn get_need(&self, who: &Principal, id: String) -> Result<Need, ApiError> {
        self.point_read(|store| match store.get::<Need>(&id)? {
            Some(n) if may_read_need(store, who, &n)? => presented(store, who, n),
            _ => Err(ApiError::not_found("need", id)),
        })
    }

    /// Lists the needs the caller may see, in creation order.
    pub async fn list_needs(
        &self,
        who: &Principal,
        mut filter: NeedFilter,
        page: PageRequest,
    ) -> Result<Listed<Need>, ApiError> {
        if who.role == Role::Requester {
            // A requester only ever sees its own party's needs: scan that index.
            if filter.party.is_some() && filter.party != who.party {
                return Ok(Listed {
                    items: Vec::new(),
                    next: None,
                });
            }
            filter.party.clone_from(&who.party);
        }
        let who = who.clone();
        self.blocking(move |store| {
            let idx = filter.index();
            let q = ListQuery {
                index: idx.as_ref().map(|(i, v)| (*i, v.as_str())),
                after: page.after,
                limit: page.size,
                max_scan: MAX_SCAN,
            };
            let p = store.list::<Need>(&q, &|n| {
                filter.matches(n) && visibility::can_see_need(&who, n)
            })?;
            let items = p
                .items
                .into_iter()
                .map(|n| presented(store, &who, n))
                .collect::<Result<_, _>>()?;
            Ok(Listed {
                items,
                next: p.next,
            })
        })
        .await
    }

    /// Applies a field-mask update. In the transaction: the need exists and the caller
    /// may see and change it, then the etag, then the fields.
    pub async fn update_need(
        &self,
        who: &Principal,
        id: String,
        etag: Option<u64>,
        src: NeedFields,
        mask: Vec<String>,
        edge: Violations,
    ) -> Result<Need, ApiError> {
        let mut edge = edge;
        if etag.is_none() {
            edge.add(
                "etag",
                "is required for updates; send the etag from your last read",
            );
        }
        if mask.is_empty() {
            edge.add(
                "update_mask",
                "is required; list the fields to change, e.g. [\"title\"]",
            );
        }
        let mut fields = Vec::new();
        for (i, path) in mask.iter().enumerate() {
            match NeedField::parse(path) {
                Some(f) => fields.push(f),
                None => edge.add(
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "'{}' is not an editable field of a need",
                        super::short(path)
                    ),
                ),
            }
        }
        if !edge.is_empty() {
            return Err(rejected(edge, None));
        }
        let withholds = fields.contains(&NeedField::PublicationConsent)
            && src.publication_consent == PublicationConsent::Withheld;
        let action = if withholds {
            "need.consent_withheld"
        } else {
            "need.update"
        };
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let updated = store.transaction::<Need, ApiError>(&meta(&who, action, now, None), |txn| {
                let cur: Option<Need> = txn.get(&id)?;
                let Some(cur) = cur else {
                    return Err(TxError::rejected(ApiError::not_found("need", &id)));
                };
                check_owner(&who, &cur).map_err(TxError::rejected)?;
                let party: Party = txn.get(&cur.requester.0)?.ok_or_else(|| {
                    TxError::rejected(ApiError::Internal(format!(
                        "need {id} names missing party {}",
                        cur.requester
                    )))
                })?;
                txn.update(&id, etag, &|n: &Need| check_owner(&who, n), &|n: &Need| {
                    Ok(n.updated(&party, &src, &fields, now, &who.id)?)
                })
            });
            if withholds && updated.is_ok() {
                tracing::info!(need_id = %id, "publication consent withheld; the need is now COMMITTEE_ONLY");
            }
            presented(store, &who, need_result(updated, &id)?)
        })
        .await
    }

    /// Runs one lifecycle transition. In the transaction: the need exists and the caller
    /// may see and change it, then the etag, then the transition's own rules.
    pub async fn transition_need(
        &self,
        who: &Principal,
        action: NeedAction,
        input: TransitionInput,
    ) -> Result<Need, ApiError> {
        if matches!(action, NeedAction::Reject | NeedAction::Withdraw) {
            require_reason(&input.text)?;
        }
        let who = who.clone();
        let feedback_id = new_id();
        self.write(move |store| {
            let now = clock::now();
            let actor = actor_of(&who);
            let id = input.id.clone();
            let updated =
                store.transaction::<Need, ApiError>(&meta(&who, action.name(), now, None), |txn| {
                    let access = |n: &Need| check_owner(&who, n);
                    match action {
                        NeedAction::AddFeedback => {
                            let next = txn.update(&id, input.etag, &access, &|n: &Need| {
                                Ok(n.record_feedback(&who.id, now, &input.text)?.0)
                            })?;
                            txn.create(&FeedbackEntry {
                                id: feedback_id.clone(),
                                version: 1,
                                need: next.id.clone(),
                                feedback: NeedFeedback {
                                    text: input.text.clone(),
                                    at: now,
                                    author: who.id.clone(),
                                },
                            })?;
                            Ok(next)
                        }
                        NeedAction::Close => {
                            let recorded: Vec<FeedbackEntry> =
                                txn.list_by_index(index::NEED, &id)?;
                            txn.update(&id, input.etag, &access, &|n: &Need| {
                                let mut with = n.clone();
                                with.feedback
                                    .extend(recorded.iter().map(|f| f.feedback.clone()));
                                let mut closed = with.close(actor, &who.id, now)?;
                                closed.feedback.clone_from(&n.feedback);
                                Ok(closed)
                            })
                        }
                        _ => txn.update(&id, input.etag, &access, &|n: &Need| {
                            action.apply(n, actor, &who, now, &input.text)
                        }),
                    }
                });
            presented(store, &who, need_result(updated, &id)?)
        })
        .await
    }
}

/// Validates a filter's country and region names, reporting every problem.
pub fn check_geo_filter(country: &str, region: &str, subregion: &str) -> Result<(), ApiError> {
    let mut v = Violations::new("");
    if !country.is_empty() {
        geo::check_country(&mut v, "country_code", country);
    }
    if !region.is_empty() && !geo::is_region(region) {
        v.add(
            "region",
            format!(
                "'{region}' is not an M49 region; use Africa, Americas, Asia, Europe or Oceania"
            ),
        );
    }
    if !subregion.is_empty() && !geo::is_subregion(subregion) {
        v.add(
            "subregion",
            format!("'{subregion}' is not an M49 sub-region"),
        );
    }
    v.into_result().map_err(ApiError::Invalid)
}

/// A reason of 1 to 2000 characters, checked at the edge.
pub fn require_reason(text: &str) -> Result<(), ApiError> {
    let mut v = Violations::new("");
    v.text("reason", text, true, 2000);
    v.into_result().map_err(ApiError::Invalid)
}
