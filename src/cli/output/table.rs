//! Tables for people, drawn with `comfy-table`: borderless columns two spaces apart,
//! wrapped to the terminal's width when there is one; bold headers only when styling.
//! Only free-text columns wrap: ids, codes, dates and amounts stay whole so they can be
//! copied.

use comfy_table::{Attribute, Cell, ColumnConstraint, ContentArrangement, Table, presets};

use super::{Block, Grid};

/// Renders the blocks, a blank line between them. `width` fits the tables (dynamic
/// arrangement); `None` leaves lines whole. `color` makes headers and labels bold.
pub fn render(blocks: &[Block], width: Option<u16>, color: bool) -> String {
    let mut parts = Vec::new();
    for b in blocks {
        let text = match b {
            Block::Grid(g) => grid(g, width, color),
            Block::Fields(f) => fields(f, width, color),
            Block::Line(l) => l.clone(),
        };
        parts.push(text);
    }
    let mut out = parts.join("\n\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn base(width: Option<u16>, color: bool) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    match width {
        Some(w) => {
            t.set_width(w);
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

fn pad(t: &mut Table) {
    let n = t.column_count();
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, if i + 1 == n { 0 } else { 2 }));
    }
}

fn grid(g: &Grid, width: Option<u16>, color: bool) -> String {
    if g.rows.is_empty() {
        return "(none)".to_owned();
    }
    let mut t = base(width, color);
    t.set_header(g.headers.iter().map(|h| {
        let c = Cell::new(h);
        if color {
            c.add_attribute(Attribute::Bold)
        } else {
            c
        }
    }));
    for r in &g.rows {
        t.add_row(r.iter().map(Cell::new));
    }
    pad(&mut t);
    if width.is_some() {
        let constraints: Vec<Option<ColumnConstraint>> = (0..g.headers.len())
            .map(|i| keeps_whole(g, i).then_some(ColumnConstraint::ContentWidth))
            .collect();
        for (c, k) in t.column_iter_mut().zip(constraints) {
            if let Some(k) = k {
                c.set_constraint(k);
            }
        }
    }
    t.trim_fmt()
}

/// Whether column `i` must not wrap: no cell line has a space (ids, codes, dates), or
/// every line is short (amounts such as `USD 250,000`).
fn keeps_whole(g: &Grid, i: usize) -> bool {
    let lines = || {
        g.rows
            .iter()
            .filter_map(move |r| r.get(i))
            .flat_map(|c| c.lines())
    };
    let spaced = lines().any(|l| l.contains(char::is_whitespace));
    let widest = lines().map(|l| l.chars().count()).max().unwrap_or(0);
    !spaced || widest <= 20
}

fn fields(f: &[(String, String)], width: Option<u16>, color: bool) -> String {
    let mut t = base(width, color);
    for (label, value) in f {
        let l = Cell::new(format!("{label}:"));
        t.add_row(vec![
            if color {
                l.add_attribute(Attribute::Bold)
            } else {
                l
            },
            Cell::new(value),
        ]);
    }
    pad(&mut t);
    if width.is_some()
        && let Some(c) = t.column_mut(0)
    {
        c.set_constraint(ColumnConstraint::ContentWidth);
    }
    t.trim_fmt()
}
