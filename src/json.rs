//! The proto3 JSON mapping of the API's messages, done generically with `prost-reflect`
//! over the descriptor set the build writes for reflection.
//!
//! Output follows the canonical mapping: `lowerCamel` field names, enums by name, 64-bit
//! integers as strings, `Timestamp` as RFC 3339, `FieldMask` as a comma-separated string,
//! fields with default values left out. Input accepts both `lowerCamel` and `snake_case`
//! names. The client's `--output json` uses it, and an HTTP/JSON edge can reuse it as is.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde::de::DeserializeSeed;

use crate::pb;

/// Why a message could not be mapped to or from JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The embedded descriptor set did not decode (a build problem).
    #[error("the embedded descriptor set is invalid: {0}")]
    Descriptors(String),
    /// The message is not in the descriptor set.
    #[error("message {0} is not part of the API")]
    UnknownMessage(&'static str),
    /// The bytes did not decode as the message, or the JSON did not fit it.
    #[error("{0}")]
    Decode(String),
    /// The text is not JSON of the message.
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
}

/// A generated message together with its fully qualified protobuf name.
pub trait ApiMessage: prost::Message + Default {
    /// Fully qualified name, e.g. `clearinghouse.v1.Need`.
    const FULL_NAME: &'static str;
}

macro_rules! api_messages {
    ($($name:ident),+ $(,)?) => {
        $(impl ApiMessage for pb::$name {
            const FULL_NAME: &'static str = concat!("clearinghouse.v1.", stringify!($name));
        })+
        /// Every message name with an [`ApiMessage`] implementation (checked against the
        /// descriptor set in the tests).
        pub const API_MESSAGES: &[&str] = &[$(concat!("clearinghouse.v1.", stringify!($name))),+];
    };
}

