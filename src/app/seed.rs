//! Reference data on first start: every UN member State, a starter list of international
//! and regional organizations, and the bootstrap admin key.

use std::{fs, io::Write, path::Path};

use clearinghouse_domain::{
    Party, PartyFields, PartyId, PartyKind, Principal, PrincipalId, Role, Timestamp, geo,
};
use clearinghouse_storage::{Created, IdempotencyKey, Store, WriteMeta};

use super::new_id;
use crate::{auth::keys, error::ApiError};

/// Name of the bootstrap admin key file inside the data directory.
pub const BOOTSTRAP_KEY_FILE: &str = "bootstrap-admin.key";

/// Organizations registered on first start: (id suffix, kind, short name, name, seat).
const ORGANIZATIONS: &[(&str, PartyKind, &str, &str, &str)] = &[
    (
        "iaea",
        PartyKind::InternationalOrganization,
        "IAEA",
        "International Atomic Energy Agency",
        "AUT",
    ),
    (
        "opcw",
        PartyKind::InternationalOrganization,
        "OPCW",
        "Organisation for the Prohibition of Chemical Weapons",
        "NLD",
    ),
    (
        "interpol",
        PartyKind::InternationalOrganization,
        "INTERPOL",
        "International Criminal Police Organization",
        "FRA",
    ),
    (
        "unoda",
        PartyKind::InternationalOrganization,
        "UNODA",
        "United Nations Office for Disarmament Affairs",
        "USA",
    ),
    (
        "unodc",
        PartyKind::InternationalOrganization,
        "UNODC",
        "United Nations Office on Drugs and Crime",
        "AUT",
    ),
    (
        "wco",
        PartyKind::InternationalOrganization,
        "WCO",
        "World Customs Organization",
        "BEL",
    ),
    (
        "who",
        PartyKind::InternationalOrganization,
        "WHO",
        "World Health Organization",
        "CHE",
    ),
    (
        "woah",
        PartyKind::InternationalOrganization,
        "WOAH",
        "World Organisation for Animal Health",
        "FRA",
    ),
    (
        "bwc-isu",
        PartyKind::InternationalOrganization,
        "BWC ISU",
        "Biological Weapons Convention Implementation Support Unit",
        "CHE",
    ),
    (
        "unicri",
        PartyKind::InternationalOrganization,
        "UNICRI",
        "United Nations Interregional Crime and Justice Research Institute",
        "ITA",
    ),
    (
        "eu",
        PartyKind::RegionalOrganization,
        "EU",
        "European Union",
        "BEL",
    ),
    (
        "osce",
        PartyKind::RegionalOrganization,
        "OSCE",
        "Organization for Security and Co-operation in Europe",
        "AUT",
    ),
    (
        "oas",
        PartyKind::RegionalOrganization,
        "OAS",
        "Organization of American States",
        "USA",
    ),
    (
        "au",
        PartyKind::RegionalOrganization,
        "AU",
        "African Union",
        "ETH",
    ),
    (
        "caricom",
        PartyKind::RegionalOrganization,
        "CARICOM",
        "Caribbean Community",
        "GUY",
    ),
    (
        "sica",
        PartyKind::RegionalOrganization,
        "SICA",
        "Central American Integration System",
        "SLV",
    ),
    (
        "asean",
        PartyKind::RegionalOrganization,
        "ASEAN",
        "Association of Southeast Asian Nations",
        "IDN",
    ),
    (
        "ecowas",
        PartyKind::RegionalOrganization,
        "ECOWAS",
        "Economic Community of West African States",
        "NGA",
    ),
    (
        "gp",
        PartyKind::GpInitiative,
        "GP",
        "Global Partnership Against the Spread of Weapons and Materials of Mass Destruction",
        "",
    ),
];

fn system_meta(action: &str, now: Timestamp) -> WriteMeta {
    WriteMeta {
        actor: PrincipalId::system(),
        action: action.to_owned(),
        now,
        idempotency: None,
    }
}

/// The reference parties: UN member States and the starter organizations.
pub fn reference_parties(now: Timestamp) -> Result<Vec<Party>, ApiError> {
    let states = geo::un_members().map(|c| PartyFields {
        kind: Some(PartyKind::State),
        display_name: c.name.clone(),
        short_name: c.iso3.to_owned(),
        country_code: c.iso3.to_owned(),
        external_id: String::new(),
        description: String::new(),
    });
    let orgs = ORGANIZATIONS
        .iter()
        .map(|(_, kind, short, name, seat)| PartyFields {
            kind: Some(*kind),
            display_name: (*name).to_owned(),
            short_name: (*short).to_owned(),
            country_code: (*seat).to_owned(),
            external_id: String::new(),
            description: String::new(),
        });
    let ids = geo::un_members().map(|_| PartyId(String::new())).chain(
        ORGANIZATIONS
            .iter()
            .map(|(id, ..)| PartyId(format!("org-{id}"))),
    );
    states
        .chain(orgs)
        .zip(ids)
        .map(|(f, id)| Party::new(id, f, now, PrincipalId::system()).map_err(ApiError::Invalid))
        .collect()
}

/// Seeds reference parties (idempotently) and, on a store without principals, creates
/// the bootstrap admin and writes its key to `<data_dir>/bootstrap-admin.key` (0600).
pub fn ensure_reference_data(
    store: &Store,
    data_dir: &Path,
    now: Timestamp,
) -> Result<(), ApiError> {
    let added = store.create_missing(&reference_parties(now)?, &system_meta("party.seed", now))?;
    if added > 0 {
        tracing::info!(parties = added, "reference parties registered");
    }
    if store.count::<Principal>()? == 0 {
        let id = new_id();
        let (key, key_hash) = keys::generate(&id);
        let path = data_dir.join(BOOTSTRAP_KEY_FILE);
        write_secret_file(&path, key.expose())
            .map_err(|e| ApiError::Internal(format!("cannot write {}: {e}", path.display())))?;
        let admin = Principal {
            id: PrincipalId(id),
            version: 1,
            display_name: "bootstrap admin".to_owned(),
            role: Role::Admin,
            party: None,
            key_hash,
            expires_at: None,
            revoked_at: None,
            created_at: now,
            created_by: PrincipalId::system(),
        };
        // Replicas starting together on an empty database all see no principal; the one
        // idempotency key lets exactly one of them create the admin, and the others find it.
        let meta = WriteMeta {
            idempotency: Some(IdempotencyKey {
                scope: PrincipalId::system().0,
                request_id: "bootstrap-admin".to_owned(),
                payload_hash: [0; 32],
            }),
            ..system_meta("principal.bootstrap", now)
        };
        match store.create(admin, &meta)? {
            Created::New(_) => {
                tracing::info!(path = %path.display(), "bootstrap admin key written");
            }
            Created::Replayed(_) => {
                // Another replica's key is the admin's; this one matches no principal.
                fs::remove_file(&path).map_err(|e| {
                    ApiError::Internal(format!("cannot remove {}: {e}", path.display()))
                })?;
                tracing::info!(
                    "bootstrap admin created by another replica; its key is in that replica's data directory"
                );
            }
        }
    }
    Ok(())
}

fn write_secret_file(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    writeln!(f, "{secret}")?;
    f.sync_all()
}
