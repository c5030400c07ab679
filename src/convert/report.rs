//! Reports to and from the wire. The proto messages of `report.proto` mirror the report
//! structs of `clearinghouse-reports` field by field (same names, same shapes), so one
//! generic bridge carries them all through the proto3 JSON mapping: a struct is
//! serialized with serde and read as the message with `prost-reflect`, and back. The
//! server uses [`to_wire`]; the client, which renders reports, uses [`from_wire`]. A test
//! round-trips every report.

use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, SerializeOptions};
use serde::{Serialize, de::DeserializeOwned};

use crate::{error::ApiError, json::ApiMessage, pb};

fn descriptor(full_name: &'static str) -> Result<prost_reflect::MessageDescriptor, ApiError> {
    crate::json::descriptor(full_name).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `value` as the message `M`.
pub fn to_wire<T: Serialize, M: ApiMessage>(value: &T) -> Result<M, ApiError> {
    let full_name = M::FULL_NAME;
    let json = serde_json::to_value(value)
        .map_err(|e| ApiError::Internal(format!("report to JSON: {e}")))?;
    let dynamic = DynamicMessage::deserialize_with_options(
        descriptor(full_name)?,
        json,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|e| ApiError::Internal(format!("report as {full_name}: {e}")))?;
    M::decode(dynamic.encode_to_vec().as_slice())
        .map_err(|e| ApiError::Internal(format!("report as {full_name}: {e}")))
}

/// The message `msg` as the report struct `T`.
pub fn from_wire<M: ApiMessage, T: DeserializeOwned>(msg: &M) -> Result<T, ApiError> {
    let full_name = M::FULL_NAME;
    let dynamic = DynamicMessage::decode(descriptor(full_name)?, msg.encode_to_vec().as_slice())
        .map_err(|e| ApiError::Internal(format!("{full_name}: {e}")))?;
    let json = dynamic
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new()
                .stringify_64_bit_integers(false)
                .use_proto_field_name(true)
                .skip_default_fields(false),
        )
        .map_err(|e| ApiError::Internal(format!("{full_name} to JSON: {e}")))?;
    serde_json::from_value(json).map_err(|e| ApiError::Internal(format!("{full_name}: {e}")))
}

/// A report filter from the wire, every bad field reported at once.
pub fn filter_in(
    f: Option<&pb::ReportFilter>,
) -> Result<clearinghouse_reports::ReportFilter, ApiError> {
    use clearinghouse_reports::{GeoFilter, ReportFilter};
    let Some(f) = f else {
        return Ok(ReportFilter::default());
    };
    let mut v = clearinghouse_domain::Violations::new("filter");
    let requested_from = super::date_in(&mut v, "requested_from", &f.requested_from);
    let requested_until = super::date_in(&mut v, "requested_until", &f.requested_until);
    let area = super::enums::AREA.optional(&mut v, "area", f.area);
    let gp =
        super::enums::GP_GROUP.optional(&mut v, "gp_sub_working_group", f.gp_sub_working_group);
    let geography = match (f.region.is_empty(), f.subregion.is_empty()) {
        (true, true) => None,
        (false, true) => Some(GeoFilter::Region(f.region.clone())),
        (true, false) => Some(GeoFilter::SubRegion(f.subregion.clone())),
        (false, false) => {
            v.add("subregion", "give a region or a sub-region, not both");
            None
        }
    };
    v.into_result()?;
    Ok(ReportFilter {
        requested_from,
        requested_until,
        geography,
        area,
        gp_sub_working_group: gp,
    })
}

#[cfg(test)]
mod tests {
    //! Every report crosses the wire and comes back equal: the proto messages mirror the
    //! report structs exactly (a field added on one side only fails here).

    use clearinghouse_domain::{Date, Offer};
    use clearinghouse_matching::{
        ExchangeRates, FitContext, NeedStage, Policy, naive,
        synth::{self, Shape},
    };
    use clearinghouse_reports::{
        Brief, ReportFilter, ReportInput, Viewer, ageing::AgeingReport, coverage::CoverageReport,
        match_volume::MatchVolumeReport, pipeline::PipelineReport, portfolio::PortfolioReport,
        worklist::Worklist,
    };

    use super::*;

    fn round_trip<T, M>(value: &T)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
        M: ApiMessage,
    {
        let wire: M = to_wire(value).expect("to the wire");
        let back: T = from_wire(&wire).expect("from the wire");
        assert_eq!(&back, value, "{}", M::FULL_NAME);
    }

    #[test]
    fn every_report_crosses_the_wire_and_comes_back_equal() {
        let data = synth::generate(
            11,
            Shape {
                needs: 120,
                offers: 60,
                planted_pct: 30,
            },
        );
        let rates = synth::rates();
        let today = data.today;
        let viewer = Viewer::broker();
        let filter = ReportFilter::default();
        let input = ReportInput {
            needs: &data.needs,
            offers: &data.offers,
            matches: &[],
            parties: &[],
            today,
            rates: &rates,
            viewer: &viewer,
            filter: &filter,
        };
        let brief = Brief::build(&input);
        round_trip::<CoverageReport, pb::GetCoverageReportResponse>(&brief.coverage);
        round_trip::<AgeingReport, pb::GetAgeingReportResponse>(&brief.ageing);
        round_trip::<MatchVolumeReport, pb::GetMatchesReportResponse>(&brief.matches);
        round_trip::<PortfolioReport, pb::GetProviderPortfolioResponse>(&brief.portfolio);
        round_trip::<PipelineReport, pb::GetPipelineReportResponse>(&brief.pipeline);
        let policy = Policy::default();
        let ctx = FitContext {
            policy: &policy,
            rates: &ExchangeRates::only(rates.base),
            today,
            stage: NeedStage::Circulated,
        };
        let offers: Vec<Offer> = data.offers.clone();
        let best = |n: &clearinghouse_domain::Need| {
            naive::offers_for_need(n, &offers, &ctx, 1, &mut naive::Work::default())
                .into_iter()
                .next()
                .map(|r| (clearinghouse_domain::OfferId(r.id), r.score_milli))
        };
        let worklist = clearinghouse_reports::worklist::worklist(&input, &best);
        round_trip::<Worklist, pb::GetWorklistResponse>(&worklist);
        let _ = Date::parse("2027-01-01");
    }
}
