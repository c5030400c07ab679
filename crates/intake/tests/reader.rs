//! Behaviour of the intake reader on small texts: negation, phrases, folding, offsets,
//! splitting, extraction in English, French and Spanish, limits and determinism.

use clearinghouse_domain::{Area, AssistanceKind, Date, FundingMode, SubArea, WeaponDomain};
use clearinghouse_intake::{
    EMBEDDED_LEXICONS, Evidence, IntakeError, Language, MAX_TEXT_BYTES, MAX_TITLE_CHARS,
    NeedSuggestion, Reader, suggest_needs, suggest_offer_scope,
};

fn reader() -> &'static Reader {
    clearinghouse_intake::reader().expect("shipped lexicons compile")
}

fn needs(text: &str) -> Vec<NeedSuggestion> {
    reader().suggest_needs(text).expect("readable").needs
}

fn only(text: &str) -> NeedSuggestion {
    let mut n = needs(text);
    assert_eq!(n.len(), 1, "{text}: {n:#?}");
    n.remove(0)
}

fn kinds(n: &NeedSuggestion) -> Vec<AssistanceKind> {
    n.assistance_kinds.iter().map(|k| k.code).collect()
}

fn subs(n: &NeedSuggestion) -> Vec<SubArea> {
    n.sub_areas.iter().map(|s| s.sub_area).collect()
}

fn chars(text: &str, e: &Evidence) -> String {
    text.chars()
        .skip(e.start as usize)
        .take((e.end - e.start) as usize)
        .collect()
}

fn date(s: &str) -> Date {
    Date::parse(s).expect("date")
}

#[test]
fn shipped_lexicons_parse_and_cover_every_code_in_every_language() {
    // Reader::new fails on a file that does not parse, an unknown code, a term made only
    // of stopwords, or a sub-area, kind, domain or funding mode without terms.
    let reader = Reader::new().expect("lexicons compile");
    for (i, source) in EMBEDDED_LEXICONS.iter().enumerate() {
        let value: toml::Table = toml::from_str(source).expect("valid TOML");
        for (table, codes) in [
            (
                "sub_area",
                SubArea::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
            ),
            (
                "kind",
                AssistanceKind::ALL.iter().map(|c| c.code()).collect(),
            ),
            (
                "weapon_domain",
                WeaponDomain::ALL.iter().map(|c| c.code()).collect(),
            ),
            (
                "funding_mode",
                FundingMode::ALL.iter().map(|c| c.code()).collect(),
            ),
        ] {
            let t = value[table].as_table().expect("table");
            for code in codes {
                let entry = t
                    .get(code)
                    .unwrap_or_else(|| panic!("lexicon {i}: {table}.{code} missing"));
                let strong = entry["strong"].as_array().map_or(0, Vec::len);
                assert!(strong > 0, "lexicon {i}: {table}.{code} has no strong term");
            }
        }
    }
    assert_eq!(
        reader.detect_language("The customs officers need training."),
        Language::English
    );
}

#[test]
fn a_lexicon_with_a_missing_code_or_a_stopword_term_is_refused() {
    let [en, fr, es] = EMBEDDED_LEXICONS;
    let without = en.replace(
        "[sub_area.BROKERING_CONTROLS]",
        "[sub_area.BROKERING_CONTROLS_OLD]",
    );
    let err = Reader::from_sources([&without, fr, es]).expect_err("unknown code");
    assert!(err.problem.contains("BROKERING_CONTROLS_OLD"), "{err}");
    let stop = en.replace(
        "strong = [\"cross-cutting\"]",
        "strong = [\"cross-cutting\", \"of the\"]",
    );
    let err = Reader::from_sources([&stop, fr, es]).expect_err("stopword term");
    assert!(err.problem.contains("of the"), "{err}");
}

