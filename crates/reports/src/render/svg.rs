//! Inline SVG charts: the coverage heat map (area × region), ageing bars, funding-mode
//! shares and the pipeline per GP sub-working group.
//!
//! Every chart has a `<title>` and `<desc>` (read by screen readers), axes with their
//! units, and prints its values as text next to the marks, so nothing depends on colour
//! alone. Colours come from the Okabe–Ito palette and viridis steps, which readers with
//! colour-vision deficiencies can tell apart.

use crate::{
    ageing::AgeingReport,
    classify::Stage,
    coverage::CoverageReport,
    markup::esc,
    match_volume::MatchVolumeReport,
    money::{format_money, format_share},
    pipeline::PipelineReport,
};

/// Okabe–Ito colours by name.
pub mod okabe_ito {
    /// Orange.
    pub const ORANGE: &str = "#E69F00";
    /// Sky blue.
    pub const SKY_BLUE: &str = "#56B4E9";
    /// Bluish green.
    pub const BLUISH_GREEN: &str = "#009E73";
    /// Yellow.
    pub const YELLOW: &str = "#F0E442";
    /// Blue.
    pub const BLUE: &str = "#0072B2";
    /// Vermillion.
    pub const VERMILLION: &str = "#D55E00";
    /// Reddish purple.
    pub const REDDISH_PURPLE: &str = "#CC79A7";
    /// Grey (for "ended").
    pub const GREY: &str = "#999999";
}

/// Six viridis steps, darkest first.
pub const VIRIDIS: [&str; 6] = [
    "#440154", "#414487", "#2A788E", "#22A884", "#7AD151", "#FDE725",
];

/// Fill of an empty heat-map cell.
pub const EMPTY_CELL: &str = "#F2F2F2";

const FONT: &str =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\"";

/// Approximate width of `s` in pixels at `size` px (for laying out labels).
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.58
}

/// A readable label for a code (`EXPORT_TRANSSHIPMENT` → `Export transshipment`).
pub fn humanize(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    let words = match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    };
    // Acronyms stay upper-case.
    words
        .split(' ')
        .map(|w| match w {
            "io" => "IO",
            "gp" => "GP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A round axis maximum at or above `v` and its tick step (1, 2 or 5 × 10^k).
pub fn nice_axis(v: f64) -> (f64, f64) {
    if v <= 0.0 {
        return (1.0, 1.0);
    }
    let mut step = 10f64.powf((v / 5.0).log10().floor());
    for mult in [1.0, 2.0, 5.0, 10.0] {
        if v / (step * mult) <= 5.0 {
            step *= mult;
            break;
        }
    }
    ((v / step).ceil() * step, step)
}

struct Svg {
    id: String,
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    fn new(id: &str, width: f64, height: f64) -> Svg {
        Svg {
            id: id.to_owned(),
            width,
            height,
            body: String::new(),
        }
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, label: &str) {
        if w <= 0.0 || h <= 0.0 {
            return;
        }
        self.body.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"1\"><title>{}</title></rect>\n",
            esc(label)
        ));
    }

    fn text(
        &mut self,
        (x, y): (f64, f64),
        size: f64,
        anchor: &str,
        fill: &str,
        weight: &str,
        s: &str,
    ) {
        self.body.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" text-anchor=\"{anchor}\" fill=\"{fill}\" font-weight=\"{weight}\">{}</text>\n",
            esc(s)
        ));
    }

    fn path(&mut self, d: &str, stroke: &str) {
        self.body.push_str(&format!(
            "<path d=\"{d}\" stroke=\"{stroke}\" stroke-width=\"1\" fill=\"none\"/>\n"
        ));
    }

    fn finish(self, title: &str, desc: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" {FONT}>\n<title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>\n{}</svg>\n",
            esc(title),
            esc(desc),
            self.body,
            id = self.id,
            w = self.width,
            h = self.height,
        )
    }
}

fn legend(svg: &mut Svg, x: f64, y: f64, items: &[(&str, String)]) -> f64 {
    let mut cx = x;
    for (color, label) in items {
        svg.rect(cx, y - 10.0, 12.0, 12.0, color, label);
        svg.text((cx + 16.0, y), 12.0, "start", "#222222", "normal", label);
        cx += 16.0 + text_width(label, 12.0) + 18.0;
    }
    cx
}

