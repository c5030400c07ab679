//! `clearinghouse need suggest FILE`: reads a request's text (a note verbale, a filled
//! template, an e-mail) through `IntakeService.SuggestNeeds` and prints one draft need per
//! thematic area it asks for, each code with the words behind it marked in the text;
//! with `--create`, after confirmation, the drafts become DRAFT needs through CreateNeed.

use std::{io::Read, path::PathBuf};

use clap::Args;

use super::{
    Ctx,
    confirm::confirm,
    enums::{AREA, ASSISTANCE_KIND, SUB_AREA, WEAPON_DOMAIN, label},
    failure::CliError,
    output::write_stdout,
    settings::Format,
};
use crate::pb;

/// Flags of `need suggest`.
#[derive(Debug, Clone, Args)]
pub struct SuggestArgs {
    /// The text file to read (UTF-8; `-` for stdin).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Create the drafts as DRAFT needs (after confirmation on a terminal; --yes in scripts).
    #[arg(long)]
    create: bool,
    /// Requesting party of the needs created (default: the State the text names).
    #[arg(long, value_name = "PARTY_ID")]
    requester: Option<String>,
    /// Create without asking.
    #[arg(long)]
    yes: bool,
}

fn read_text(file: &PathBuf) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::Io(format!("cannot read {}: {e}", file.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{} is not UTF-8 text", file.display())))
}

/// The text with each evidence span marked: `[[words]]` (or bold on a terminal).
fn marked(text: &str, spans: &[(u32, u32)], color: bool) -> String {
    let (open, close) = if color {
        ("\x1b[1;4m", "\x1b[0m")
    } else {
        ("[[", "]]")
    };
    let mut spans: Vec<(usize, usize)> = spans
        .iter()
        .map(|&(s, e)| (s as usize, e as usize))
        .collect();
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len() + spans.len() * 4);
    let mut at = 0usize;
    let mut next = spans.iter().peekable();
    let mut open_until = None;
    for (i, c) in text.chars().enumerate() {
        if open_until == Some(i) {
            out.push_str(close);
            open_until = None;
        }
        while next.peek().is_some_and(|(s, _)| *s < i) {
            next.next();
        }
        if open_until.is_none()
            && let Some(&&(s, e)) = next.peek()
            && s == i
        {
            out.push_str(open);
            open_until = Some(e);
            next.next();
        }
        out.push(c);
        at = i + 1;
    }
    if open_until.is_some_and(|e| e <= at) {
        out.push_str(close);
    }
    out
}

fn evidence_spans(n: &pb::NeedSuggestion) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = n
        .sub_areas
        .iter()
        .flat_map(|s| s.evidence.iter())
        .chain(n.evidence.iter().flat_map(|c| c.evidence.iter()))
        .map(|e| (e.start, e.end))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn draft_text(text: &str, r: &pb::SuggestNeedsResponse, color: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} draft need(s); language {}; requesting State {}\n",
        r.needs.len(),
        r.language,
        if r.requesting_state.is_empty() {
            "not named"
        } else {
            &r.requesting_state
        }
    ));
    for (i, n) in r.needs.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {}  [{} {:.2}]\n",
            i + 1,
            n.title,
            label(AREA, n.thematic_area),
            n.area_confidence
        ));
        for s in &n.sub_areas {
            let words: Vec<&str> = s.evidence.iter().map(|e| e.phrase.as_str()).collect();
            out.push_str(&format!(
                "   sub-area  {:<34} {:.2}  \"{}\"\n",
                label(SUB_AREA, s.sub_area),
                s.confidence,
                words.join("\", \"")
            ));
        }
        if !n.assistance_kinds.is_empty() {
            let kinds: Vec<String> = n
                .assistance_kinds
                .iter()
                .map(|k| label(ASSISTANCE_KIND, *k))
                .collect();
            out.push_str(&format!("   help      {}\n", kinds.join(", ")));
        }
        if !n.weapon_domains.is_empty() {
            let d: Vec<String> = n
                .weapon_domains
                .iter()
                .map(|k| label(WEAPON_DOMAIN, *k))
                .collect();
            out.push_str(&format!("   domains   {}\n", d.join(", ")));
        }
        if let Some(m) = n.money.as_ref().and_then(|m| m.money.as_ref()) {
            out.push_str(&format!(
                "   money     {} {}\n",
                m.currency_code, m.minor_units
            ));
        }
        if let Some(d) = &n.needed_by {
            out.push_str(&format!("   needed by {}\n", d.date));
        }
        let spans = evidence_spans(n);
        for x in &n.excerpts {
            let local: Vec<(u32, u32)> = spans
                .iter()
                .filter(|(s, e)| *s >= x.start && *e <= x.end)
                .map(|(s, e)| (s - x.start, e - x.start))
                .collect();
            let excerpt: String = text
                .chars()
                .skip(x.start as usize)
                .take((x.end - x.start) as usize)
                .collect();
            for line in marked(&excerpt, &local, color).lines() {
                out.push_str(&format!("   | {line}\n"));
            }
        }
    }
    out
}

