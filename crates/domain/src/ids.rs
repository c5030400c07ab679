//! Opaque identifier newtypes. Ids are chosen by the server (ULIDs, so that id order is
//! creation order) and passed in; the domain never generates them.

use std::fmt;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(
    /// Id of a need.
    NeedId
);
id_type!(
    /// Id of an offer.
    OfferId
);
id_type!(
    /// Id of a party.
    PartyId
);
id_type!(
    /// Id of a principal.
    PrincipalId
);

impl PartyId {
    /// The stable id of the party of a State: `state-` and its ISO3 code.
    pub fn for_state(iso3: &str) -> PartyId {
        PartyId(format!("state-{iso3}"))
    }
}

impl PrincipalId {
    /// The principal recorded for changes the server makes itself.
    pub fn system() -> PrincipalId {
        PrincipalId("system".to_owned())
    }
}
