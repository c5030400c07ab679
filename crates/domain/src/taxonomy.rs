//! The two-level 1540 assistance taxonomy with stable codes (publishable as IATI sector
//! vocabulary 99). A sub-area's full code is `AREA.SUB_AREA`.

use crate::code_enum;

code_enum! {
    /// Level 1: a thematic area anchored on the resolution's operative paragraphs.
    Area {
        /// OP1, OP6, OP8, action plans.
        NationalFramework = "NATIONAL_FRAMEWORK",
        /// OP2.
        LegislationEnforcement = "LEGISLATION_ENFORCEMENT",
        /// OP3(a).
        AccountingSecurity = "ACCOUNTING_SECURITY",
        /// OP3(b).
        PhysicalProtection = "PHYSICAL_PROTECTION",
        /// OP3(c).
        BorderLawEnforcement = "BORDER_LAW_ENFORCEMENT",
        /// OP3(d).
        ExportTransshipment = "EXPORT_TRANSSHIPMENT",
        /// Outreach and response.
        CrossCutting = "CROSS_CUTTING",
    }
}

code_enum! {
    /// Level 2: a sub-area, belonging to exactly one [`Area`].
    SubArea {
        /// National framework.
        TreatyAdherence = "TREATY_ADHERENCE",
        /// National framework.
        NationalActionPlan = "NATIONAL_ACTION_PLAN",
        /// National framework.
        NationalReporting = "NATIONAL_REPORTING",
        /// National framework.
        CoordinationMechanism = "COORDINATION_MECHANISM",
        /// National framework.
        RegulatoryAuthority = "REGULATORY_AUTHORITY",
        /// Legislation and enforcement.
        LegislativeDrafting = "LEGISLATIVE_DRAFTING",
        /// Legislation and enforcement.
        CriminalizationPenalties = "CRIMINALIZATION_PENALTIES",
        /// Legislation and enforcement.
        ProliferationFinancing = "PROLIFERATION_FINANCING",
        /// Legislation and enforcement.
        ProsecutionJudicial = "PROSECUTION_JUDICIAL",
        /// Legislation and enforcement.
        MeansOfDeliveryLaw = "MEANS_OF_DELIVERY_LAW",
        /// Accounting and security.
        MaterialAccounting = "MATERIAL_ACCOUNTING",
        /// Accounting and security.
        LicensingRegistration = "LICENSING_REGISTRATION",
        /// Accounting and security.
        SecureStorageTransport = "SECURE_STORAGE_TRANSPORT",
        /// Accounting and security.
        LabBiosafetyBiosecurity = "LAB_BIOSAFETY_BIOSECURITY",
        /// Accounting and security.
        ChemicalSiteSecurity = "CHEMICAL_SITE_SECURITY",
        /// Accounting and security.
        RadioactiveSourceSecurity = "RADIOACTIVE_SOURCE_SECURITY",
        /// Physical protection.
        FacilityProtection = "FACILITY_PROTECTION",
        /// Physical protection.
        InsiderThreat = "INSIDER_THREAT",
        /// Physical protection.
        TransportProtection = "TRANSPORT_PROTECTION",
        /// Physical protection.
        ComputerSecurity = "COMPUTER_SECURITY",
        /// Border and law enforcement.
        DetectionEquipment = "DETECTION_EQUIPMENT",
        /// Border and law enforcement.
        CustomsBorderTraining = "CUSTOMS_BORDER_TRAINING",
        /// Border and law enforcement.
        IllicitTraffickingInvestigation = "ILLICIT_TRAFFICKING_INVESTIGATION",
        /// Border and law enforcement.
        BrokeringControls = "BROKERING_CONTROLS",
        /// Border and law enforcement.
        InteragencyInfoSharing = "INTERAGENCY_INFO_SHARING",
        /// Border and law enforcement.
        LaboratoryForensics = "LABORATORY_FORENSICS",
        /// Export and trans-shipment.
        ExportLicensing = "EXPORT_LICENSING",
        /// Export and trans-shipment.
        ControlLists = "CONTROL_LISTS",
        /// Export and trans-shipment.
        TransitTransshipment = "TRANSIT_TRANSSHIPMENT",
        /// Export and trans-shipment.
        EndUserControls = "END_USER_CONTROLS",
        /// Export and trans-shipment.
        FundsServicesControls = "FUNDS_SERVICES_CONTROLS",
        /// Export and trans-shipment.
        IndustryOutreach = "INDUSTRY_OUTREACH",
        /// Export and trans-shipment.
        EnforcementPenalties = "ENFORCEMENT_PENALTIES",
        /// Cross-cutting.
        AwarenessOutreach = "AWARENESS_OUTREACH",
        /// Cross-cutting.
        CapacityTrainingGeneral = "CAPACITY_TRAINING_GENERAL",
        /// Cross-cutting.
        DetectionResponsePreparedness = "DETECTION_RESPONSE_PREPAREDNESS",
        /// Cross-cutting.
        Sustainability = "SUSTAINABILITY",
    }
}

