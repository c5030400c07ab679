//! Reading an import file into rows of `(column, value)` cells, each with the line it
//! starts on: CSV with a header row, or JSON as an array of flat objects whose keys are
//! the same column names (lists may be JSON arrays).

use serde_json::value::RawValue;

/// One row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line of the file the row starts on (1-based).
    pub line: usize,
    /// Cells by column name.
    pub cells: Vec<(String, String)>,
}

impl Row {
    /// The value of `column`, if the row has it.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_str())
    }
}

/// A problem with the file as a whole, or with one row's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// Line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// `Sub-Areas` and `sub-areas` as `sub_areas`.
pub fn column_name(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
}

/// The line a record starting at byte `at` is on, skipping the line break the reader
/// may count as the record's start (CRLF files).
fn line_at(text: &str, at: u64) -> usize {
    let at = usize::try_from(at).unwrap_or(usize::MAX).min(text.len());
    let skipped = text.as_bytes()[at..]
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    1 + text.as_bytes()[..at + skipped]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// Reads CSV text (a header row, then one row per record).
pub fn csv(text: &str) -> Result<Vec<Row>, Vec<ShapeError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(column_name).collect(),
        Err(e) => {
            return Err(vec![ShapeError {
                line: Some(1),
                message: format!("cannot read the header row: {e}"),
            }]);
        }
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| line_at(text, p.byte()));
                if r.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                rows.push(Row {
                    line,
                    cells: headers
                        .iter()
                        .cloned()
                        .zip(r.iter().map(str::to_owned))
                        .collect(),
                });
            }
            Err(e) => errors.push(ShapeError {
                line: e.position().map(|p| usize::try_from(p.line()).unwrap_or(0)),
                message: match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("has {len} cells; the header has {expected_len}"),
                    _ => e.to_string(),
                },
            }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Reads JSON text: an array of objects, each a row.
pub fn json(text: &str) -> Result<Vec<Row>, Vec<ShapeError>> {
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        vec![ShapeError {
            line: Some(e.line()),
            message: format!("not a JSON array of objects: {e}"),
        }]
    })?;
    let base = text.as_ptr() as usize;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for raw in items {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(base);
        let line = 1 + text
            .get(..offset)
            .map_or(0, |before| before.bytes().filter(|b| *b == b'\n').count());
        let value: serde_json::Value = match serde_json::from_str(raw.get()) {
            Ok(v) => v,
            Err(e) => {
                errors.push(ShapeError {
                    line: Some(line),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let Some(object) = value.as_object() else {
            errors.push(ShapeError {
                line: Some(line),
                message: "is not an object of column: value pairs".to_owned(),
            });
            continue;
        };
        let mut cells = Vec::new();
        for (key, v) in object {
            match cell(v) {
                Some(text) => cells.push((column_name(key), text)),
                None => errors.push(ShapeError {
                    line: Some(line),
                    message: format!(
                        "{key}: nested objects are not columns; use text, a number, true/false or a list"
                    ),
                }),
            }
        }
        rows.push(Row { line, cells });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// A JSON value as cell text: lists joined with `;`.
fn cell(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as V;
    match v {
        V::Null => Some(String::new()),
        V::Bool(b) => Some(b.to_string()),
        V::Number(n) => Some(n.to_string()),
        V::String(s) => Some(s.clone()),
        V::Array(items) => items
            .iter()
            .map(|i| match i {
                V::String(s) => Some(s.clone()),
                V::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|l| l.join(";")),
        V::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_carry_their_line_numbers_across_quoted_newlines() {
        let text = "External-ID,title\nA,\"two\nlines\"\nB,one\n";
        let rows = csv(text).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].get("external_id"), Some("A"));
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn crlf_files_number_their_lines_like_lf_files() {
        let rows = csv("external_id,title\r\nA,x\r\nB,\"two\r\nlines\"\r\nC,z\r\n").expect("rows");
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 5]);
    }

    #[test]
    fn a_csv_row_with_the_wrong_number_of_cells_is_named_by_line() {
        let errs = csv("a,b\n1,2\n3\n").expect_err("short row");
        assert_eq!(errs[0].line, Some(3));
        assert!(errs[0].message.contains("has 1 cells"), "{:?}", errs[0]);
    }

    #[test]
    fn json_rows_start_on_the_line_of_their_object_and_lists_join() {
        let text = "[\n  {\"external_id\": \"A\", \"sub_areas\": [\"X\", \"Y\"]},\n\n  {\"external_id\": \"B\", \"max_engagements\": 3}\n]";
        let rows = json(text).expect("rows");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].get("sub_areas"), Some("X;Y"));
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].get("max_engagements"), Some("3"));
    }

    #[test]
    fn json_that_is_not_an_array_of_flat_objects_is_refused() {
        assert!(json("{\"a\": 1}").is_err());
        let errs = json("[{\"contact\": {\"name\": \"x\"}}]").expect_err("nested");
        assert!(errs[0].message.starts_with("contact:"));
    }
}