/// Title of the heat map.
pub fn heat_map_title(r: &CoverageReport) -> String {
    format!("Needs by thematic area and {} (count)", r.geo_level)
}

/// The coverage heat map: rows are thematic areas, columns regions (or sub-regions);
/// colour and the large number give the needs; the small line gives matched / partially
/// matched / unmatched.
pub fn heat_map(r: &CoverageReport) -> String {
    let label_w = r
        .areas
        .iter()
        .map(|a| text_width(&humanize(a), 12.0))
        .fold(120.0, f64::max)
        + 16.0;
    let col_w = r
        .columns
        .iter()
        .map(|c| text_width(c, 12.0) + 12.0)
        .fold(96.0, f64::max);
    let row_h = 34.0;
    let top = 50.0;
    let width = label_w + col_w * r.columns.len() as f64 + 20.0;
    let grid_h = row_h * r.areas.len() as f64;
    let height = top + grid_h + 70.0;
    let mut svg = Svg::new("chart-coverage", width, height);
    let max = r.cells.iter().map(|c| c.figures.needs).max().unwrap_or(0);
    svg.text(
        (label_w + col_w * r.columns.len() as f64 / 2.0, 16.0),
        12.0,
        "middle",
        "#222222",
        "bold",
        &format!("{} (columns)", r.geo_level),
    );
    for (j, c) in r.columns.iter().enumerate() {
        let x = label_w + col_w * j as f64 + col_w / 2.0;
        svg.text((x, top - 10.0), 12.0, "middle", "#222222", "normal", c);
    }
    svg.text(
        (8.0, top - 10.0),
        12.0,
        "start",
        "#222222",
        "bold",
        "Thematic area (rows)",
    );
    for (i, a) in r.areas.iter().enumerate() {
        let y = top + row_h * i as f64;
        svg.text(
            (label_w - 8.0, y + row_h / 2.0 + 4.0),
            12.0,
            "end",
            "#222222",
            "normal",
            &humanize(a),
        );
        for (j, c) in r.columns.iter().enumerate() {
            let Some(cell) = r.cells.iter().find(|x| &x.area == a && &x.geo == c) else {
                continue;
            };
            let f = &cell.figures;
            let step = if f.needs == 0 || max == 0 {
                None
            } else {
                Some(
                    ((f.needs as usize * VIRIDIS.len()).div_ceil(max as usize))
                        .clamp(1, VIRIDIS.len())
                        - 1,
                )
            };
            let fill = step.map_or(EMPTY_CELL, |s| VIRIDIS[s]);
            let ink = match step {
                Some(s) if s < 3 => "#ffffff",
                _ => "#111111",
            };
            let x = label_w + col_w * j as f64;
            let label = format!(
                "{} in {}: {} needs, {} matched, {} partially matched, {} unmatched",
                humanize(a),
                c,
                f.needs,
                f.matched,
                f.partially_matched,
                f.unmatched
            );
            svg.rect(x, y, col_w, row_h, fill, &label);
            if f.needs == 0 {
                svg.text(
                    (x + col_w / 2.0, y + row_h / 2.0 + 4.0),
                    12.0,
                    "middle",
                    "#666666",
                    "normal",
                    "0",
                );
            } else {
                svg.text(
                    (x + col_w / 2.0, y + 15.0),
                    14.0,
                    "middle",
                    ink,
                    "bold",
                    &f.needs.to_string(),
                );
                svg.text(
                    (x + col_w / 2.0, y + 28.0),
                    11.0,
                    "middle",
                    ink,
                    "normal",
                    &format!("{}/{}/{}", f.matched, f.partially_matched, f.unmatched),
                );
            }
        }
    }
    svg.path(
        &format!(
            "M{label_w:.1} {top:.1} V{:.1} H{:.1}",
            top + grid_h,
            label_w + col_w * r.columns.len() as f64
        ),
        "#333333",
    );
    let ly = top + grid_h + 24.0;
    svg.text(
        (8.0, ly),
        12.0,
        "start",
        "#222222",
        "normal",
        "Colour: needs (count). Large number: needs; small: matched/partially/unmatched.",
    );
    let mut items: Vec<(&str, String)> = vec![(EMPTY_CELL, "0".to_owned())];
    if max > 0 {
        let steps = VIRIDIS.len() as u32;
        for (s, color) in VIRIDIS.iter().enumerate() {
            let s = s as u32;
            let lo = (s * max).div_ceil(steps).max(1);
            let hi = ((s + 1) * max) / steps;
            if hi >= lo {
                let label = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                };
                items.push((color, label));
            }
        }
    }
    legend(&mut svg, 8.0, ly + 24.0, &items);
    svg.finish(
        &heat_map_title(r),
        &format!(
            "Heat map of {} needs over {} thematic areas and {} columns; the table below gives every number.",
            r.total.needs,
            r.areas.len(),
            r.columns.len()
        ),
    )
}

