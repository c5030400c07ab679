//! Closed code lists of the domain (weapon domains, kinds of help, funding modes, ...).
//!
//! Every list is an enum with a stable upper-case code (`code()` / `from_code()`) and
//! `ALL` in declaration order. The codes are what storage records and reports use.

/// Declares a code-list enum with `ALL`, `code()` and `from_code()`.
#[macro_export]
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// Looks a value up by its code.
            pub fn from_code(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum! {
    /// Weapon domain; an empty set on a need or an offer means all.
    WeaponDomain {
        /// Nuclear, radiological included.
        Nuclear = "NUCLEAR",
        /// Chemical.
        Chemical = "CHEMICAL",
        /// Biological.
        Biological = "BIOLOGICAL",
        /// Means of delivery.
        MeansOfDelivery = "MEANS_OF_DELIVERY",
    }
}

code_enum! {
    /// Kind of help (IATI aid type in the comments).
    AssistanceKind {
        /// D01.
        LegislativeAdvice = "LEGISLATIVE_ADVICE",
        /// D02.
        Training = "TRAINING",
        /// D01.
        ExpertMission = "EXPERT_MISSION",
        /// D02.
        AssessmentPeerReview = "ASSESSMENT_PEER_REVIEW",
        /// C01.
        Equipment = "EQUIPMENT",
        /// C01.
        Infrastructure = "INFRASTRUCTURE",
        /// D02.
        ExchangeOfExperience = "EXCHANGE_OF_EXPERIENCE",
        /// D02.
        TranslationDocumentation = "TRANSLATION_DOCUMENTATION",
        /// C01 / B03 / B04.
        FinancialContribution = "FINANCIAL_CONTRIBUTION",
    }
}

code_enum! {
    /// How a project is funded.
    FundingMode {
        /// One provider carries the project alone.
        SingleDonor = "SINGLE_DONOR",
        /// Several providers pool money for one project.
        JointlyFunded = "JOINTLY_FUNDED",
        /// Through an international organization's fund (IATI B03).
        PooledIoFund = "POOLED_IO_FUND",
        /// Experts, training places or equipment.
        InKind = "IN_KIND",
    }
}

code_enum! {
    /// Priority of a need.
    Priority {
        /// High.
        High = "HIGH",
        /// Medium.
        Medium = "MEDIUM",
        /// Low.
        Low = "LOW",
    }
}

code_enum! {
    /// How a request reached the Committee.
    SubmissionChannel {
        /// Note verbale from a Permanent Mission.
        NoteVerbale = "NOTE_VERBALE",
        /// Inside a national report.
        NationalReport = "NATIONAL_REPORT",
        /// Referral by another organization.
        Referral = "REFERRAL",
        /// Through the API.
        Api = "API",
    }
}

code_enum! {
    /// Publication consent of a need.
    PublicationConsent {
        /// Within the 5-working-day objection window.
        Pending = "PENDING",
        /// The window passed without objection.
        DeemedGranted = "DEEMED_GRANTED",
        /// Given explicitly.
        Granted = "GRANTED",
        /// The State objected.
        Withheld = "WITHHELD",
    }
}

code_enum! {
    /// Who may see a need.
    Visibility {
        /// Everyone.
        Public = "PUBLIC",
        /// Providers, brokers and the requester.
        Providers = "PROVIDERS",
        /// Brokers and the requester only.
        CommitteeOnly = "COMMITTEE_ONLY",
    }
}

code_enum! {
    /// Budget status of an offer (IATI).
    BudgetStatus {
        /// Indicative.
        Indicative = "INDICATIVE",
        /// Committed.
        Committed = "COMMITTED",
    }
}

code_enum! {
    /// Global Partnership sub-working group.
    GpSubWorkingGroup {
        /// Nuclear and radiological security.
        NuclearRadiological = "NUCLEAR_RADIOLOGICAL",
        /// Biological security.
        Biological = "BIOLOGICAL",
        /// Chemical security.
        Chemical = "CHEMICAL",
        /// Resolution 1540.
        Resolution1540 = "RESOLUTION_1540",
    }
}

code_enum! {
    /// What kind of organization a party is.
    PartyKind {
        /// A State.
        State = "STATE",
        /// An international organization.
        InternationalOrganization = "INTERNATIONAL_ORGANIZATION",
        /// A regional organization.
        RegionalOrganization = "REGIONAL_ORGANIZATION",
        /// An NGO or academic body.
        NgoAcademic = "NGO_ACADEMIC",
        /// A Global Partnership initiative.
        GpInitiative = "GP_INITIATIVE",
    }
}
