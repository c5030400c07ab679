//! Measured quality of the intake reader on the labelled texts of `tests/labelled/`.
//!
//! Run `cargo test -p clearinghouse-intake --test quality -- --nocapture` to print the
//! figures; set `INTAKE_QUALITY_DETAIL=1` to print every disagreement with the labels.
//!
//! Figures, per part (tuning texts, held-out texts written after the lexicon was frozen,
//! and both together):
//! - thematic-area accuracy: areas found in both the labels and the suggestions, over the
//!   larger of the two counts, summed over texts (a missed area and a spurious one both
//!   count against);
//! - sub-area recall@3: labelled sub-areas found among the three best sub-areas of the
//!   suggested need of the same area;
//! - exact split rate: texts with as many suggested needs as labelled ones;
//! - kinds-of-help and weapon-domain F1 (micro), per need matched by area (codes of
//!   unmatched needs count as misses or false alarms);
//! - requesting-State accuracy;
//! - for programme descriptions: sub-area, area, kind, domain and funding-mode F1, and the
//!   share of texts whose geographic scope is exactly the labelled one.

use std::collections::BTreeSet;

use clearinghouse_intake::Reader;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    request: Vec<Request>,
    #[serde(default)]
    offer: Vec<Offer>,
}

#[derive(Debug, Deserialize)]
struct Request {
    id: String,
    #[allow(dead_code)]
    form: String,
    state: Option<String>,
    text: String,
    need: Vec<Need>,
}

