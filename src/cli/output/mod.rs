//! What a client subcommand prints on stdout, in the three formats: `table` (blocks of
//! tables and field lists for people, fitted to the terminal), `json` (the proto3 JSON
//! mapping of the response) and `csv` (one designated grid with a header row).
//!
//! A command builds a [`Doc`] from the response once; [`render`] turns it into text for
//! the chosen format. Rendering is pure (width and colour are arguments), so snapshots
//! cover it.

pub mod csv;
pub mod table;

use std::io::{IsTerminal, Write};

use super::{failure::CliError, settings::Format};
use crate::json::{self, ApiMessage};

/// Rows under a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grid {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    /// A grid with these headers and no rows.
    pub fn new(headers: &[&str]) -> Grid {
        Grid {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// A grid of `items`, one row each, through `columns` (titles as headers for people,
    /// field names for programs).
    pub fn of<T>(items: &[T], columns: &[Column<T>], mode: Mode) -> Grid {
        Grid {
            headers: columns
                .iter()
                .map(|c| match mode {
                    Mode::Human => c.title.to_owned(),
                    Mode::Machine => c.name.to_owned(),
                })
                .collect(),
            rows: items
                .iter()
                .map(|item| columns.iter().map(|c| (c.cell)(item, mode)).collect())
                .collect(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

/// How a cell is written: grouped thousands and short times for people, plain numbers
/// and RFC 3339 times for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// For a table.
    Human,
    /// For CSV.
    Machine,
}

/// One column of a resource list: its headers and how to write a cell.
#[derive(Debug)]
pub struct Column<T> {
    /// CSV header: the API's field name where there is one (`requester_party_id`).
    pub name: &'static str,
    /// Table header (`REQUESTER`).
    pub title: &'static str,
    /// The cell of one item.
    pub cell: fn(&T, Mode) -> String,
}

/// A part of the table output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A table with a header row.
    Grid(Grid),
    /// Label/value lines of one resource.
    Fields(Vec<(String, String)>),
    /// A line of text.
    Line(String),
}

/// What a command prints, built once from its response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    /// Table output, block after block.
    pub blocks: Vec<Block>,
    /// CSV output.
    pub csv: Grid,
}

impl Doc {
    /// A list: the same grid as table and CSV (human and machine cells).
    pub fn list<T>(items: &[T], columns: &[Column<T>]) -> Doc {
        Doc {
            blocks: vec![Block::Grid(Grid::of(items, columns, Mode::Human))],
            csv: Grid::of(items, columns, Mode::Machine),
        }
    }

    /// One resource: its fields as a table, its list row as CSV.
    pub fn record<T>(item: &T, fields: Vec<(String, String)>, columns: &[Column<T>]) -> Doc {
        Doc {
            blocks: vec![Block::Fields(fields)],
            csv: Grid::of(std::slice::from_ref(item), columns, Mode::Machine),
        }
    }

    /// Adds a block to the table output.
    pub fn then(mut self, block: Block) -> Doc {
        self.blocks.push(block);
        self
    }
}

/// How stdout looks: format, width and whether to style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    /// Format.
    pub format: Format,
    /// Width to fit tables in; `None` leaves lines unwrapped (not a terminal).
    pub width: Option<u16>,
    /// Whether to style (bold headers).
    pub color: bool,
}

impl Printer {
    /// For stdout: the terminal's width and colour when it is a terminal (colour unless
    /// `NO_COLOR` is set).
    pub fn stdout(format: Format) -> Printer {
        let tty = std::io::stdout().is_terminal();
        Printer {
            format,
            width: if tty {
                comfy_table::Table::new().width()
            } else {
                None
            },
            color: tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// Renders `msg` and its `doc` and writes them to stdout.
    pub fn print<M: ApiMessage>(&self, msg: &M, doc: &Doc) -> Result<(), CliError> {
        let text = render(self, msg, doc)?;
        write_stdout(&text)
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Io(format!("cannot write to stdout: {e}"))),
    }
}

/// The text for `msg` in the printer's format.
pub fn render<M: ApiMessage>(p: &Printer, msg: &M, doc: &Doc) -> Result<String, CliError> {
    Ok(match p.format {
        Format::Json => {
            let mut s = json::to_string(msg, true)?;
            s.push('\n');
            s
        }
        Format::Csv => csv::render(&doc.csv)?,
        Format::Table => table::render(&doc.blocks, p.width, p.color),
    })
}
