//! The HTML brief renders in a real browser (Debian's chromium, headless): every chart's
//! SVG is in the DOM with drawn marks, and a screenshot is not blank. The HTML and the
//! PNG are kept under `target/tmp/` for a person to look at.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::Command,
};

use clearinghouse_domain::{
    FundingMode, GpSubWorkingGroup, Match, MatchStatus, Need, NeedStatus, Party, PartyFields,
    PartyId, PartyKind, PrincipalId, Priority, PublicationConsent, StatusChange, Timestamp,
    Visibility, geo,
    matches::{Acceptance, Contribution, ContributionRole, Origin},
};
use clearinghouse_matching::{
    FitContext, NeedStage, Policy,
    naive::{Work, offers_for_need},
    synth::{self, Rng, Shape},
};
use clearinghouse_reports::{Brief, ReportFilter, ReportInput, Viewer, render::html};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHARTS: [&str; 4] = [
    "chart-coverage",
    "chart-ageing",
    "chart-funding",
    "chart-pipeline",
];

/// Realistic data: the synthetic generator's needs and offers (193 States, skewed demand,
/// several currencies), spread over two years of requests and lifecycle statuses, with
/// matches to the engine's best offer for the needs that have progressed.
struct Realistic {
    needs: Vec<Need>,
    offers: Vec<clearinghouse_domain::Offer>,
    matches: Vec<Match>,
    parties: Vec<Party>,
    rates: clearinghouse_matching::ExchangeRates,
    today: clearinghouse_domain::Date,
}

fn realistic() -> Realistic {
    let data = synth::generate(
        1540,
        Shape {
            needs: 240,
            offers: 90,
            planted_pct: 20,
        },
    );
    let today = data.today;
    let rates = synth::rates();
    let mut rng = Rng::new(2026);
    let mut offers = data.offers;
    let groups = [
        Some(GpSubWorkingGroup::NuclearRadiological),
        Some(GpSubWorkingGroup::Biological),
        Some(GpSubWorkingGroup::Chemical),
        Some(GpSubWorkingGroup::Resolution1540),
        Some(GpSubWorkingGroup::Resolution1540),
        None,
    ];
    for o in &mut offers {
        o.fields.gp_sub_working_group = *rng.pick(&groups);
    }
    let mut needs = data.needs;
    for n in &mut needs {
        let requested = today.add_days(-i32::try_from(rng.below(730)).unwrap_or(0));
        n.fields.request_date = Some(requested);
        n.follow_up_due = requested.add_months(12);
        n.fields.priority = *rng.pick(&[
            Priority::High,
            Priority::Medium,
            Priority::Medium,
            Priority::Low,
        ]);
        n.fields.visibility = if rng.chance(10) {
            Visibility::CommitteeOnly
        } else {
            Visibility::Public
        };
        n.fields.publication_consent = PublicationConsent::Granted;
        n.status = *rng.pick(&[
            NeedStatus::Submitted,
            NeedStatus::Authenticated,
            NeedStatus::Circulated,
            NeedStatus::Circulated,
            NeedStatus::Circulated,
            NeedStatus::PartiallyMatched,
            NeedStatus::Matched,
            NeedStatus::Matched,
            NeedStatus::Fulfilled,
            NeedStatus::Withdrawn,
        ]);
        if n.status == NeedStatus::Authenticated {
            n.consent_window_ends =
                Some(today.add_days(i32::try_from(rng.below(10)).unwrap_or(0) - 5));
        }
    }
    let policy = Policy::default();
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today,
        stage: NeedStage::AuthenticatedToo,
    };
    let mut matches = Vec::new();
    for n in &needs {
        let (status, share) = match n.status {
            NeedStatus::PartiallyMatched => (MatchStatus::Agreed, 50),
            NeedStatus::Matched => (
                *rng.pick(&[
                    MatchStatus::Agreed,
                    MatchStatus::InImplementation,
                    MatchStatus::Suspended,
                ]),
                100,
            ),
            NeedStatus::Fulfilled => (MatchStatus::Completed, 100),
            NeedStatus::Circulated if rng.chance(30) => (MatchStatus::Proposed, 80),
            _ => continue,
        };
        let mut work = Work::default();
        // Rank as the broker did while the need was still open for matching.
        let mut probe = n.clone();
        probe.status = NeedStatus::Circulated;
        let Some(best) = offers_for_need(&probe, &offers, &ctx, 1, &mut work)
            .into_iter()
            .next()
        else {
            continue;
        };
        let Some(offer) = offers.iter().find(|o| o.id.0 == best.id) else {
            continue;
        };
        let mode = n
            .fields
            .preferred_funding_mode
            .unwrap_or(FundingMode::SingleDonor);
        let amount = (mode != FundingMode::InKind)
            .then_some(n.fields.estimated_budget)
            .flatten()
            .map(|b| clearinghouse_domain::Money {
                minor_units: b.minor_units * share / 100,
                ..b
            });
        let accepted = if status == MatchStatus::Proposed {
            Acceptance::Pending
        } else {
            Acceptance::Accepted
        };
        let at = Timestamp(
            i64::from(n.fields.request_date.unwrap_or(today).add_days(45).0) * 86_400_000,
        );
        matches.push(Match {
            id: format!("M{:05}", matches.len()),
            version: 1,
            need: n.id.clone(),
            requester: n.requester.clone(),
            funding_mode: mode,
            contributions: vec![Contribution {
                offer: offer.id.clone(),
                provider: offer.provider.clone(),
                role: ContributionRole::Both,
                amount,
                in_kind: if amount.is_none() {
                    "Expert missions".to_owned()
                } else {
                    String::new()
                },
                acceptance: accepted,
                decline_reason: None,
            }],
            requester_acceptance: accepted,
            status,
            history: vec![StatusChange::new(
                None,
                status.code(),
                at,
                &PrincipalId::system(),
                "",
            )],
            score_milli: best.score_milli,
            explanation: Vec::new(),
            origin: Origin::Broker,
            end_reason: None,
            created_at: at,
            updated_at: at,
            created_by: PrincipalId::system(),
        });
    }
    let parties = geo::un_members()
        .map(|c| Party {
            id: PartyId::for_state(c.iso3),
            version: 1,
            kind: PartyKind::State,
            fields: PartyFields {
                kind: Some(PartyKind::State),
                display_name: c.name.clone(),
                short_name: c.iso3.to_owned(),
                country_code: c.iso3.to_owned(),
                external_id: String::new(),
                description: String::new(),
            },
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            created_by: PrincipalId::system(),
        })
        .collect();
    Realistic {
        needs,
        offers,
        matches,
        parties,
        rates,
        today,
    }
}

