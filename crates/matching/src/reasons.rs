//! The words of an explanation: one short reason per factor and gate, written for a
//! broker to read aloud ("offers none of the kinds asked: needs training, offers
//! equipment"; "covers 7 of 10 beneficiary countries"). Built from the same factor
//! functions as the score.

use clearinghouse_domain::{
    AssistanceKind, CurrencyCode, Need, Offer, SubArea, WeaponDomain, geo::ScopeMatch,
};

use crate::{
    factors::{
        Capacity, Coverage, LanguageMatch, beneficiaries, capacity, coverage, domains_or_all,
        language_match, need_budget, pools_with_others, specificity, sub_credit,
    },
    fit::{FactorKind, FitContext, names},
    policy::PARENT_AREA_CREDIT,
};

fn kinds(k: &[AssistanceKind]) -> String {
    k.iter()
        .map(|x| x.code().to_lowercase().replace('_', " "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn domain_codes(d: &[WeaponDomain]) -> String {
    d.iter().map(|x| x.code()).collect::<Vec<_>>().join(", ")
}

/// An amount of minor units as people read it: the currency code, thousands separators
/// and the currency's ISO 4217 decimals (`USD 5,400.00`, `JPY 1,500`, `KWD 1.250`).
pub(crate) fn amount(minor: i64, currency: CurrencyCode) -> String {
    clearinghouse_domain::money::format_amount(minor, currency.as_str())
}

/// The reason of one factor or gate whose value (or multiplier) is `value`.
pub(crate) fn reason(
    kind: FactorKind,
    value: f64,
    need: &Need,
    offer: &Offer,
    ctx: &FitContext<'_>,
) -> String {
    match kind {
        FactorKind::Thematic => thematic(need, offer),
        FactorKind::Geography => geography(need, offer),
        FactorKind::Funding => match need.fields.preferred_funding_mode {
            Some(p) if value >= 1.0 => format!("offer works in the preferred mode {p}"),
            Some(p) => format!(
                "offer does not work in the preferred mode {p}; another accepted mode is shared"
            ),
            None => "a mutually accepted mode is shared".to_owned(),
        },
        FactorKind::Budget => budget(need, offer, ctx, value),
        FactorKind::Assistance => {
            let missing: Vec<AssistanceKind> = need
                .fields
                .assistance_kinds
                .iter()
                .copied()
                .filter(|k| !offer.fields.assistance_kinds.contains(k))
                .collect();
            if missing.is_empty() {
                "every kind of help asked for is offered".to_owned()
            } else {
                format!("not offered: {}", kinds(&missing))
            }
        }
        FactorKind::Timing => {
            if need.fields.needed_by.is_none() {
                "need has no deadline".to_owned()
            } else {
                format!(
                    "offer is available for {:.0}% of the wanted window",
                    value * 100.0
                )
            }
        }
        FactorKind::Language => language(need, offer),
        FactorKind::Domain => domain(need, offer),
        FactorKind::Specificity => focus(need, offer),
        FactorKind::KindsGate => {
            if value >= 1.0 {
                "offers at least one kind of help asked for".to_owned()
            } else {
                format!(
                    "offers none of the kinds asked: needs {}, offers {}",
                    kinds(&need.fields.assistance_kinds),
                    kinds(&offer.fields.assistance_kinds)
                )
            }
        }
        FactorKind::LanguageGate => {
            if value >= 1.0 {
                "a working language is shared or one side states none".to_owned()
            } else {
                format!(
                    "no working language in common: need works in {}, offer in {}",
                    need.fields.languages.join(", "),
                    offer.fields.languages.join(", ")
                )
            }
        }
        FactorKind::BudgetGate => budget_gate(need, offer, ctx, value),
    }
}

fn thematic(need: &Need, offer: &Offer) -> String {
    let subs = &need.fields.sub_areas;
    let direct: Vec<SubArea> = subs
        .iter()
        .copied()
        .filter(|s| offer.fields.sub_areas.contains(s))
        .collect();
    let parent: Vec<SubArea> = subs
        .iter()
        .copied()
        .filter(|s| sub_credit(*s, offer) == PARENT_AREA_CREDIT)
        .collect();
    let missing: Vec<SubArea> = subs
        .iter()
        .copied()
        .filter(|s| !offer.fields.covers(*s))
        .collect();
    let mut r = format!(
        "covers {} of {} sub-areas",
        direct.len() + parent.len(),
        subs.len()
    );
    if !direct.is_empty() {
        r.push_str(&format!(": {}", names(&direct)));
    }
    if !parent.is_empty() {
        r.push_str(&format!("; through the whole area: {}", names(&parent)));
    }
    if !missing.is_empty() {
        r.push_str(&format!("; missing: {}", names(&missing)));
    }
    r
}

fn geography(need: &Need, offer: &Offer) -> String {
    let scope = &offer.fields.scope;
    if need.fields.beneficiary_countries.is_empty() {
        let c = &need.fields.country_code;
        return match scope.covers(c) {
            Some(ScopeMatch::Country) => format!("offer names country {c}"),
            Some(ScopeMatch::Subregion) => format!("offer covers {c}'s sub-region"),
            Some(ScopeMatch::Region) => format!("offer covers {c}'s region"),
            Some(ScopeMatch::Global) => "offer is global".to_owned(),
            None => format!("{c} is outside the scope"),
        };
    }
    let all: Vec<&str> = beneficiaries(need).collect();
    let outside: Vec<&str> = all
        .iter()
        .copied()
        .filter(|c| scope.covers(c).is_none())
        .collect();
    let mut r = format!(
        "covers {} of {} beneficiary countries",
        all.len() - outside.len(),
        all.len()
    );
    if !outside.is_empty() {
        r.push_str(&format!("; outside: {}", outside.join(", ")));
    }
    if scope.global {
        r.push_str(" (global offer)");
    }
    r
}

fn budget(need: &Need, offer: &Offer, ctx: &FitContext<'_>, value: f64) -> String {
    match (need_budget(need, ctx.rates), capacity(offer, ctx.rates)) {
        (None, _) => "need states no budget".to_owned(),
        (Some(Err(())), _) | (_, Capacity::NoRate) => format!(
            "no exchange rate into {} for the amounts; budget not compared",
            ctx.rates.base
        ),
        (_, Capacity::Unlimited) => "offer states no capacity limit".to_owned(),
        (Some(Ok(b)), Capacity::Amount(a)) => format!(
            "offer can put {} of the need's {} ({:.0}%)",
            amount(a.min(b), ctx.rates.base),
            amount(b, ctx.rates.base),
            value * 100.0
        ),
    }
}

fn budget_gate(need: &Need, offer: &Offer, ctx: &FitContext<'_>, value: f64) -> String {
    let alone = !pools_with_others(need, offer);
    match coverage(need, offer, ctx.rates) {
        Coverage::Share(s) if alone && s < 1.0 => format!(
            "single donor: the offer would fund the need alone and can put only {:.0}% of its budget (score × {value:.2})",
            s * 100.0
        ),
        Coverage::Share(_) if !alone => {
            "a joint or pooled mode is shared: other funders can cover the rest".to_owned()
        }
        Coverage::NoRate => "amounts not comparable; no budget gate".to_owned(),
        _ => "the offer can fund the whole budget".to_owned(),
    }
}

fn language(need: &Need, offer: &Offer) -> String {
    let asked = &need.fields.languages;
    match language_match(need, offer) {
        LanguageMatch::NotAsked => "need states no working language".to_owned(),
        LanguageMatch::Unstated => "offer states no working language".to_owned(),
        LanguageMatch::Main => format!(
            "offer works in the need's main language {}",
            asked.first().map_or("", String::as_str)
        ),
        LanguageMatch::Other => {
            let shared: Vec<&str> = asked
                .iter()
                .filter(|l| offer.fields.languages.contains(l))
                .map(String::as_str)
                .collect();
            format!(
                "offer shares {} but not the main language {}",
                shared.join(", "),
                asked.first().map_or("", String::as_str)
            )
        }
        LanguageMatch::NoneShared => "no working language in common".to_owned(),
    }
}

fn domain(need: &Need, offer: &Offer) -> String {
    let asked = domains_or_all(&need.fields.weapon_domains);
    let covered = domains_or_all(&offer.fields.weapon_domains);
    let (have, missing): (Vec<WeaponDomain>, Vec<WeaponDomain>) =
        asked.iter().copied().partition(|d| covered.contains(d));
    let scope = if need.fields.weapon_domains.is_empty() {
        " (the need names none: all count)"
    } else {
        ""
    };
    if missing.is_empty() {
        format!(
            "covers every weapon domain asked: {}{scope}",
            domain_codes(&have)
        )
    } else {
        format!(
            "covers {}, missing {}{scope}",
            domain_codes(&have),
            domain_codes(&missing)
        )
    }
}

fn focus(need: &Need, offer: &Offer) -> String {
    let f = specificity(need, offer);
    let label = if f.value() >= 0.75 {
        "specialised"
    } else if f.value() >= 0.5 {
        "partly focused"
    } else {
        "broad"
    };
    let domains = if offer.fields.weapon_domains.is_empty() {
        "works on every weapon domain".to_owned()
    } else {
        format!(
            "{} of its {} weapon domains ({}) are the need's",
            f.need_domains,
            f.offer_domains,
            domain_codes(&offer.fields.weapon_domains)
        )
    };
    let areas = if f.offer_areas == 1 {
        "works in the need's area only".to_owned()
    } else {
        format!("works in {} areas", f.offer_areas)
    };
    format!(
        "{label}: {} of its {} sub-areas are the need's; {areas}; {domains}",
        f.need_subs, f.offer_subs
    )
}

#[cfg(test)]
mod tests {
    use clearinghouse_domain::CurrencyCode;

    use super::amount;

    fn code(s: &str) -> CurrencyCode {
        CurrencyCode::parse(s).expect("ISO 4217 code")
    }

    #[test]
    fn amounts_use_each_currency_s_decimals_and_thousands_separators() {
        assert_eq!(amount(540_000, code("USD")), "USD 5,400.00");
        assert_eq!(amount(5, code("EUR")), "EUR 0.05");
        assert_eq!(amount(1_500, code("JPY")), "JPY 1,500");
        assert_eq!(amount(1_250, code("KWD")), "KWD 1.250");
        assert_eq!(amount(100_000_000_000, code("USD")), "USD 1,000,000,000.00");
        assert_eq!(amount(0, code("USD")), "USD 0.00");
    }
}