/// Title of the ageing chart.
pub const AGEING_TITLE: &str = "Unmatched needs by months since the request, by priority (count)";

/// Vertical bars per age bucket, stacked by priority, totals on top.
pub fn ageing_bars(r: &AgeingReport) -> String {
    let (left, top, plot_w, plot_h) = (70.0, 36.0, 480.0, 170.0);
    let width = left + plot_w + 40.0;
    let height = top + plot_h + 92.0;
    let mut svg = Svg::new("chart-ageing", width, height);
    let max = r.buckets.iter().map(|b| b.needs).max().unwrap_or(0);
    let (axis_max, step) = nice_axis(f64::from(max));
    let scale = plot_h / axis_max;
    let mut tick = 0.0;
    while tick <= axis_max + 1e-9 {
        let y = top + plot_h - tick * scale;
        svg.path(
            &format!("M{:.1} {y:.1} H{:.1}", left - 4.0, left + plot_w),
            "#dddddd",
        );
        svg.text(
            (left - 8.0, y + 4.0),
            11.0,
            "end",
            "#333333",
            "normal",
            &format!("{tick:.0}"),
        );
        tick += step;
    }
    svg.path(
        &format!(
            "M{left:.1} {top:.1} V{:.1} H{:.1}",
            top + plot_h,
            left + plot_w
        ),
        "#333333",
    );
    svg.text(
        (14.0, top - 16.0),
        12.0,
        "start",
        "#222222",
        "bold",
        "Unmatched needs (count)",
    );
    let slot = plot_w / r.buckets.len().max(1) as f64;
    let bar_w = slot * 0.55;
    let colors = [
        ("HIGH", okabe_ito::VERMILLION),
        ("MEDIUM", okabe_ito::ORANGE),
        ("LOW", okabe_ito::SKY_BLUE),
    ];
    for (i, b) in r.buckets.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut y = top + plot_h;
        for ((name, color), v) in colors.iter().zip([b.high, b.medium, b.low]) {
            let h = f64::from(v) * scale;
            svg.rect(
                x,
                y - h,
                bar_w,
                h,
                color,
                &format!("{}: {v} {} priority", b.label, name.to_lowercase()),
            );
            if h >= 16.0 {
                let ink = if *name == "HIGH" {
                    "#ffffff"
                } else {
                    "#111111"
                };
                svg.text(
                    (x + bar_w / 2.0, y - h / 2.0 + 4.0),
                    11.0,
                    "middle",
                    ink,
                    "normal",
                    &v.to_string(),
                );
            }
            y -= h;
        }
        svg.text(
            (x + bar_w / 2.0, y - 6.0),
            12.0,
            "middle",
            "#111111",
            "bold",
            &format!("{} needs", b.needs),
        );
        svg.text(
            (x + bar_w / 2.0, top + plot_h + 18.0),
            12.0,
            "middle",
            "#222222",
            "normal",
            &b.label,
        );
    }
    svg.text(
        (left + plot_w / 2.0, top + plot_h + 42.0),
        12.0,
        "middle",
        "#222222",
        "bold",
        "Months since the request",
    );
    let items: Vec<(&str, String)> = colors
        .iter()
        .map(|(n, c)| (*c, format!("{} priority", humanize(n))))
        .collect();
    legend(&mut svg, left, top + plot_h + 72.0, &items);
    svg.finish(
        AGEING_TITLE,
        &format!(
            "Bars for {}; {} unmatched needs in all. The table below gives every number.",
            r.buckets
                .iter()
                .map(|b| format!("{} {}", b.label, b.needs))
                .collect::<Vec<_>>()
                .join(", "),
            r.unmatched_needs
        ),
    )
}