#[test]
fn a_negated_term_gives_no_evidence_in_each_language() {
    let en = only("We request training of customs officers. No equipment is requested.");
    assert!(!kinds(&en).contains(&AssistanceKind::Equipment), "{en:#?}");
    let en = only("We request training of customs officers; detection equipment is not requested.");
    assert!(!kinds(&en).contains(&AssistanceKind::Equipment), "{en:#?}");
    let fr = only(
        "Nous sollicitons la formation des agents des douanes. Aucun équipement n'est demandé.",
    );
    assert!(!kinds(&fr).contains(&AssistanceKind::Equipment), "{fr:#?}");
    let fr = only("Formation des agents des douanes ; l'équipement n'est pas demandé.");
    assert!(!kinds(&fr).contains(&AssistanceKind::Equipment), "{fr:#?}");
    let es = only("Se solicita capacitación de funcionarios de aduanas. No se solicitan equipos.");
    assert!(!kinds(&es).contains(&AssistanceKind::Equipment), "{es:#?}");
    let other = only(
        "Any assistance for customs officers other than training is welcome, such as equipment.",
    );
    assert!(
        !kinds(&other).contains(&AssistanceKind::Training),
        "{other:#?}"
    );
    // Without the cue the same words count.
    let plain = only("We request training of customs officers and detection equipment.");
    assert!(kinds(&plain).contains(&AssistanceKind::Equipment));
}

#[test]
fn stating_a_lack_is_not_a_negation() {
    let n = only(
        "Zambia has no national authority for the Chemical Weapons Convention and requests help to establish one.",
    );
    assert_eq!(n.thematic_area, Area::NationalFramework);
    assert!(subs(&n).contains(&SubArea::RegulatoryAuthority), "{n:#?}");
    let fr = only(
        "Le pays ne dispose pas encore d'une autorité nationale pour la Convention sur les armes chimiques.",
    );
    assert!(subs(&fr).contains(&SubArea::RegulatoryAuthority), "{fr:#?}");
}

#[test]
fn a_phrase_outweighs_its_words_and_hides_them() {
    // "export licence" is an export-licensing phrase; "licence" alone is weak evidence of
    // licensing and registration of material holders.
    let n = only("Training of officers who process export licence applications.");
    assert_eq!(n.thematic_area, Area::ExportTransshipment);
    assert_eq!(subs(&n)[0], SubArea::ExportLicensing);
    let phrase = &n.sub_areas[0].evidence;
    assert!(
        phrase.iter().any(|e| e.phrase == "export licence"),
        "{phrase:?}"
    );
    // A passage whose only evidence is a weak word makes no need.
    assert!(needs("Please send us the licence.").is_empty());
}

#[test]
fn case_and_accents_do_not_matter() {
    let a =
        only("Appui à l'élaboration de la liste nationale de contrôle des biens à double usage.");
    let b =
        only("APPUI A L'ELABORATION DE LA LISTE NATIONALE DE CONTROLE DES BIENS A DOUBLE USAGE.");
    assert_eq!(subs(&a), subs(&b));
    assert_eq!(subs(&a)[0], SubArea::ControlLists);
    let es = only("capacitacion en bioseguridad para el laboratorio de nivel de bioseguridad 3");
    assert_eq!(subs(&es)[0], SubArea::LabBiosafetyBiosecurity);
}

#[test]
fn evidence_offsets_point_at_the_words_in_chars() {
    let text = "Réf. n° 12 — Le Sénégal sollicite la fourniture de détecteurs de rayonnements portatifs, \
                une formation des agents des douanes et 250 000 euros d'ici juin 2027.";
    let got = suggest_needs(text).expect("readable");
    let mut all: Vec<&Evidence> = Vec::new();
    for n in &got.needs {
        for s in &n.sub_areas {
            all.extend(&s.evidence);
        }
        for k in &n.assistance_kinds {
            all.extend(&k.evidence);
        }
        all.extend(n.money.iter().map(|m| &m.evidence));
        all.extend(n.needed_by.iter().map(|d| &d.evidence));
        for ex in &n.excerpts {
            let e = Evidence {
                phrase: ex.text.clone(),
                start: ex.start,
                end: ex.end,
            };
            assert_eq!(chars(text, &e), ex.text);
        }
    }
    if let Some(s) = &got.requesting_state {
        all.extend(&s.evidence);
    }
    assert!(all.len() >= 6, "{all:?}");
    for e in all {
        assert_eq!(chars(text, e), e.phrase, "{e:?}");
    }
}