#[derive(Debug, Deserialize)]
struct Need {
    area: String,
    sub_areas: Vec<String>,
    weapon_domains: Vec<String>,
    kinds: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Offer {
    id: String,
    text: String,
    areas: Vec<String>,
    sub_areas: Vec<String>,
    weapon_domains: Vec<String>,
    kinds: Vec<String>,
    funding_modes: Vec<String>,
    global: bool,
    regions: Vec<String>,
    subregions: Vec<String>,
    countries: Vec<String>,
}

fn load(name: &str) -> File {
    let path = format!("{}/tests/labelled/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("labelled file");
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn detail() -> bool {
    std::env::var("INTAKE_QUALITY_DETAIL").is_ok_and(|v| v == "1")
}

type Set = BTreeSet<String>;

fn set<I: IntoIterator<Item = S>, S: ToString>(it: I) -> Set {
    it.into_iter().map(|s| s.to_string()).collect()
}

#[derive(Debug, Default, Clone, Copy)]
struct F1 {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl F1 {
    fn add(&mut self, predicted: &Set, labelled: &Set) {
        self.tp += predicted.intersection(labelled).count();
        self.fp += predicted.difference(labelled).count();
        self.fn_ += labelled.difference(predicted).count();
    }
    fn value(&self) -> f64 {
        let denom = 2 * self.tp + self.fp + self.fn_;
        if denom == 0 {
            1.0
        } else {
            2.0 * self.tp as f64 / denom as f64
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct RequestFigures {
    texts: usize,
    needs: usize,
    area_hits: usize,
    area_total: usize,
    sub_hits: usize,
    sub_total: usize,
    split_exact: usize,
    kinds: F1,
    domains: F1,
    state_hits: usize,
    state_total: usize,
}

impl RequestFigures {
    fn area(&self) -> f64 {
        ratio(self.area_hits, self.area_total)
    }
    fn recall3(&self) -> f64 {
        ratio(self.sub_hits, self.sub_total)
    }
    fn split(&self) -> f64 {
        ratio(self.split_exact, self.texts)
    }
    fn state(&self) -> f64 {
        ratio(self.state_hits, self.state_total)
    }
    fn merge(&self, o: &RequestFigures) -> RequestFigures {
        RequestFigures {
            texts: self.texts + o.texts,
            needs: self.needs + o.needs,
            area_hits: self.area_hits + o.area_hits,
            area_total: self.area_total + o.area_total,
            sub_hits: self.sub_hits + o.sub_hits,
            sub_total: self.sub_total + o.sub_total,
            split_exact: self.split_exact + o.split_exact,
            kinds: F1 {
                tp: self.kinds.tp + o.kinds.tp,
                fp: self.kinds.fp + o.kinds.fp,
                fn_: self.kinds.fn_ + o.kinds.fn_,
            },
            domains: F1 {
                tp: self.domains.tp + o.domains.tp,
                fp: self.domains.fp + o.domains.fp,
                fn_: self.domains.fn_ + o.domains.fn_,
            },
            state_hits: self.state_hits + o.state_hits,
            state_total: self.state_total + o.state_total,
        }
    }
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            self.texts,
            self.needs,
            self.area(),
            self.recall3(),
            self.split(),
            self.kinds.value(),
            self.domains.value(),
            self.state()
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn measure_requests(reader: &Reader, requests: &[Request]) -> RequestFigures {
    let mut f = RequestFigures::default();
    for r in requests {
        let got = reader.suggest_needs(&r.text).expect("readable text");
        f.texts += 1;
        f.needs += r.need.len();
        let got_areas: Set = set(got.needs.iter().map(|n| n.thematic_area.code()));
        let want_areas: Set = set(r.need.iter().map(|n| n.area.as_str()));
        f.area_hits += got_areas.intersection(&want_areas).count();
        f.area_total += got_areas.len().max(want_areas.len());
        if got.needs.len() == r.need.len() {
            f.split_exact += 1;
        }
        let mut problems: Vec<String> = Vec::new();
        if got_areas != want_areas {
            problems.push(format!("areas {got_areas:?} != {want_areas:?}"));
        }
        for want in &r.need {
            let Some(n) = got
                .needs
                .iter()
                .find(|n| n.thematic_area.code() == want.area)
            else {
                f.sub_total += want.sub_areas.len();
                f.kinds.add(&Set::new(), &set(&want.kinds));
                f.domains.add(&Set::new(), &set(&want.weapon_domains));
                continue;
            };
            let top3: Set = set(n.sub_areas.iter().take(3).map(|s| s.sub_area.code()));
            let hits = want.sub_areas.iter().filter(|s| top3.contains(*s)).count();
            f.sub_hits += hits;
            f.sub_total += want.sub_areas.len();
            if hits < want.sub_areas.len() {
                problems.push(format!(
                    "{}: top3 {top3:?} misses of {:?}",
                    want.area, want.sub_areas
                ));
            }
            let kinds = set(n.assistance_kinds.iter().map(|k| k.code.code()));
            let domains = set(n.weapon_domains.iter().map(|d| d.code.code()));
            f.kinds.add(&kinds, &set(&want.kinds));
            f.domains.add(&domains, &set(&want.weapon_domains));
            if kinds != set(&want.kinds) {
                let ev: Vec<String> = n
                    .assistance_kinds
                    .iter()
                    .filter(|k| !want.kinds.iter().any(|w| w == k.code.code()))
                    .map(|k| {
                        format!(
                            "{}<-{:?}",
                            k.code,
                            k.evidence
                                .iter()
                                .map(|e| e.phrase.as_str())
                                .collect::<Vec<_>>()
                        )
                    })
                    .collect();
                problems.push(format!(
                    "{}: kinds {kinds:?} != {:?} extra {ev:?}",
                    want.area, want.kinds
                ));
            }
            if domains != set(&want.weapon_domains) {
                problems.push(format!(
                    "{}: domains {domains:?} != {:?}",
                    want.area, want.weapon_domains
                ));
            }
        }
        for n in got
            .needs
            .iter()
            .filter(|n| !want_areas.contains(n.thematic_area.code()))
        {
            f.kinds.add(
                &set(n.assistance_kinds.iter().map(|k| k.code.code())),
                &Set::new(),
            );
            f.domains.add(
                &set(n.weapon_domains.iter().map(|d| d.code.code())),
                &Set::new(),
            );
        }
        if let Some(state) = &r.state {
            f.state_total += 1;
            let got_state = got.requesting_state.as_ref().map(|s| s.iso3);
            if got_state == Some(state.as_str()) {
                f.state_hits += 1;
            } else {
                problems.push(format!("state {got_state:?} != {state}"));
            }
        }
        if detail() && !problems.is_empty() {
            println!("{} ({:?}):", r.id, got.language);
            for p in problems {
                println!("    {p}");
            }
            for n in &got.needs {
                let subs: Vec<String> = n
                    .sub_areas
                    .iter()
                    .map(|s| format!("{}={:.2}", s.sub_area.code(), s.confidence))
                    .collect();
                println!(
                    "    got {} {:.2} {subs:?} «{}»",
                    n.thematic_area, n.area_confidence, n.title
                );
            }
        }
    }
    f
}

#[derive(Debug, Default, Clone, Copy)]
struct OfferFigures {
    texts: usize,
    sub_areas: F1,
    areas: F1,
    kinds: F1,
    domains: F1,
    funding: F1,
    geo_exact: usize,
}

impl OfferFigures {
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            self.texts,
            self.sub_areas.value(),
            self.areas.value(),
            self.kinds.value(),
            self.domains.value(),
            self.funding.value(),
            ratio(self.geo_exact, self.texts)
        )
    }
}

fn measure_offers(reader: &Reader, offers: &[Offer]) -> OfferFigures {
    let mut f = OfferFigures::default();
    for o in offers {
        let got = reader.suggest_offer_scope(&o.text).expect("readable text");
        f.texts += 1;
        let subs = set(got.sub_areas.iter().map(|s| s.sub_area.code()));
        let areas = set(got.areas.iter().map(|a| a.area.code()));
        let kinds = set(got.assistance_kinds.iter().map(|k| k.code.code()));
        let domains = set(got.weapon_domains.iter().map(|d| d.code.code()));
        let funding = set(got.funding_modes.iter().map(|m| m.code.code()));
        f.sub_areas.add(&subs, &set(&o.sub_areas));
        f.areas.add(&areas, &set(&o.areas));
        f.kinds.add(&kinds, &set(&o.kinds));
        f.domains.add(&domains, &set(&o.weapon_domains));
        f.funding.add(&funding, &set(&o.funding_modes));
        let geo_got = (
            got.geo.global.is_some(),
            set(got.geo.regions.iter().map(|r| r.code)),
            set(got.geo.subregions.iter().map(|r| r.code)),
            set(got.geo.countries.iter().map(|c| c.code)),
        );
        let geo_want = (
            o.global,
            set(&o.regions),
            set(&o.subregions),
            set(&o.countries),
        );
        if geo_got == geo_want {
            f.geo_exact += 1;
        }
        if detail() {
            let mut problems = Vec::new();
            if subs != set(&o.sub_areas) {
                problems.push(format!("subs {subs:?} != {:?}", o.sub_areas));
            }
            if areas != set(&o.areas) {
                problems.push(format!("areas {areas:?} != {:?}", o.areas));
            }
            if kinds != set(&o.kinds) {
                problems.push(format!("kinds {kinds:?} != {:?}", o.kinds));
            }
            if domains != set(&o.weapon_domains) {
                problems.push(format!("domains {domains:?} != {:?}", o.weapon_domains));
            }
            if funding != set(&o.funding_modes) {
                problems.push(format!("funding {funding:?} != {:?}", o.funding_modes));
            }
            if geo_got != geo_want {
                problems.push(format!("geo {geo_got:?} != {geo_want:?}"));
            }
            if !problems.is_empty() {
                println!("{}:", o.id);
                for p in problems {
                    println!("    {p}");
                }
            }
        }
    }
    f
}

#[test]
fn labelled_requests_and_programmes_meet_the_quality_floors() {
    let reader = Reader::new().expect("lexicons compile");
    let mut tuning_requests = Vec::new();
    for name in ["tuning_en.toml", "tuning_fr.toml", "tuning_es.toml"] {
        tuning_requests.extend(load(name).request);
    }
    let tuning_offers = load("offers.toml").offer;
    let heldout = load("heldout.toml");

    let tuning = measure_requests(&reader, &tuning_requests);
    let held = measure_requests(&reader, &heldout.request);
    let all = tuning.merge(&held);
    println!();
    println!(
        "| requests | texts | needs | area accuracy | sub-area recall@3 | exact split | kinds F1 | domains F1 | state accuracy |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!("{}", tuning.row("tuning"));
    println!("{}", held.row("held-out"));
    println!("{}", all.row("all"));

    let offers_tuning = measure_offers(&reader, &tuning_offers);
    let offers_held = measure_offers(&reader, &heldout.offer);
    println!();
    println!(
        "| programmes | texts | sub-area F1 | area F1 | kinds F1 | domains F1 | funding F1 | geo exact |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    println!("{}", offers_tuning.row("tuning"));
    println!("{}", offers_held.row("held-out"));

    assert!(tuning_requests.len() + heldout.request.len() >= 60);
    assert!(heldout.request.len() >= 15);
    // Floors hold on the tuning part and on the whole set; the held-out part is reported
    // as measured (see BENCHMARKS.md) and only guarded against collapse.
    for (name, f) in [("tuning", &tuning), ("all", &all)] {
        assert!(f.area() >= 0.90, "{name}: area accuracy {:.3}", f.area());
        assert!(
            f.recall3() >= 0.85,
            "{name}: sub-area recall@3 {:.3}",
            f.recall3()
        );
        assert!(f.split() >= 0.80, "{name}: exact split {:.3}", f.split());
        assert!(
            f.kinds.value() >= 0.80,
            "{name}: kinds F1 {:.3}",
            f.kinds.value()
        );
        assert!(
            f.domains.value() >= 0.90,
            "{name}: domains F1 {:.3}",
            f.domains.value()
        );
        assert!(f.state() >= 0.90, "{name}: state accuracy {:.3}", f.state());
    }
    assert!(
        held.area() >= 0.80,
        "held-out: area accuracy {:.3}",
        held.area()
    );
    assert!(
        held.recall3() >= 0.80,
        "held-out: sub-area recall@3 {:.3}",
        held.recall3()
    );
    assert!(
        held.split() >= 0.65,
        "held-out: exact split {:.3}",
        held.split()
    );
    assert!(
        offers_tuning.sub_areas.value() >= 0.85,
        "programmes: sub-area F1"
    );
    assert!(offers_tuning.kinds.value() >= 0.85, "programmes: kinds F1");
    assert!(
        ratio(offers_tuning.geo_exact, offers_tuning.texts) >= 0.8,
        "programmes: geo"
    );
}
