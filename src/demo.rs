//! `clearinghouse demo`: the whole job in under a minute on a laptop. Starts the real
//! server on a temporary directory, loads a generated but realistic registry through the
//! gRPC client (needs of UN member States recorded, authenticated and circulated;
//! providers' offers activated), ranks candidates, brokers matches to agreement (single-
//! donor ones and one jointly funded consortium), prints a coverage summary and writes the
//! matchmaking brief as one HTML file.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::sync::Mutex;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

use clearinghouse_domain::{FundingMode, Need, Offer};
use clearinghouse_matching::synth::{self, Shape};
use clearinghouse_reports::{Brief, coverage::CoverageReport, render::html};

use crate::{config::Config, convert, pb};

/// How big a demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Needs to load.
    pub needs: usize,
    /// Offers to load besides those planted for some needs.
    pub offers: usize,
    /// Seed of the generated data.
    pub seed: u64,
    /// Where the HTML brief goes.
    pub report: PathBuf,
    /// Single-donor matches to agree.
    pub matches: usize,
}

#[derive(Clone)]
struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Bearer>;

/// The clients of one key.
#[derive(Clone)]
struct As {
    needs: pb::need_service_client::NeedServiceClient<Svc>,
    offers: pb::offer_service_client::OfferServiceClient<Svc>,
    matches: pb::match_service_client::MatchServiceClient<Svc>,
    admin: pb::admin_service_client::AdminServiceClient<Svc>,
    reports: pb::report_service_client::ReportServiceClient<Svc>,
}

impl As {
    fn new(channel: &Channel, key: &str) -> anyhow::Result<As> {
        let b = Bearer(format!("Bearer {key}").parse().context("key header")?);
        Ok(As {
            needs: pb::need_service_client::NeedServiceClient::with_interceptor(
                channel.clone(),
                b.clone(),
            ),
            offers: pb::offer_service_client::OfferServiceClient::with_interceptor(
                channel.clone(),
                b.clone(),
            ),
            matches: pb::match_service_client::MatchServiceClient::with_interceptor(
                channel.clone(),
                b.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(
                channel.clone(),
                b.clone(),
            ),
            reports: pb::report_service_client::ReportServiceClient::with_interceptor(
                channel.clone(),
                b,
            ),
        })
    }
}

fn humanize(code: &str) -> String {
    let s = code
        .rsplit('.')
        .next()
        .unwrap_or(code)
        .replace('_', " ")
        .to_lowercase();
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Words a requesting State would use for a need in these sub-areas.
fn need_words(n: &Need) -> (String, String) {
    let subs: Vec<String> = n
        .fields
        .sub_areas
        .iter()
        .map(|s| humanize(s.code()))
        .collect();
    let kinds: Vec<String> = n
        .fields
        .assistance_kinds
        .iter()
        .map(|k| humanize(k.code()).to_lowercase())
        .collect();
    let country = n.fields.country_code.clone();
    let title = format!("{} ({country})", subs.join(" and "));
    let description = format!(
        "{country} requests {} on {} for the national authorities concerned, under resolution 1540 (2004).",
        kinds.join(", "),
        subs.join(", ").to_lowercase()
    );
    (title, description)
}

/// Providers of the demo: donor States of the Global Partnership and international
/// organizations with assistance programmes (every one seeded on a new server).
const PROVIDERS: &[(&str, &str)] = &[
    ("state-USA", "United States"),
    ("state-GBR", "United Kingdom"),
    ("state-FRA", "France"),
    ("state-DEU", "Germany"),
    ("state-JPN", "Japan"),
    ("state-CAN", "Canada"),
    ("state-AUS", "Australia"),
    ("state-NOR", "Norway"),
    ("state-NLD", "Netherlands"),
    ("state-ITA", "Italy"),
    ("state-KOR", "Republic of Korea"),
    ("state-CHE", "Switzerland"),
    ("org-iaea", "IAEA"),
    ("org-opcw", "OPCW"),
    ("org-unodc", "UNODC"),
    ("org-unoda", "UNODA"),
    ("org-wco", "WCO"),
    ("org-eu", "European Union"),
    ("org-interpol", "INTERPOL"),
    ("org-bwc-isu", "BWC ISU"),
];

/// A realistic provider in place of the generator's donor, the same for the same donor.
fn provider_for(donor: &str) -> (&'static str, &'static str) {
    let h = donor
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let i = usize::try_from(h % PROVIDERS.len() as u64).unwrap_or(0);
    PROVIDERS[i]
}

fn offer_words(o: &Offer) -> (String, String) {
    let focus: Vec<String> = o
        .fields
        .sub_areas
        .iter()
        .map(|s| humanize(s.code()))
        .chain(o.fields.areas.iter().map(|a| humanize(a.code())))
        .take(2)
        .collect();
    let donor = provider_for(&o.provider.0).1;
    let name = format!("{donor}: {}", focus.join(" and "));
    let description = format!(
        "Assistance from {donor} in {} under resolution 1540 (2004).",
        focus.join(", ").to_lowercase()
    );
    (name, description)
}

async fn key_for(
    admin: &mut As,
    role: pb::Role,
    party: &str,
    name: &str,
) -> anyhow::Result<String> {
    Ok(admin
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: name.to_owned(),
                role: role as i32,
                party_id: party.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .with_context(|| format!("create a {name} key"))?
        .into_inner()
        .api_key)
}

/// Runs `f` over `items` with at most `width` in flight.
async fn each<T, F, Fut>(items: Vec<T>, width: usize, f: F) -> anyhow::Result<Vec<String>>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<String>> + Send + 'static,
{
    let f = Arc::new(f);
    let queue = Arc::new(Mutex::new(
        items.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..width {
        let (f, queue, out) = (Arc::clone(&f), Arc::clone(&queue), Arc::clone(&out));
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((i, item)) = queue.lock().await.pop() else {
                    return Ok::<(), anyhow::Error>(());
                };
                let id = f(item).await?;
                out.lock().await.push((i, id));
            }
        }));
    }
    for t in tasks {
        t.await.context("loader task")??;
    }
    let mut out = std::mem::take(&mut *out.lock().await);
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, id)| id).collect())
}