#[test]
fn numbered_items_in_different_areas_become_separate_needs() {
    let text = "The Mission requests the following:\n\
                1. Radiation portal monitors for the port of entry.\n\
                2) Drafting of a law on chemical weapons offences.\n\
                (a) Training of customs officers in commodity identification.\n\
                - A national tabletop exercise for first responders.";
    let got = needs(text);
    let areas: Vec<Area> = got.iter().map(|n| n.thematic_area).collect();
    assert_eq!(
        areas,
        [
            Area::BorderLawEnforcement,
            Area::LegislationEnforcement,
            Area::CrossCutting
        ]
    );
    // Items 1 and (a) share the border area and are merged, each kept as an excerpt.
    assert_eq!(got[0].excerpts.len(), 2);
    assert!(got[0].excerpts[1].text.contains("commodity identification"));
}

#[test]
fn ordinal_words_split_in_french_and_spanish() {
    let fr = needs(
        "Premièrement, une évaluation de la protection physique du réacteur de recherche. \
                    Deuxièmement, la traduction de la liste nationale de contrôle des biens à double usage.",
    );
    assert_eq!(
        fr.iter().map(|n| n.thematic_area).collect::<Vec<_>>(),
        [Area::PhysicalProtection, Area::ExportTransshipment]
    );
    let es = needs(
        "En primer lugar, equipos de detección de radiación para la frontera.\n\
                    En segundo lugar, un taller de sensibilización para parlamentarios.",
    );
    assert_eq!(
        es.iter().map(|n| n.thematic_area).collect::<Vec<_>>(),
        [Area::BorderLawEnforcement, Area::CrossCutting]
    );
}

#[test]
fn a_closing_remark_does_not_make_a_need_of_its_own() {
    let n = needs(
        "Training of licensing officers in export licensing and end-user certificates.\n\n\
                   We would prefer a single donor for the licensing system.",
    );
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].funding_modes
            .iter()
            .map(|m| m.code)
            .collect::<Vec<_>>(),
        [FundingMode::SingleDonor]
    );
}

#[test]
fn sub_areas_always_belong_to_the_need_area() {
    let texts = [
        "Customs officers need radiation detectors and training on export licensing of dual-use goods.",
        "Biosafety training and a vulnerability assessment of the research reactor, plus a draft law.",
        "Formation des douaniers, liste de contrôle, plan d'action national et sécurité informatique.",
        "Capacitación de fiscales, inventario de fuentes radiactivas y control del tránsito en la zona franca.",
    ];
    for t in texts {
        for n in needs(t) {
            assert!(!n.sub_areas.is_empty());
            for s in &n.sub_areas {
                assert_eq!(s.sub_area.area(), n.thematic_area, "{t}");
                assert!((0.0..=1.0).contains(&s.confidence));
            }
            let c: Vec<f32> = n.sub_areas.iter().map(|s| s.confidence).collect();
            assert!(c.windows(2).all(|w| w[0] >= w[1]), "best first: {c:?}");
        }
    }
}

#[test]
fn money_is_read_in_three_languages_as_minor_units() {
    let cases = [
        (
            "Radiation portal monitors; estimated cost USD 250,000.",
            "USD",
            25_000_000,
        ),
        (
            "Détecteurs de rayonnements portatifs pour 250 000 euros.",
            "EUR",
            25_000_000,
        ),
        (
            "Radiation detectors worth €1.2 million are requested.",
            "EUR",
            120_000_000,
        ),
        (
            "Equipos de detección de radiación por 1,5 millones de dólares.",
            "USD",
            150_000_000,
        ),
    ];
    for (text, cur, minor) in cases {
        let n = only(text);
        let m = n.money.unwrap_or_else(|| panic!("no money in {text}"));
        assert_eq!(
            (m.money.currency.as_str(), m.money.minor_units),
            (cur, minor),
            "{text}"
        );
    }
}

