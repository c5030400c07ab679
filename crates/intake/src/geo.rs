//! Geographic scope of a programme: "worldwide", M49 regions and sub-regions (with the
//! names requests use: "West Africa", "Afrique de l'Ouest", "Sudeste Asiático",
//! "Latin America and the Caribbean"), and States named (see `countries`).

use crate::analyze::Document;
use crate::evidence::Evidence;
use crate::names::{NameTable, folded_words};

/// An M49 unit a name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The whole world.
    Global,
    /// An M49 region.
    Region(&'static str),
    /// An M49 sub-region.
    Subregion(&'static str),
    /// Several sub-regions (e.g. Latin America and the Caribbean).
    Subregions(&'static [&'static str]),
}

const LATIN_AMERICA: &[&str] = &["Caribbean", "Central America", "South America"];

/// Names of places, any language.
const PLACES: &[(&str, Place)] = &[
    ("global", Place::Global),
    ("globally", Place::Global),
    ("worldwide", Place::Global),
    ("world wide", Place::Global),
    ("all regions", Place::Global),
    ("all member states", Place::Global),
    ("all states", Place::Global),
    ("any state", Place::Global),
    ("any member state", Place::Global),
    ("mondial", Place::Global),
    ("mondiale", Place::Global),
    ("monde entier", Place::Global),
    ("toutes les regions", Place::Global),
    ("tous les etats membres", Place::Global),
    ("tous les etats", Place::Global),
    ("mundial", Place::Global),
    ("todo el mundo", Place::Global),
    ("todos los estados", Place::Global),
    ("todos los estados miembros", Place::Global),
    ("todas las regiones", Place::Global),
    ("africa", Place::Region("Africa")),
    ("afrique", Place::Region("Africa")),
    ("americas", Place::Region("Americas")),
    ("ameriques", Place::Region("Americas")),
    ("the americas", Place::Region("Americas")),
    ("las americas", Place::Region("Americas")),
    ("asia", Place::Region("Asia")),
    ("asie", Place::Region("Asia")),
    ("europe", Place::Region("Europe")),
    ("europa", Place::Region("Europe")),
    ("oceania", Place::Region("Oceania")),
    ("oceanie", Place::Region("Oceania")),
    ("pacific", Place::Region("Oceania")),
    ("pacifique", Place::Region("Oceania")),
    ("pacifico", Place::Region("Oceania")),
    ("pacific island states", Place::Region("Oceania")),
    ("pacific islands", Place::Region("Oceania")),
    ("eastern africa", Place::Subregion("Eastern Africa")),
    ("east africa", Place::Subregion("Eastern Africa")),
    ("afrique de l est", Place::Subregion("Eastern Africa")),
    ("afrique orientale", Place::Subregion("Eastern Africa")),
    ("africa oriental", Place::Subregion("Eastern Africa")),
    ("africa del este", Place::Subregion("Eastern Africa")),
    ("middle africa", Place::Subregion("Middle Africa")),
    ("central africa", Place::Subregion("Middle Africa")),
    ("afrique centrale", Place::Subregion("Middle Africa")),
    ("africa central", Place::Subregion("Middle Africa")),
    ("northern africa", Place::Subregion("Northern Africa")),
    ("north africa", Place::Subregion("Northern Africa")),
    ("afrique du nord", Place::Subregion("Northern Africa")),
    ("africa del norte", Place::Subregion("Northern Africa")),
    ("norte de africa", Place::Subregion("Northern Africa")),
    ("southern africa", Place::Subregion("Southern Africa")),
    ("afrique australe", Place::Subregion("Southern Africa")),
    ("africa austral", Place::Subregion("Southern Africa")),
    ("africa meridional", Place::Subregion("Southern Africa")),
    ("western africa", Place::Subregion("Western Africa")),
    ("west africa", Place::Subregion("Western Africa")),
    ("afrique de l ouest", Place::Subregion("Western Africa")),
    ("afrique occidentale", Place::Subregion("Western Africa")),
    ("africa occidental", Place::Subregion("Western Africa")),
    ("africa del oeste", Place::Subregion("Western Africa")),
    ("caribbean", Place::Subregion("Caribbean")),
    ("the caribbean", Place::Subregion("Caribbean")),
    ("caraibes", Place::Subregion("Caribbean")),
    ("caribe", Place::Subregion("Caribbean")),
    ("el caribe", Place::Subregion("Caribbean")),
    ("central america", Place::Subregion("Central America")),
    ("amerique centrale", Place::Subregion("Central America")),
    ("america central", Place::Subregion("Central America")),
    ("centroamerica", Place::Subregion("Central America")),
    ("northern america", Place::Subregion("Northern America")),
    ("north america", Place::Subregion("Northern America")),
    ("amerique du nord", Place::Subregion("Northern America")),
    ("america del norte", Place::Subregion("Northern America")),
    ("south america", Place::Subregion("South America")),
    ("amerique du sud", Place::Subregion("South America")),
    ("america del sur", Place::Subregion("South America")),
    ("sudamerica", Place::Subregion("South America")),
    ("suramerica", Place::Subregion("South America")),
    (
        "latin america and the caribbean",
        Place::Subregions(LATIN_AMERICA),
    ),
    (
        "amerique latine et caraibes",
        Place::Subregions(LATIN_AMERICA),
    ),
    (
        "amerique latine et les caraibes",
        Place::Subregions(LATIN_AMERICA),
    ),
    (
        "america latina y el caribe",
        Place::Subregions(LATIN_AMERICA),
    ),
    (
        "latin america",
        Place::Subregions(&["Central America", "South America"]),
    ),
    (
        "amerique latine",
        Place::Subregions(&["Central America", "South America"]),
    ),
    (
        "america latina",
        Place::Subregions(&["Central America", "South America"]),
    ),
    ("central asia", Place::Subregion("Central Asia")),
    ("asie centrale", Place::Subregion("Central Asia")),
    ("asia central", Place::Subregion("Central Asia")),
    ("eastern asia", Place::Subregion("Eastern Asia")),
    ("east asia", Place::Subregion("Eastern Asia")),
    ("asie de l est", Place::Subregion("Eastern Asia")),
    ("asie orientale", Place::Subregion("Eastern Asia")),
    ("asia oriental", Place::Subregion("Eastern Asia")),
    ("south eastern asia", Place::Subregion("South-eastern Asia")),
    ("south east asia", Place::Subregion("South-eastern Asia")),
    ("southeast asia", Place::Subregion("South-eastern Asia")),
    ("asie du sud est", Place::Subregion("South-eastern Asia")),
    ("sudeste asiatico", Place::Subregion("South-eastern Asia")),
    ("asia sudoriental", Place::Subregion("South-eastern Asia")),
    ("sureste asiatico", Place::Subregion("South-eastern Asia")),
    ("southern asia", Place::Subregion("Southern Asia")),
    ("south asia", Place::Subregion("Southern Asia")),
    ("asie du sud", Place::Subregion("Southern Asia")),
    ("asia meridional", Place::Subregion("Southern Asia")),
    ("asia del sur", Place::Subregion("Southern Asia")),
    ("western asia", Place::Subregion("Western Asia")),
    ("west asia", Place::Subregion("Western Asia")),
    ("middle east", Place::Subregion("Western Asia")),
    ("moyen orient", Place::Subregion("Western Asia")),
    ("asie occidentale", Place::Subregion("Western Asia")),
    ("asia occidental", Place::Subregion("Western Asia")),
    ("oriente medio", Place::Subregion("Western Asia")),
    ("medio oriente", Place::Subregion("Western Asia")),
    ("eastern europe", Place::Subregion("Eastern Europe")),
    ("europe de l est", Place::Subregion("Eastern Europe")),
    ("europe orientale", Place::Subregion("Eastern Europe")),
    ("europa oriental", Place::Subregion("Eastern Europe")),
    ("europa del este", Place::Subregion("Eastern Europe")),
    ("northern europe", Place::Subregion("Northern Europe")),
    ("europe du nord", Place::Subregion("Northern Europe")),
    ("europa septentrional", Place::Subregion("Northern Europe")),
    ("norte de europa", Place::Subregion("Northern Europe")),
    ("southern europe", Place::Subregion("Southern Europe")),
    ("europe du sud", Place::Subregion("Southern Europe")),
    ("europa meridional", Place::Subregion("Southern Europe")),
    ("sur de europa", Place::Subregion("Southern Europe")),
    ("western europe", Place::Subregion("Western Europe")),
    ("europe de l ouest", Place::Subregion("Western Europe")),
    ("europe occidentale", Place::Subregion("Western Europe")),
    ("europa occidental", Place::Subregion("Western Europe")),
    (
        "australia and new zealand",
        Place::Subregion("Australia and New Zealand"),
    ),
    ("melanesia", Place::Subregion("Melanesia")),
    ("melanesie", Place::Subregion("Melanesia")),
    ("polynesia", Place::Subregion("Polynesia")),
    ("polynesie", Place::Subregion("Polynesia")),
];

/// The place table, built once.
#[derive(Debug)]
pub(crate) struct Places(NameTable<Place>);

impl Places {
    /// Builds the table.
    pub fn new() -> Places {
        let mut t = NameTable::new();
        for (name, place) in PLACES {
            t.insert(folded_words(name), *place);
        }
        Places(t)
    }

    /// Places named in the text with their evidence, in text order; `skip` tells which
    /// tokens already belong to a State's name ("Central African Republic").
    pub fn find(&self, doc: &Document<'_>, skip: &[bool]) -> Vec<(Place, Evidence, usize)> {
        self.0
            .find(doc, |i| {
                (doc.tokens[i].is_term() && !skip.get(i).copied().unwrap_or(false))
                    .then(|| doc.tokens[i].folded.clone())
            })
            .into_iter()
            .map(|f| (f.value, doc.evidence(f.start, f.end), f.first))
            .collect()
    }
}