/// Runs the demo.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir().context("temporary directory")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = Config {
        data_dir: dir.path().to_owned(),
        listen: addr,
        ..Config::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::run(config, listener, async {
        let _ = stopped.await;
    }));
    println!(
        "Clearinghouse demo: a server on {addr}, its data in {}",
        dir.path().display()
    );
    let admin_key = wait_for_key(dir.path()).await?;
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await
        .context("connect to the demo server")?;
    let mut admin = As::new(&channel, &admin_key)?;
    let broker_key = key_for(
        &mut admin,
        pb::Role::Broker,
        "",
        "1540 Group of Experts (demo)",
    )
    .await?;
    let broker = As::new(&channel, &broker_key)?;
    let etag = admin
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await?
        .into_inner()
        .policy
        .map(|p| p.etag)
        .unwrap_or_default();
    admin
        .admin
        .set_exchange_rates(pb::SetExchangeRatesRequest {
            base_currency_code: "USD".into(),
            rates: vec![
                rate("EUR", "1.08"),
                rate("GBP", "1.27"),
                rate("JPY", "0.67"),
            ],
            etag,
        })
        .await
        .context("set the exchange rates")?;

    let data = synth::generate(
        opts.seed,
        Shape {
            needs: opts.needs,
            offers: opts.offers,
            planted_pct: 25,
        },
    );
    let t = Instant::now();
    let offers: Vec<pb::Offer> = data
        .offers
        .iter()
        .map(|o| {
            let (name, description) = offer_words(o);
            pb::Offer {
                programme_name: name,
                description,
                provider_party_id: provider_for(&o.provider.0).0.to_owned(),
                ..convert::offer::out(o)
            }
        })
        .collect();
    let b = broker.clone();
    let offer_ids = each(offers, 16, move |o| {
        let mut c = b.clone();
        async move {
            let id = c
                .offers
                .create_offer(pb::CreateOfferRequest {
                    offer: Some(o),
                    request_id: String::new(),
                })
                .await?
                .into_inner()
                .offer
                .map(|o| o.id)
                .unwrap_or_default();
            c.offers
                .activate_offer(pb::ActivateOfferRequest {
                    id: id.clone(),
                    etag: String::new(),
                })
                .await?;
            Ok(id)
        }
    })
    .await?;
    let needs: Vec<pb::Need> = data
        .needs
        .iter()
        .map(|n| {
            let (title, description) = need_words(n);
            pb::Need {
                title,
                description,
                public_summary: String::new(),
                publication_consent: pb::PublicationConsent::Granted as i32,
                visibility: pb::Visibility::Public as i32,
                channel: pb::SubmissionChannel::NoteVerbale as i32,
                ..convert::need::out(n)
            }
        })
        .collect();
    let b = broker.clone();
    let need_ids = each(needs, 16, move |n| {
        let mut c = b.clone();
        async move {
            let id = c
                .needs
                .create_need(pb::CreateNeedRequest {
                    need: Some(n),
                    request_id: String::new(),
                })
                .await?
                .into_inner()
                .need
                .map(|n| n.id)
                .unwrap_or_default();
            for step in 0..3 {
                let (id, etag) = (id.clone(), String::new());
                match step {
                    0 => c
                        .needs
                        .submit_need(pb::SubmitNeedRequest { id, etag })
                        .await
                        .map(|_| ())?,
                    1 => c
                        .needs
                        .authenticate_need(pb::AuthenticateNeedRequest { id, etag })
                        .await
                        .map(|_| ())?,
                    _ => c
                        .needs
                        .circulate_need(pb::CirculateNeedRequest { id, etag })
                        .await
                        .map(|_| ())?,
                }
            }
            Ok(id)
        }
    })
    .await?;
    println!(
        "Loaded {} offers and {} circulated needs from {} States through the API in {:.1} s.",
        offer_ids.len(),
        need_ids.len(),
        data.needs
            .iter()
            .map(|n| n.fields.country_code.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        t.elapsed().as_secs_f64()
    );

    // Brokering: the best single-donor pairs to agreement, then one consortium. A broker
    // looks at the best candidate of a good number of needs and brokers the strongest fits
    // first, rather than whatever the first needs happen to get.
    let mut keys: HashMap<String, As> = HashMap::new();
    let mut agreed = 0;
    let mut bm = broker.matches.clone();
    let mut pairs = Vec::new();
    for (need_id, n) in need_ids.iter().zip(&data.needs) {
        if pairs.len() >= opts.matches.saturating_mul(8).max(16) {
            break;
        }
        if !n
            .fields
            .accepted_funding_modes
            .contains(&FundingMode::SingleDonor)
        {
            continue;
        }
        let candidates = bm
            .find_offers_for_need(pb::FindOffersForNeedRequest {
                need_id: need_id.clone(),
                page_size: 5,
                page_token: String::new(),
            })
            .await?
            .into_inner()
            .candidates;
        if let Some(best) = candidates.into_iter().next() {
            pairs.push((need_id, n, best));
        }
    }
    pairs.sort_by(|a, b| b.2.score.total_cmp(&a.2.score));
    for (need_id, n, best) in pairs {
        if agreed >= opts.matches {
            break;
        }
        let offer = broker
            .offers
            .clone()
            .get_offer(pb::GetOfferRequest {
                id: best.offer_id.clone(),
            })
            .await?
            .into_inner()
            .offer
            .unwrap_or_default();
        if !offer
            .funding_modes
            .contains(&(pb::FundingMode::SingleDonor as i32))
        {
            continue;
        }
        let amount = offer.budget_ceiling.clone().map(|c| pb::Money {
            minor_units: (c.minor_units / 4).max(1),
            ..c
        });
        let proposed = bm
            .create_match(pb::CreateMatchRequest {
                need_id: need_id.clone(),
                funding_mode: pb::FundingMode::SingleDonor as i32,
                contributions: vec![pb::Contribution {
                    offer_id: offer.id.clone(),
                    amount,
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await;
        let Ok(m) = proposed else { continue };
        let m = m.into_inner().r#match.unwrap_or_default();
        let requester = party_key(
            &mut admin,
            &channel,
            &mut keys,
            pb::Role::Requester,
            &m.requester_party_id,
        )
        .await?;
        let provider = party_key(
            &mut admin,
            &channel,
            &mut keys,
            pb::Role::Provider,
            &offer.provider_party_id,
        )
        .await?;
        let ok = accept(&requester, &m.id).await.is_ok() && accept(&provider, &m.id).await.is_ok();
        if ok {
            agreed += 1;
            println!(
                "  agreed: {} ← {} (score {:.3})",
                n.fields.country_code, offer.programme_name, best.score
            );
        }
    }
    let joint = consortium(
        &broker,
        &mut admin,
        &channel,
        &mut keys,
        &need_ids,
        &data.needs,
    )
    .await?;
    match &joint {
        Some(line) => println!("  agreed jointly funded: {line}"),
        None => println!("  no jointly funded need found a covering consortium in this data"),
    }

    // What a working group sees.
    let mut r = broker.reports.clone();
    let cov = r
        .get_coverage_report(pb::GetCoverageReportRequest::default())
        .await?
        .into_inner();
    let coverage: clearinghouse_reports::coverage::CoverageReport =
        convert::report::from_wire(&cov).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!();
    print!("{}", summary(&coverage));
    let brief = Brief {
        coverage,
        ageing: convert::report::from_wire(
            &r.get_ageing_report(pb::GetAgeingReportRequest::default())
                .await?
                .into_inner(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
        matches: convert::report::from_wire(
            &r.get_matches_report(pb::GetMatchesReportRequest::default())
                .await?
                .into_inner(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
        portfolio: convert::report::from_wire(
            &r.get_provider_portfolio(pb::GetProviderPortfolioRequest::default())
                .await?
                .into_inner(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
        pipeline: convert::report::from_wire(
            &r.get_pipeline_report(pb::GetPipelineReportRequest::default())
                .await?
                .into_inner(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    std::fs::write(
        &opts.report,
        html::render_html(&brief, "Clearinghouse demo: matchmaking brief"),
    )
    .with_context(|| format!("cannot write {}", opts.report.display()))?;
    println!(
        "\n{agreed} single-donor match(es){} agreed. The brief with its charts: {}",
        if joint.is_some() {
            " and 1 consortium"
        } else {
            ""
        },
        opts.report.display()
    );
    drop(channel);
    let _ = stop.send(());
    server.await.context("server task")??;
    println!(
        "Done in {:.1} s; the demo's data directory was removed.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn rate(code: &str, r: &str) -> pb::ExchangeRate {
    pb::ExchangeRate {
        currency_code: code.to_owned(),
        rate: r.to_owned(),
    }
}

async fn wait_for_key(dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("bootstrap-admin.key");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(k) = std::fs::read_to_string(&file)
            && !k.trim().is_empty()
        {
            // The key file is written before the server serves; give it the moment.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Ok(k.trim().to_owned());
        }
        if Instant::now() > deadline {
            bail!("the demo server did not start within a minute");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn party_key(
    admin: &mut As,
    channel: &Channel,
    keys: &mut HashMap<String, As>,
    role: pb::Role,
    party: &str,
) -> anyhow::Result<As> {
    let k = format!("{}:{party}", role.as_str_name());
    if let Some(a) = keys.get(&k) {
        return Ok(a.clone());
    }
    let key = key_for(admin, role, party, &format!("{party} (demo)")).await?;
    let a = As::new(channel, &key)?;
    keys.insert(k, a.clone());
    Ok(a)
}

async fn accept(who: &As, id: &str) -> Result<(), Status> {
    who.matches
        .clone()
        .accept_match(pb::AcceptMatchRequest {
            id: id.to_owned(),
            etag: String::new(),
        })
        .await
        .map(|_| ())
}

/// Brokers one jointly funded need to agreement through the suggested consortium.
async fn consortium(
    broker: &As,
    admin: &mut As,
    channel: &Channel,
    keys: &mut HashMap<String, As>,
    ids: &[String],
    needs: &[Need],
) -> anyhow::Result<Option<String>> {
    let mut bm = broker.matches.clone();
    for (id, n) in ids.iter().zip(needs) {
        if !n
            .fields
            .accepted_funding_modes
            .contains(&FundingMode::JointlyFunded)
        {
            continue;
        }
        let Ok(s) = bm
            .suggest_consortium(pb::SuggestConsortiumRequest {
                need_id: id.clone(),
            })
            .await
        else {
            continue;
        };
        let s = s.into_inner();
        if s.members.len() < 2 || s.uncovered.as_ref().is_some_and(|g| g.minor_units > 0) {
            continue;
        }
        let mut contributions = Vec::new();
        for m in &s.members {
            let offer = broker
                .offers
                .clone()
                .get_offer(pb::GetOfferRequest {
                    id: m.offer_id.clone(),
                })
                .await?
                .into_inner()
                .offer
                .unwrap_or_default();
            let amount = to_offer_currency(m.amount.as_ref(), offer.budget_ceiling.as_ref());
            contributions.push((offer, amount));
        }
        let proposed = bm
            .create_match(pb::CreateMatchRequest {
                need_id: id.clone(),
                funding_mode: pb::FundingMode::JointlyFunded as i32,
                contributions: contributions
                    .iter()
                    .map(|(o, a)| pb::Contribution {
                        offer_id: o.id.clone(),
                        amount: a.clone(),
                        ..Default::default()
                    })
                    .collect(),
                request_id: String::new(),
            })
            .await;
        let Ok(m) = proposed else { continue };
        let m = m.into_inner().r#match.unwrap_or_default();
        let requester = party_key(
            admin,
            channel,
            keys,
            pb::Role::Requester,
            &m.requester_party_id,
        )
        .await?;
        let mut ok = accept(&requester, &m.id).await.is_ok();
        for (o, _) in &contributions {
            let provider = party_key(
                admin,
                channel,
                keys,
                pb::Role::Provider,
                &o.provider_party_id,
            )
            .await?;
            ok = ok && accept(&provider, &m.id).await.is_ok();
        }
        if ok {
            let names: Vec<&str> = contributions
                .iter()
                .map(|(o, _)| o.programme_name.as_str())
                .collect();
            return Ok(Some(format!(
                "{} ← {} offers: {}",
                n.fields.country_code,
                names.len(),
                names.join("; ")
            )));
        }
    }
    Ok(None)
}

/// A base-currency amount (USD) in the currency of an offer's ceiling, by the demo's rates.
fn to_offer_currency(base: Option<&pb::Money>, ceiling: Option<&pb::Money>) -> Option<pb::Money> {
    let base = base?;
    let per_base = |c: &str| match c {
        "EUR" => (100, 108),
        "GBP" => (100, 127),
        "JPY" => (100, 67),
        _ => (1, 1),
    };
    let currency = ceiling.map_or("USD", |c| c.currency_code.as_str());
    let (num, den) = per_base(currency);
    Some(pb::Money {
        currency_code: currency.to_owned(),
        minor_units: base.minor_units * num / den,
    })
}

/// The coverage report in a few lines: totals, then one row per thematic area.
fn summary(c: &CoverageReport) -> String {
    let share = |bp: Option<u32>| {
        bp.map_or("—".to_owned(), |b| {
            format!("{:.1} %", f64::from(b) / 100.0)
        })
    };
    let t = &c.total;
    let mut out = format!(
        "Coverage on {}: {} needs — {} matched, {} partially, {} unmatched; {} of the estimated budgets funded ({}).\n\n",
        c.meta.as_of,
        t.needs,
        t.matched,
        t.partially_matched,
        t.unmatched,
        share(t.funded_share_bp),
        c.meta.base_currency
    );
    out.push_str(&format!(
        "{:<26} {:>6} {:>8} {:>8} {:>10} {:>8}\n",
        "thematic area", "needs", "matched", "partly", "unmatched", "funded"
    ));
    for r in &c.by_area {
        let f = &r.figures;
        out.push_str(&format!(
            "{:<26} {:>6} {:>8} {:>8} {:>10} {:>8}\n",
            r.key.to_lowercase().replace('_', " "),
            f.needs,
            f.matched,
            f.partially_matched,
            f.unmatched,
            share(f.funded_share_bp)
        ));
    }
    out
}