#[test]
fn a_total_for_several_needs_stays_with_the_text() {
    let got = suggest_needs(
        "1. Radiation portal monitors for the port.\n2. Drafting of a law on chemical weapons offences.\n\nThe estimated total cost is USD 850,000.",
    )
    .expect("readable");
    assert_eq!(got.needs.len(), 2);
    assert!(got.needs.iter().all(|n| n.money.is_none()));
    let total = got.text_money.expect("total");
    assert_eq!(
        (total.money.minor_units, total.evidence.phrase.as_str()),
        (85_000_000, "USD 850,000")
    );
}

#[test]
fn wanted_dates_are_read_in_three_languages() {
    let n = only("Radiation detection equipment for the border, needed by March 2027.");
    assert_eq!(n.needed_by.map(|d| d.date), Some(date("2027-03-31")));
    let n = only("Détecteurs de rayonnements portatifs pour la frontière d'ici juin 2027.");
    assert_eq!(n.needed_by.map(|d| d.date), Some(date("2027-06-30")));
    let n = only("Equipos de detección de radiación antes de diciembre de 2027.");
    assert_eq!(n.needed_by.map(|d| d.date), Some(date("2027-11-30")));
    let n = only("Radiation portal monitors to be delivered in the first half of 2027.");
    assert_eq!(n.wanted_from.map(|d| d.date), Some(date("2027-01-01")));
    assert_eq!(n.needed_by.map(|d| d.date), Some(date("2027-06-30")));
    let n = only("Equipos de detección de radiación a partir de abril de 2027.");
    assert_eq!(n.wanted_from.map(|d| d.date), Some(date("2027-04-01")));
    // A date without a cue (the date of the note) is no wish.
    let n = only("Note dated 12 January 2026: radiation portal monitors for the port.");
    assert_eq!((n.wanted_from, n.needed_by), (None, None));
}

#[test]
fn the_requesting_state_is_read_from_names_and_demonyms() {
    let cases = [
        (
            "The Permanent Mission of the Republic of Kenya presents its compliments and requests radiation detectors for the border with Uganda.",
            "KEN",
        ),
        (
            "La Mission permanente de la République du Mali sollicite des détecteurs de rayonnements portatifs.",
            "MLI",
        ),
        (
            "La Misión Permanente de la República de Guatemala solicita equipos de detección de radiación.",
            "GTM",
        ),
        (
            "Requesting State: Barbados\nRadiation portal monitors for the port.",
            "BRB",
        ),
        (
            "The Kenyan Government requests radiation portal monitors.",
            "KEN",
        ),
        (
            "Las autoridades guatemaltecas solicitan equipos de detección de radiación.",
            "GTM",
        ),
    ];
    for (text, iso3) in cases {
        let got = suggest_needs(text).expect("readable");
        let state = got
            .requesting_state
            .clone()
            .unwrap_or_else(|| panic!("no state in {text}"));
        assert_eq!(state.iso3, iso3, "{text}");
        assert_eq!(got.needs.len(), 1, "{text}: {got:#?}");
        assert_eq!(
            got.needs[0].requesting_state.as_ref().map(|s| s.iso3),
            Some(iso3)
        );
    }
}