/// Title of the funding-mode chart.
pub fn funding_title(r: &MatchVolumeReport) -> String {
    format!(
        "Committed volume by funding mode ({}; matches agreed or later, not ended)",
        r.meta.base_currency
    )
}

/// Horizontal bars of committed volume per funding mode, labelled with the amount and
/// its share of the committed volume.
pub fn funding_shares(r: &MatchVolumeReport) -> String {
    let cur = r.meta.base_currency.as_str();
    let label_w = 150.0;
    let plot_w = 420.0;
    let row_h = 34.0;
    let top = 30.0;
    let rows = r.by_funding_mode.len() as f64;
    let labels: Vec<String> = r
        .by_funding_mode
        .iter()
        .map(|m| {
            format!(
                "{} ({} of committed volume, {} matches)",
                format_money(m.volume_minor, cur),
                format_share(m.share_of_committed_bp),
                m.matches
            )
        })
        .collect();
    let longest = labels
        .iter()
        .map(|l| text_width(l, 12.0))
        .fold(0.0, f64::max);
    let width = label_w + plot_w + longest + 24.0;
    let height = top + row_h * rows + 70.0;
    let mut svg = Svg::new("chart-funding", width, height);
    let max = r
        .by_funding_mode
        .iter()
        .map(|m| m.volume_minor)
        .max()
        .unwrap_or(0);
    let colors = [
        okabe_ito::BLUE,
        okabe_ito::BLUISH_GREEN,
        okabe_ito::REDDISH_PURPLE,
        okabe_ito::YELLOW,
    ];
    for (i, m) in r.by_funding_mode.iter().enumerate() {
        let y = top + row_h * i as f64;
        svg.text(
            (label_w - 8.0, y + row_h / 2.0 + 4.0),
            12.0,
            "end",
            "#222222",
            "normal",
            &humanize(&m.key),
        );
        let w = if max > 0 {
            m.volume_minor as f64 / max as f64 * plot_w
        } else {
            0.0
        };
        let label = &labels[i];
        svg.rect(
            label_w,
            y + 6.0,
            w,
            row_h - 12.0,
            colors[i % colors.len()],
            &format!("{}: {label}", humanize(&m.key)),
        );
        svg.text(
            (label_w + w + 6.0, y + row_h / 2.0 + 4.0),
            12.0,
            "start",
            "#111111",
            "normal",
            label,
        );
    }
    let base = top + row_h * rows;
    svg.path(
        &format!("M{label_w:.1} {top:.1} V{base:.1} H{:.1}", label_w + plot_w),
        "#333333",
    );
    svg.text(
        (label_w, base + 16.0),
        11.0,
        "start",
        "#333333",
        "normal",
        &format!("{cur} 0"),
    );
    svg.text(
        (label_w + plot_w, base + 16.0),
        11.0,
        "end",
        "#333333",
        "normal",
        &format_money(max, cur),
    );
    svg.text(
        (label_w + plot_w / 2.0, base + 40.0),
        12.0,
        "middle",
        "#222222",
        "bold",
        &format!("Committed volume ({cur})"),
    );
    svg.text(
        (8.0, top - 12.0),
        12.0,
        "start",
        "#222222",
        "bold",
        "Funding mode",
    );
    svg.finish(
        &funding_title(r),
        &format!(
            "Committed volume {} over {} matches, split by funding mode; the table below gives every number.",
            format_money(r.committed_volume_minor, cur),
            r.committed_matches
        ),
    )
}

/// Title of the pipeline chart.
pub const PIPELINE_TITLE: &str = "Matches per GP sub-working group by stage (count)";

