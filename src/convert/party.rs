//! `pb::Party` ↔ [`Party`].

use clearinghouse_domain::{Party, PartyFields, Violations};

use super::{enums, etag_out, ts_out};
use crate::pb;

/// The writable fields of a party from the wire.
pub fn fields_in(v: &mut Violations, p: &pb::Party) -> PartyFields {
    PartyFields {
        kind: enums::PARTY_KIND.optional(v, "kind", p.kind),
        display_name: p.display_name.clone(),
        short_name: p.short_name.clone(),
        country_code: p.country_code.clone(),
        external_id: p.external_id.clone(),
        description: p.description.clone(),
    }
}

/// A party for the wire.
pub fn out(p: &Party) -> pb::Party {
    let c = p.country();
    pb::Party {
        id: p.id.0.clone(),
        etag: etag_out(p.version),
        kind: enums::PARTY_KIND.out(p.kind),
        display_name: p.fields.display_name.clone(),
        short_name: p.fields.short_name.clone(),
        country_code: p.fields.country_code.clone(),
        region: c.map(|c| c.region.to_owned()).unwrap_or_default(),
        subregion: c.map(|c| c.subregion.to_owned()).unwrap_or_default(),
        external_id: p.fields.external_id.clone(),
        description: p.fields.description.clone(),
        create_time: Some(ts_out(p.created_at)),
        update_time: Some(ts_out(p.updated_at)),
    }
}