#[test]
fn funding_modes_languages_and_domains_are_read() {
    let n = only(
        "Biosafety training for laboratory staff handling dangerous pathogens, with training materials in Arabic and French, jointly funded or through the IAEA Nuclear Security Fund.",
    );
    let modes: Vec<FundingMode> = n.funding_modes.iter().map(|m| m.code).collect();
    assert_eq!(
        modes,
        [FundingMode::JointlyFunded, FundingMode::PooledIoFund]
    );
    let langs: Vec<&str> = n.languages.iter().map(|l| l.code).collect();
    assert_eq!(langs, ["ar", "fr"]);
    let domains: Vec<WeaponDomain> = n.weapon_domains.iter().map(|d| d.code).collect();
    assert!(domains.contains(&WeaponDomain::Biological), "{domains:?}");
    let es = only("Capacitación en bioseguridad en español, con contribuciones en especie.");
    assert_eq!(
        es.languages.iter().map(|l| l.code).collect::<Vec<_>>(),
        ["es"]
    );
    assert_eq!(
        es.funding_modes.iter().map(|m| m.code).collect::<Vec<_>>(),
        [FundingMode::InKind]
    );
}

#[test]
fn titles_are_short_and_taken_from_the_text() {
    let long = format!(
        "1. Radiation portal monitors for {}.\n2. Drafting of a law on chemical weapons offences.",
        "the ports and the border crossings of the northern and eastern provinces ".repeat(4)
    );
    for n in needs(&long) {
        assert!(n.title.chars().count() <= MAX_TITLE_CHARS, "{}", n.title);
        assert!(!n.title.is_empty());
    }
}

#[test]
fn the_same_text_gives_the_same_answer() {
    let text = "The Permanent Mission of Mongolia requests a national action plan, radiation detectors \
                and biosafety training, by the end of 2027, for USD 90,000.";
    let a = suggest_needs(text).expect("readable");
    let fresh = Reader::new().expect("lexicons");
    for _ in 0..3 {
        assert_eq!(fresh.suggest_needs(text).expect("readable"), a);
    }
    let o = suggest_offer_scope(text).expect("readable");
    assert_eq!(fresh.suggest_offer_scope(text).expect("readable"), o);
}

#[test]
fn empty_and_oversized_texts_are_refused_with_the_reason() {
    assert_eq!(suggest_needs(""), Err(IntakeError::Empty));
    assert_eq!(suggest_needs("  \n\t "), Err(IntakeError::Empty));
    let at_limit = "a".repeat(MAX_TEXT_BYTES);
    assert!(suggest_needs(&at_limit).is_ok());
    let over = "é".repeat(MAX_TEXT_BYTES / 2 + 1);
    assert_eq!(
        suggest_offer_scope(&over),
        Err(IntakeError::TooLong {
            bytes: MAX_TEXT_BYTES + 2,
            max: MAX_TEXT_BYTES
        })
    );
    assert!(IntakeError::Empty.to_string().contains("empty"));
}

#[test]
fn a_text_with_no_area_gives_no_need() {
    let got = suggest_needs("Dear colleagues, thank you for the meeting last week. Best regards.")
        .expect("readable");
    assert!(got.needs.is_empty());
}

#[test]
fn programme_scope_reads_areas_places_and_exclusions() {
    let o = suggest_offer_scope(
        "Physical protection programme for States in Western Africa and Central Asia, except Mali: \
         design basis threat workshops, vulnerability assessments, insider threat mitigation and \
         computer security at nuclear facilities. Available worldwide on request.",
    )
    .expect("readable");
    assert_eq!(
        o.areas.iter().map(|a| a.area).collect::<Vec<_>>(),
        [Area::PhysicalProtection]
    );
    assert!(o.geo.global.is_some());
    let subregions: Vec<&str> = o.geo.subregions.iter().map(|s| s.code).collect();
    assert_eq!(subregions, ["Western Africa", "Central Asia"]);
    assert_eq!(
        o.geo
            .excluded_countries
            .iter()
            .map(|c| c.code)
            .collect::<Vec<_>>(),
        ["MLI"]
    );
    assert!(o.geo.countries.is_empty());
    for s in &o.sub_areas {
        assert!(!s.evidence.is_empty());
    }
}