fn chromium(args: &[String]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing; install Debian's browser: apt-get install -y chromium"
    );
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new("timeout");
    cmd.arg("180").arg(CHROMIUM).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.path().display()));
    cmd.args(args);
    let out = cmd.output().expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `<svg …>…</svg>` element with `id` in a DOM dump.
fn svg_element<'a>(dom: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no element {id} in the DOM"));
    let start = dom[..at]
        .rfind("<svg")
        .unwrap_or_else(|| panic!("{id} is not an svg"));
    let end = at + dom[at..].find("</svg>").expect("closed svg");
    &dom[start..end]
}

fn attr(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    tag[at..].split('"').next()?.parse().ok()
}

/// Rect and path marks with a positive size, and the svg's own size.
fn marks(svg: &str) -> (usize, usize, f64, f64) {
    let head = svg.split('>').next().unwrap_or("");
    let rects = svg
        .split("<rect")
        .skip(1)
        .filter(|r| {
            let tag = r.split('>').next().unwrap_or("");
            attr(tag, "width").is_some_and(|w| w > 0.0)
                && attr(tag, "height").is_some_and(|h| h > 0.0)
        })
        .count();
    let paths = svg
        .split("<path")
        .skip(1)
        .filter(|p| p.split('>').next().is_some_and(|t| t.contains(" d=\"M")))
        .count();
    (
        rects,
        paths,
        attr(head, "width").unwrap_or(0.0),
        attr(head, "height").unwrap_or(0.0),
    )
}

fn hex(c: &str) -> [u8; 3] {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).expect("hex colour");
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

#[test]
fn the_html_brief_renders_every_chart_in_a_real_browser() {
    let data = realistic();
    let viewer = Viewer::broker();
    let filter = ReportFilter::default();
    let input = ReportInput {
        needs: &data.needs,
        offers: &data.offers,
        matches: &data.matches,
        parties: &data.parties,
        today: data.today,
        rates: &data.rates,
        viewer: &viewer,
        filter: &filter,
    };
    let brief = Brief::build(&input);
    assert!(
        brief.matches.committed_matches > 10,
        "the data should hold committed matches"
    );
    let page = html::render_html(&brief, "Matchmaking brief");
    assert!(!page.contains("<script"), "no script");
    // Nothing to fetch: the only URI is the SVG namespace name, which is never loaded.
    let fetchable = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http://", "https://", "@import", "url(", " src="] {
        assert!(!fetchable.contains(needle), "the page refers to {needle}");
    }

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("target/tmp");
    let file = dir.join("reports-brief.html");
    std::fs::write(&file, &page).expect("write html");
    let url = format!("file://{}", file.display());

    let dom = chromium(&["--dump-dom".to_owned(), url.clone()]);
    assert!(dom.contains("<html lang=\"en\">"), "lang is set");
    for id in CHARTS {
        let svg = svg_element(&dom, id);
        let (rects, paths, w, h) = marks(svg);
        assert!(
            rects > 0 && paths > 0,
            "{id}: {rects} rects, {paths} paths drawn"
        );
        assert!(w > 0.0 && h > 0.0, "{id}: size {w} x {h}");
        let after = &dom[dom.find(svg).expect("svg")..];
        let next_table = after.find("<table>").expect("a table follows the chart");
        assert!(
            after[next_table..].starts_with("<table>\n<caption>")
                || after[next_table..].contains("<caption>")
        );
    }
    assert!(dom.matches("<caption>").count() >= CHARTS.len());

    let png_path = dir.join("reports-brief.png");
    let _ = std::fs::remove_file(&png_path);
    chromium(&[
        format!("--screenshot={}", png_path.display()),
        "--window-size=1280,2400".to_owned(),
        url,
    ]);
    println!("screenshot of the HTML brief: {}", png_path.display());
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!((info.width, info.height), (1280, 2400));
    let channels = info.color_type.samples();
    let pixels: HashSet<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    assert!(
        pixels.len() > 50,
        "the screenshot has {} colours",
        pixels.len()
    );
    let palette = [
        "#440154", "#2A788E", "#FDE725", "#E69F00", "#56B4E9", "#D55E00", "#0072B2",
    ];
    let seen: Vec<&str> = palette
        .iter()
        .copied()
        .filter(|c| pixels.contains(&hex(c)))
        .collect();
    assert!(seen.len() >= 4, "chart colours on screen: {seen:?}");
}