/// Colour of each stage in the pipeline chart.
pub fn stage_color(s: Stage) -> &'static str {
    match s {
        Stage::Negotiating => okabe_ito::SKY_BLUE,
        Stage::Agreed => okabe_ito::ORANGE,
        Stage::Implementing => okabe_ito::BLUE,
        Stage::Completed => okabe_ito::BLUISH_GREEN,
        Stage::Ended => okabe_ito::GREY,
    }
}

/// Horizontal bars per sub-working group, stacked by match stage, totals at the end.
pub fn pipeline_bars(r: &PipelineReport) -> String {
    let label_w = 190.0;
    let plot_w = 460.0;
    let row_h = 36.0;
    let top = 30.0;
    let rows = r.groups.len() as f64;
    let width = label_w + plot_w + 110.0;
    let height = top + row_h * rows + 100.0;
    let mut svg = Svg::new("chart-pipeline", width, height);
    let max = r
        .groups
        .iter()
        .map(|g| g.matches.total())
        .max()
        .unwrap_or(0);
    let (axis_max, step) = nice_axis(f64::from(max));
    let scale = plot_w / axis_max;
    let base = top + row_h * rows;
    let mut tick = 0.0;
    while tick <= axis_max + 1e-9 {
        let x = label_w + tick * scale;
        svg.path(&format!("M{x:.1} {top:.1} V{:.1}", base + 4.0), "#dddddd");
        svg.text(
            (x, base + 16.0),
            11.0,
            "middle",
            "#333333",
            "normal",
            &format!("{tick:.0}"),
        );
        tick += step;
    }
    svg.path(
        &format!("M{label_w:.1} {top:.1} V{base:.1} H{:.1}", label_w + plot_w),
        "#333333",
    );
    for (i, g) in r.groups.iter().enumerate() {
        let y = top + row_h * i as f64;
        let name = if g.group == crate::pipeline::NO_GROUP {
            "No sub-working group".to_owned()
        } else {
            humanize(&g.group)
        };
        svg.text(
            (label_w - 8.0, y + row_h / 2.0 + 4.0),
            12.0,
            "end",
            "#222222",
            "normal",
            &name,
        );
        let mut x = label_w;
        for s in Stage::ALL {
            let v = g.matches.get(s);
            let w = f64::from(v) * scale;
            svg.rect(
                x,
                y + 6.0,
                w,
                row_h - 12.0,
                stage_color(s),
                &format!("{name}: {v} {}", s.label()),
            );
            if w >= 18.0 {
                let ink = if matches!(s, Stage::Implementing) {
                    "#ffffff"
                } else {
                    "#111111"
                };
                svg.text(
                    (x + w / 2.0, y + row_h / 2.0 + 4.0),
                    11.0,
                    "middle",
                    ink,
                    "normal",
                    &v.to_string(),
                );
            }
            x += w;
        }
        svg.text(
            (x + 6.0, y + row_h / 2.0 + 4.0),
            12.0,
            "start",
            "#111111",
            "bold",
            &format!("{} matches", g.matches.total()),
        );
    }
    svg.text(
        (label_w + plot_w / 2.0, base + 40.0),
        12.0,
        "middle",
        "#222222",
        "bold",
        "Matches (count)",
    );
    let items: Vec<(&str, String)> = Stage::ALL
        .iter()
        .map(|s| (stage_color(*s), humanize(s.code())))
        .collect();
    legend(&mut svg, 8.0, base + 72.0, &items);
    svg.text(
        (8.0, top - 12.0),
        12.0,
        "start",
        "#222222",
        "bold",
        "GP sub-working group",
    );
    svg.finish(
        PIPELINE_TITLE,
        &format!(
            "Stacked bars of matches by stage for {} groups; the table below gives every number.",
            r.groups.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_axis(0.0), (1.0, 1.0));
        assert_eq!(nice_axis(7.0), (8.0, 2.0));
        assert_eq!(nice_axis(23.0), (25.0, 5.0));
        assert_eq!(nice_axis(100.0), (100.0, 20.0));
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(humanize("EXPORT_TRANSSHIPMENT"), "Export transshipment");
        assert_eq!(humanize(""), "");
        assert_eq!(humanize("POOLED_IO_FUND"), "Pooled IO fund");
    }
}