/// A draft as the need to create.
pub(crate) fn need_of(n: &pb::NeedSuggestion, requester: &str, text: &str) -> pb::Need {
    let description: String = n
        .excerpts
        .iter()
        .map(|x| {
            text.chars()
                .skip(x.start as usize)
                .take((x.end - x.start) as usize)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    pb::Need {
        requester_party_id: requester.to_owned(),
        title: n.title.clone(),
        description,
        area: n.thematic_area,
        sub_areas: n.sub_areas.iter().take(3).map(|s| s.sub_area).collect(),
        weapon_domains: n.weapon_domains.clone(),
        assistance_kinds: if n.assistance_kinds.is_empty() {
            vec![pb::AssistanceKind::ExpertMission as i32]
        } else {
            n.assistance_kinds.clone()
        },
        accepted_funding_modes: if n.funding_modes.is_empty() {
            vec![
                pb::FundingMode::SingleDonor as i32,
                pb::FundingMode::JointlyFunded as i32,
            ]
        } else {
            n.funding_modes.clone()
        },
        languages: n.languages.clone(),
        estimated_budget: n.money.as_ref().and_then(|m| m.money.clone()),
        wanted_from: n
            .wanted_from
            .as_ref()
            .map(|d| d.date.clone())
            .unwrap_or_default(),
        needed_by: n
            .needed_by
            .as_ref()
            .map(|d| d.date.clone())
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// Runs `need suggest`.
pub async fn run(ctx: &mut Ctx, a: SuggestArgs) -> Result<(), CliError> {
    let text = read_text(&a.file)?;
    let r = ctx
        .api
        .intake
        .suggest_needs(pb::SuggestNeedsRequest { text: text.clone() })
        .await?
        .into_inner();
    if ctx.out.format == Format::Json {
        let mut s = crate::json::to_string(&r, true)?;
        s.push('\n');
        write_stdout(&s)?;
    } else {
        write_stdout(&draft_text(&text, &r, ctx.out.color))?;
    }
    if !a.create {
        return Ok(());
    }
    if r.needs.is_empty() {
        return Err(CliError::usage(
            "the text asks for nothing the reader recognizes; nothing to create",
        ));
    }
    let requester = match (&a.requester, r.requesting_state.as_str()) {
        (Some(p), _) => p.clone(),
        (None, "") => {
            return Err(CliError::usage(
                "the text names no requesting State; pass --requester PARTY_ID",
            ));
        }
        (None, iso3) => format!("state-{iso3}"),
    };
    confirm(
        &format!("create {} DRAFT need(s) for {requester}", r.needs.len()),
        a.yes,
    )?;
    for n in &r.needs {
        let created = ctx
            .api
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(need_of(n, &requester, &text)),
                request_id: String::new(),
            })
            .await?
            .into_inner()
            .need
            .unwrap_or_default();
        eprintln!(
            "created {} ({}): {}",
            created.id,
            label(AREA, created.area),
            created.title
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_marked_in_the_text() {
        assert_eq!(
            marked("train customs officers", &[(6, 13)], false),
            "train [[customs]] officers"
        );
        assert_eq!(marked("abc", &[(0, 3)], false), "[[abc]]");
    }
}