api_messages!(
    Money,
    ContactPoint,
    StatusChange,
    // parties
    Party,
    CreatePartyRequest,
    CreatePartyResponse,
    GetPartyRequest,
    GetPartyResponse,
    ListPartiesRequest,
    ListPartiesResponse,
    UpdatePartyRequest,
    UpdatePartyResponse,
    // needs
    NeedFeedback,
    Need,
    CreateNeedRequest,
    CreateNeedResponse,
    GetNeedRequest,
    GetNeedResponse,
    ListNeedsRequest,
    ListNeedsResponse,
    UpdateNeedRequest,
    UpdateNeedResponse,
    SubmitNeedRequest,
    SubmitNeedResponse,
    AuthenticateNeedRequest,
    AuthenticateNeedResponse,
    RejectNeedRequest,
    RejectNeedResponse,
    CirculateNeedRequest,
    CirculateNeedResponse,
    WithdrawNeedRequest,
    WithdrawNeedResponse,
    AddNeedFeedbackRequest,
    AddNeedFeedbackResponse,
    CloseNeedRequest,
    CloseNeedResponse,
    // offers
    GeoScope,
    Offer,
    CreateOfferRequest,
    CreateOfferResponse,
    GetOfferRequest,
    GetOfferResponse,
    ListOffersRequest,
    ListOffersResponse,
    UpdateOfferRequest,
    UpdateOfferResponse,
    ActivateOfferRequest,
    ActivateOfferResponse,
    WithdrawOfferRequest,
    WithdrawOfferResponse,
    // matching and matches
    FitFactor,
    FailedFilter,
    OfferCandidate,
    NeedCandidate,
    FindOffersForNeedRequest,
    FindOffersForNeedResponse,
    FindNeedsForOfferRequest,
    FindNeedsForOfferResponse,
    ExplainFitRequest,
    ExplainFitResponse,
    SuggestConsortiumRequest,
    ConsortiumMember,
    SuggestConsortiumResponse,
    PlanAllocationRequest,
    AllocationLine,
    UnfundedNeed,
    PlanAllocationResponse,
    WatchMatchesRequest,
    WatchMatchesResponse,
    Contribution,
    Match,
    CreateMatchRequest,
    CreateMatchResponse,
    GetMatchRequest,
    GetMatchResponse,
    ListMatchesRequest,
    ListMatchesResponse,
    AcceptMatchRequest,
    AcceptMatchResponse,
    DeclineMatchRequest,
    DeclineMatchResponse,
    WithdrawMatchRequest,
    WithdrawMatchResponse,
    StartImplementationRequest,
    StartImplementationResponse,
    SuspendMatchRequest,
    SuspendMatchResponse,
    ResumeMatchRequest,
    ResumeMatchResponse,
    CompleteMatchRequest,
    CompleteMatchResponse,
    CancelMatchRequest,
    CancelMatchResponse,
    // administration
    MatchingPolicy,
    GetMatchingPolicyRequest,
    GetMatchingPolicyResponse,
    UpdateMatchingPolicyRequest,
    UpdateMatchingPolicyResponse,
    ExchangeRate,
    SetExchangeRatesRequest,
    SetExchangeRatesResponse,
    Principal,
    CreatePrincipalRequest,
    CreatePrincipalResponse,
    ListPrincipalsRequest,
    ListPrincipalsResponse,
    RevokePrincipalRequest,
    RevokePrincipalResponse,
    AuditEntry,
    ListAuditEntriesRequest,
    ListAuditEntriesResponse,
    ExportBackupRequest,
    ExportBackupResponse,
    DecisionCandidate,
    Decision,
    ListDecisionsRequest,
    ListDecisionsResponse,
    // reports
    ReportFilter,
    ReportMeta,
    HiddenRows,
    CoverageFigures,
    CoverageRow,
    CoverageCell,
    GetCoverageReportRequest,
    GetCoverageReportResponse,
    AgeingBucket,
    FollowUpRow,
    GetAgeingReportRequest,
    GetAgeingReportResponse,
    VolumeRow,
    GetMatchesReportRequest,
    GetMatchesReportResponse,
    StageCounts,
    ProviderRow,
    GetProviderPortfolioRequest,
    GetProviderPortfolioResponse,
    PipelineRow,
    GetPipelineReportRequest,
    GetPipelineReportResponse,
    SubmittedRow,
    ConsentRow,
    UnmatchedRow,
    AwaitedRow,
    ExpiringRow,
    SubmittedSection,
    ConsentSection,
    UnmatchedSection,
    AwaitedSection,
    FollowUpSection,
    ExpiringSection,
    GetWorklistRequest,
    GetWorklistResponse,
    MatchExportRow,
    ExportMatchesRequest,
    ExportMatchesResponse,
    ExportIatiRequest,
    ExportIatiResponse,
    // intake
    Evidence,
    CodeEvidence,
    SubAreaSuggestion,
    Excerpt,
    MoneySuggestion,
    DateSuggestion,
    NeedSuggestion,
    SuggestNeedsRequest,
    SuggestNeedsResponse,
    AreaSuggestion,
    SuggestOfferScopeRequest,
    SuggestOfferScopeResponse,
);

/// The API's descriptors, decoded once from [`pb::FILE_DESCRIPTOR_SET`].
pub fn pool() -> Result<&'static DescriptorPool, JsonError> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| JsonError::Descriptors(e.clone()))
}

/// The descriptor of a message by its fully qualified name.
pub fn descriptor(full_name: &'static str) -> Result<MessageDescriptor, JsonError> {
    pool()?
        .get_message_by_name(full_name)
        .ok_or(JsonError::UnknownMessage(full_name))
}

fn dynamic<M: ApiMessage>(msg: &M) -> Result<DynamicMessage, JsonError> {
    let desc = descriptor(M::FULL_NAME)?;
    DynamicMessage::decode(desc, msg.encode_to_vec().as_slice())
        .map_err(|e| JsonError::Decode(e.to_string()))
}

/// The proto3 JSON mapping of `msg` as a JSON value.
pub fn to_value<M: ApiMessage>(msg: &M) -> Result<serde_json::Value, JsonError> {
    let dynamic = dynamic(msg)?;
    let options = SerializeOptions::new();
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &options)?)
}

