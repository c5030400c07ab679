//! The table every renderer shares, and its plain-text rendering for terminals.
//!
//! Text tables fit a given width: text columns are shortened (with `…`) widest first,
//! never below a few characters; a table that still does not fit is printed as one
//! block of `column: value` lines per row, like `psql`'s expanded display. Numbers are
//! right-aligned.

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Header.
    pub name: String,
    /// Right-aligned and never shortened.
    pub numeric: bool,
}

/// A titled table of text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Title (a caption in HTML).
    pub title: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, each as many cells as columns.
    pub rows: Vec<Vec<String>>,
    /// Lines printed under the table (what was left out, what a share is of).
    pub notes: Vec<String>,
}

/// Narrowest a text column is shortened to.
const MIN_TEXT_WIDTH: usize = 6;
/// Between columns.
const GAP: &str = "  ";

impl Table {
    /// An empty table with these columns; a name starting with `#` is numeric (the `#`
    /// is dropped).
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            title: title.into(),
            columns: columns
                .iter()
                .map(|c| match c.strip_prefix('#') {
                    Some(n) => Column {
                        name: n.to_owned(),
                        numeric: true,
                    },
                    None => Column {
                        name: (*c).to_owned(),
                        numeric: false,
                    },
                })
                .collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Plain text no wider than `width` characters (at least 20).
    pub fn to_text(&self, width: usize) -> String {
        let width = width.max(20);
        let mut out = String::new();
        out.push_str(&shorten(&self.title, width));
        out.push('\n');
        let widths = self.fit(width);
        match widths {
            Some(w) => self.grid(&w, &mut out),
            None => self.records(width, &mut out),
        }
        if self.rows.is_empty() {
            out.push_str("(none)\n");
        }
        for n in &self.notes {
            for line in wrap(n, width) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    fn natural(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|s| s.chars().count())
                    .chain(std::iter::once(c.name.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    fn fit(&self, width: usize) -> Option<Vec<usize>> {
        let mut w = self.natural();
        let gaps = GAP.len() * w.len().saturating_sub(1);
        let total = |w: &[usize]| w.iter().sum::<usize>() + gaps;
        while total(&w) > width {
            let widest = w
                .iter()
                .enumerate()
                .filter(|(i, x)| !self.columns[*i].numeric && **x > MIN_TEXT_WIDTH)
                .max_by_key(|(i, x)| (**x, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)?;
            w[widest] -= 1;
        }
        Some(w)
    }

    fn grid(&self, w: &[usize], out: &mut String) {
        let header: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        self.line(&header, w, out);
        let rule: Vec<String> = w.iter().map(|n| "-".repeat(*n)).collect();
        out.push_str(rule.join(GAP).as_str());
        out.push('\n');
        for r in &self.rows {
            self.line(r, w, out);
        }
    }

    fn line(&self, cells: &[String], w: &[usize], out: &mut String) {
        let parts: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cell = cells.get(i).map_or("", String::as_str);
                let s = shorten(cell, w[i]);
                if c.numeric {
                    format!("{s:>width$}", width = w[i])
                } else {
                    format!("{s:<width$}", width = w[i])
                }
            })
            .collect();
        out.push_str(parts.join(GAP).trim_end());
        out.push('\n');
    }

    fn records(&self, width: usize, out: &mut String) {
        let label = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0)
            .min(width / 2);
        for (n, r) in self.rows.iter().enumerate() {
            out.push_str(&format!("-[ {} ]", n + 1));
            out.push('\n');
            for (i, c) in self.columns.iter().enumerate() {
                let cell = r.get(i).map_or("", String::as_str);
                let name = shorten(&c.name, label);
                let room = width.saturating_sub(label + 3).max(MIN_TEXT_WIDTH);
                out.push_str(&format!("{name:<label$} : {}", shorten(cell, room)));
                out.push('\n');
            }
        }
    }
}

/// `s` cut to `n` characters, ending with `…` when cut.
pub fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("Sample", &["Name", "#Count"]);
        t.row(vec!["A rather long provider name".into(), "1,234".into()]);
        t.row(vec!["Short".into(), "5".into()]);
        t
    }

    #[test]
    fn every_line_fits_the_width_and_numbers_stay_whole() {
        for width in [20, 24, 30, 80] {
            let text = sample().to_text(width);
            for line in text.lines() {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
            assert!(text.contains("1,234"), "{text}");
        }
    }

    #[test]
    fn too_many_numeric_columns_switch_to_records() {
        let cols: Vec<String> = (0..12).map(|i| format!("#Column{i}")).collect();
        let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut t = Table::new("Wide", &refs);
        t.row((0..12).map(|i| (i * 1000).to_string()).collect());
        let text = t.to_text(40);
        assert!(text.contains("-[ 1 ]"), "{text}");
        assert!(text.contains("Column11 : 11000"), "{text}");
    }
}
