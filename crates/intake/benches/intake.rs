//! Reading speed: texts per second for a request of about 2,000 characters (a note
//! verbale with four numbered needs in four areas), and for a programme description.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const REQUEST: &str = "The Permanent Mission of the Republic of Kenya to the United Nations presents its compliments to the Chair of the Security Council Committee established pursuant to resolution 1540 (2004) and, with reference to paragraph 7 of the resolution, has the honour to request assistance in the following areas:

1. Provision of radiation portal monitors and handheld radioisotope identification devices for the ports of Mombasa and Lamu and for the Namanga and Busia border crossings, with their installation, and training of customs officers and border police in their operation and in the response to alarms. No infrastructure works are requested.

2. Training of export licensing officers in the assessment of licence applications for dual-use goods, the verification of end-user certificates and the use of a catch-all clause, together with outreach to exporting enterprises on internal compliance programmes.

3. Legislative assistance to review the draft Strategic Goods Control Bill, in particular its provisions on offences and penalties for non-State actors and on the financing of proliferation.

4. A national tabletop exercise on the response to a radiological incident at a major public event, with the participation of the police, health and emergency services, followed by a review of the national response plan and of the arrangements for sharing information between agencies.

Kenya would welcome jointly funded projects or contributions through the IAEA Nuclear Security Fund. The activities should start from January 2027 and be completed by the end of 2027; the estimated cost is USD 850,000. Training materials in English and Swahili would be appreciated. The Mission remains at the disposal of the Committee for any further information on these requests and will provide the names of the officials concerned in each agency.

The Permanent Mission of the Republic of Kenya avails itself of this opportunity to renew to the Chair of the Committee the assurances of its highest consideration.";

const PROGRAMME: &str = "The Export Control Cooperation Programme supports partner countries in Eastern Africa, Western Africa and South-eastern Asia in building effective strategic trade control systems: drafting export control legislation, adopting national control lists based on the EU dual-use list, setting up licensing procedures including end-user certificates, and outreach to industry on internal compliance programmes. It delivers training, expert missions and study visits, in English and French, and is funded by a single donor with a ceiling of EUR 2 million per year.";

fn bench(c: &mut Criterion) {
    let reader = clearinghouse_intake::Reader::new().expect("lexicons compile");
    let read = reader.suggest_needs(REQUEST).expect("readable");
    assert_eq!(
        read.needs.len(),
        4,
        "the request holds four needs in four areas"
    );
    let mut group = c.benchmark_group("intake");
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        format!("suggest_needs ({} chars)", REQUEST.chars().count()),
        |b| b.iter(|| reader.suggest_needs(black_box(REQUEST))),
    );
    group.bench_function(
        format!("suggest_offer_scope ({} chars)", PROGRAMME.chars().count()),
        |b| b.iter(|| reader.suggest_offer_scope(black_box(PROGRAMME))),
    );
    group.finish();
    c.bench_function("Reader::new (compile lexicons and name tables)", |b| {
        b.iter(clearinghouse_intake::Reader::new)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