/// The proto3 JSON mapping of `msg` as text, fields in declaration order; `pretty`
/// indents it.
pub fn to_string<M: ApiMessage>(msg: &M, pretty: bool) -> Result<String, JsonError> {
    let dynamic = dynamic(msg)?;
    let options = SerializeOptions::new();
    let mut out = Vec::new();
    if pretty {
        let mut ser = serde_json::Serializer::pretty(&mut out);
        dynamic.serialize_with_options(&mut ser, &options)?;
    } else {
        let mut ser = serde_json::Serializer::new(&mut out);
        dynamic.serialize_with_options(&mut ser, &options)?;
    }
    String::from_utf8(out).map_err(|e| JsonError::Decode(e.to_string()))
}

/// Parses the proto3 JSON mapping of a message (`lowerCamel` or `snake_case` names; enums
/// by name or number; unknown fields refused).
pub fn from_str<M: ApiMessage>(text: &str) -> Result<M, JsonError> {
    let desc = descriptor(M::FULL_NAME)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let dynamic = desc.deserialize(&mut de)?;
    de.end()?;
    dynamic
        .transcode_to::<M>()
        .map_err(|e| JsonError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_of_the_api_is_named_here() {
        let pool = pool().expect("pool");
        for m in pool.all_messages() {
            let name = m.full_name();
            if name.starts_with("clearinghouse.v1.") {
                assert!(
                    API_MESSAGES.contains(&name),
                    "{name} is missing from api_messages!"
                );
            }
        }
    }

    #[test]
    fn every_named_message_is_in_the_descriptor_set() {
        let pool = pool().expect("pool");
        for name in API_MESSAGES {
            assert!(pool.get_message_by_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn output_uses_lower_camel_names_enum_names_and_string_int64() {
        let need = pb::Need {
            id: "n1".into(),
            requester_party_id: "state-KEN".into(),
            area: pb::ThematicArea::ExportTransshipment as i32,
            sub_areas: vec![pb::SubArea::ControlLists as i32],
            estimated_budget: Some(pb::Money {
                currency_code: "USD".into(),
                minor_units: 25_000_000,
            }),
            create_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        let v = to_value(&need).expect("json");
        assert_eq!(v["requesterPartyId"], "state-KEN");
        assert_eq!(v["area"], "THEMATIC_AREA_EXPORT_TRANSSHIPMENT");
        assert_eq!(v["subAreas"][0], "SUB_AREA_CONTROL_LISTS");
        assert_eq!(v["estimatedBudget"]["minorUnits"], "25000000");
        assert_eq!(v["createTime"], "2023-11-14T22:13:20Z");
        assert!(v.get("title").is_none(), "default fields are left out");
    }

    #[test]
    fn input_accepts_both_spellings_and_round_trips() {
        let a: pb::Need = from_str(
            r#"{"requesterPartyId": "state-KEN", "sub_areas": ["SUB_AREA_CONTROL_LISTS"],
                "estimatedBudget": {"currencyCode": "EUR", "minor_units": "5"}}"#,
        )
        .expect("parse");
        assert_eq!(a.requester_party_id, "state-KEN");
        assert_eq!(a.sub_areas, vec![pb::SubArea::ControlLists as i32]);
        assert_eq!(a.estimated_budget.as_ref().map(|m| m.minor_units), Some(5));
        let back: pb::Need = from_str(&to_string(&a, false).expect("json")).expect("parse");
        assert_eq!(back, a);
    }

    #[test]
    fn text_keeps_the_declaration_order_of_fields() {
        let e = pb::WatchMatchesResponse {
            sequence: 7,
            action: "match.create".into(),
            match_id: "m1".into(),
            ..Default::default()
        };
        assert_eq!(
            to_string(&e, false).expect("json"),
            r#"{"sequence":"7","action":"match.create","matchId":"m1"}"#
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = from_str::<pb::Need>(r#"{"titel": "x"}"#).expect_err("unknown field");
        assert!(err.to_string().contains("titel"), "{err}");
    }
}