impl SubArea {
    /// The area this sub-area belongs to.
    pub fn area(self) -> Area {
        use SubArea as S;
        match self {
            S::TreatyAdherence
            | S::NationalActionPlan
            | S::NationalReporting
            | S::CoordinationMechanism
            | S::RegulatoryAuthority => Area::NationalFramework,
            S::LegislativeDrafting
            | S::CriminalizationPenalties
            | S::ProliferationFinancing
            | S::ProsecutionJudicial
            | S::MeansOfDeliveryLaw => Area::LegislationEnforcement,
            S::MaterialAccounting
            | S::LicensingRegistration
            | S::SecureStorageTransport
            | S::LabBiosafetyBiosecurity
            | S::ChemicalSiteSecurity
            | S::RadioactiveSourceSecurity => Area::AccountingSecurity,
            S::FacilityProtection
            | S::InsiderThreat
            | S::TransportProtection
            | S::ComputerSecurity => Area::PhysicalProtection,
            S::DetectionEquipment
            | S::CustomsBorderTraining
            | S::IllicitTraffickingInvestigation
            | S::BrokeringControls
            | S::InteragencyInfoSharing
            | S::LaboratoryForensics => Area::BorderLawEnforcement,
            S::ExportLicensing
            | S::ControlLists
            | S::TransitTransshipment
            | S::EndUserControls
            | S::FundsServicesControls
            | S::IndustryOutreach
            | S::EnforcementPenalties => Area::ExportTransshipment,
            S::AwarenessOutreach
            | S::CapacityTrainingGeneral
            | S::DetectionResponsePreparedness
            | S::Sustainability => Area::CrossCutting,
        }
    }

    /// The full code `AREA.SUB_AREA`.
    pub fn full_code(self) -> String {
        format!("{}.{}", self.area().code(), self.code())
    }

    /// Parses a full code `AREA.SUB_AREA`; the area must be the sub-area's own.
    pub fn from_full_code(code: &str) -> Option<SubArea> {
        let (area, sub) = code.split_once('.')?;
        let sub = SubArea::from_code(sub)?;
        (sub.area().code() == area).then_some(sub)
    }
}

impl Area {
    /// The sub-areas of this area, in taxonomy order.
    pub fn sub_areas(self) -> impl Iterator<Item = SubArea> {
        SubArea::ALL
            .iter()
            .copied()
            .filter(move |s| s.area() == self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomy_has_seven_areas_and_thirty_seven_sub_areas() {
        assert_eq!(Area::ALL.len(), 7);
        assert_eq!(SubArea::ALL.len(), 37);
        let counts: Vec<usize> = Area::ALL.iter().map(|a| a.sub_areas().count()).collect();
        assert_eq!(counts, vec![5, 5, 6, 4, 6, 7, 4]);
    }

    #[test]
    fn full_codes_round_trip_and_check_the_parent() {
        for s in SubArea::ALL {
            assert_eq!(SubArea::from_full_code(&s.full_code()), Some(*s));
        }
        assert_eq!(
            SubArea::ControlLists.full_code(),
            "EXPORT_TRANSSHIPMENT.CONTROL_LISTS"
        );
        assert_eq!(
            SubArea::from_full_code("PHYSICAL_PROTECTION.CONTROL_LISTS"),
            None
        );
        assert_eq!(SubArea::from_full_code("CONTROL_LISTS"), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<&str> = SubArea::ALL.iter().map(|s| s.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), SubArea::ALL.len());
    }
}
