//! Kinds of help, weapon domains and funding modes: unlike the taxonomy these are not
//! ranked but present or absent. A code is present in a passage when one of its strong
//! terms is there; its weak terms then add evidence but never decide alone (generic words
//! such as "system" or "facility" pile up in any long passage). Negated and hidden hits
//! count for nothing.

use std::collections::BTreeMap;

use clearinghouse_domain::{AssistanceKind, FundingMode, WeaponDomain};

use crate::analyze::Document;
use crate::evidence::{Coded, Evidence};
use crate::lexicon::{Lexicon, Target};

/// The codes present among `hits` (indices into the document's hits).
#[derive(Debug, Default)]
pub(crate) struct PresentCodes {
    /// Weapon domains.
    pub domains: Vec<Coded<WeaponDomain>>,
    /// Kinds of help.
    pub kinds: Vec<Coded<AssistanceKind>>,
    /// Funding modes.
    pub funding: Vec<Coded<FundingMode>>,
}

/// Collects the codes present among `hits`.
pub(crate) fn present(doc: &Document<'_>, lex: &Lexicon, hits: &[usize]) -> PresentCodes {
    let mut found: BTreeMap<Target, (bool, Vec<Evidence>)> = BTreeMap::new();
    let mut sorted: Vec<usize> = hits.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for h in sorted {
        let hit = &doc.hits[h];
        if !hit.counts() {
            continue;
        }
        let term = &lex.terms[hit.term as usize];
        if term.target.family() == 0 {
            continue;
        }
        let entry = found.entry(term.target).or_default();
        entry.0 |= term.strong;
        let ev = doc.evidence(hit.start, hit.end);
        if !entry.1.contains(&ev) {
            entry.1.push(ev);
        }
    }
    let mut out = PresentCodes::default();
    for (target, (strong, mut evidence)) in found {
        if !strong {
            continue;
        }
        evidence.sort_by_key(|e| e.start);
        match target {
            Target::Domain(code) => out.domains.push(Coded { code, evidence }),
            Target::Kind(code) => out.kinds.push(Coded { code, evidence }),
            Target::Funding(code) => out.funding.push(Coded { code, evidence }),
            Target::Area(_) | Target::SubArea(_) => {}
        }
    }
    out
}
