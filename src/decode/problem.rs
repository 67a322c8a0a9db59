//! Soft problems: what the decoder could not read, with where and what it was.
//!
//! A problem never stops a run by itself: the decoder records it, loads the object's other lines and
//! goes on. The caller attaches the object's name and decides (e.g. under `--strict`) whether to stop.

use std::fmt;

/// Raw values quoted in a problem are cut to this many characters.
const MAX_QUOTED: usize = 80;

/// Something in one object that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The 1-based line number, or `None` for a problem with the object as a whole.
    pub line: Option<u64>,
    /// What was wrong.
    pub kind: ProblemKind,
}

/// What a problem left unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One line: its record was not loaded.
    Line,
    /// A field named by a header: its values were not loaded, the records were.
    Field,
    /// The object, or the rest of it.
    Object,
}

/// What kind of problem it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The line has a different number of fields than its format.
    FieldCount {
        /// Fields in the format that applies to the line.
        expected: usize,
        /// Fields found on the line.
        found: usize,
        /// True when no header named the format and the default 14-field format was assumed.
        assumed_default: bool,
        /// The line.
        value: String,
    },
    /// A numeric field holds something that is not a number of its type.
    InvalidNumber {
        /// The column, e.g. `dstport`.
        column: String,
        /// The raw value.
        value: String,
    },
    /// A field holds bytes that are not UTF-8.
    NotUtf8 {
        /// The column, when the line's format is known.
        column: Option<String>,
        /// The raw value, with the bad bytes replaced.
        value: String,
    },
    /// The line is longer than any flow-log record can be.
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A header line names the same field twice; the first one is loaded, the second is not.
    DuplicateField {
        /// The repeated name.
        name: String,
    },
    /// A header line names a field that is not a column of the table (a new field in a header past
    /// the first, or a reserved name); its values are not loaded.
    UnboundField {
        /// The name.
        name: String,
    },
    /// The object was damaged here: the unterminated line before the damage was not loaded.
    CutShort {
        /// What the line held up to the damage.
        value: String,
    },
    /// The object's bytes are damaged (corrupt or truncated gzip); records before the damage are kept.
    Damaged {
        /// What the decompressor said.
        reason: String,
    },
    /// The object could not be read at all (I/O error, access denied, …).
    Unreadable {
        /// What the store said.
        reason: String,
    },
    /// The object is in a format flowq does not read.
    Unsupported {
        /// What it is.
        what: String,
    },
}

impl Problem {
    /// A problem at a line.
    pub fn at_line(line: u64, kind: ProblemKind) -> Self {
        Problem { line: Some(line), kind }
    }

    /// A problem with the object as a whole.
    pub fn object(kind: ProblemKind) -> Self {
        Problem { line: None, kind }
    }

    /// What the problem left unread.
    pub fn scope(&self) -> Scope {
        match self.kind {
            ProblemKind::Damaged { .. } | ProblemKind::Unreadable { .. } | ProblemKind::Unsupported { .. } => {
                Scope::Object
            }
            ProblemKind::DuplicateField { .. } | ProblemKind::UnboundField { .. } => Scope::Field,
            _ => Scope::Line,
        }
    }
}

/// A raw value cut to a readable length, for quoting in a message.
pub(crate) fn quote(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        match &self.kind {
            ProblemKind::FieldCount { expected, found, assumed_default, value } => {
                write!(f, "expected {expected} fields, found {found}")?;
                if *assumed_default {
                    write!(f, " (no header line, so the default format was assumed; name the format with --fields)")?;
                }
                write!(f, ": {value:?}")
            }
            ProblemKind::InvalidNumber { column, value } => {
                write!(f, "column {column}: {value:?} is not a valid number")
            }
            ProblemKind::NotUtf8 { column: Some(column), value } => {
                write!(f, "column {column}: {value:?} is not valid UTF-8")
            }
            ProblemKind::NotUtf8 { column: None, value } => write!(f, "{value:?} is not valid UTF-8"),
            ProblemKind::LineTooLong { limit } => {
                write!(f, "line longer than {limit} bytes, skipped")
            }
            ProblemKind::DuplicateField { name } => {
                write!(f, "header names field {name:?} twice; only the first is loaded")
            }
            ProblemKind::UnboundField { name } => write!(
                f,
                "header names field {name:?}, which is not a column of this scan (fields are looked for in the \
                 first header of each flow log's first object, and `line`/`source` are reserved); its values \
                 are not loaded"
            ),
            ProblemKind::CutShort { value } => {
                write!(f, "line cut short by the damage, not loaded: {value:?}")
            }
            ProblemKind::Damaged { reason } => {
                write!(f, "damaged object, records before the damage were kept: {reason}")
            }
            ProblemKind::Unreadable { reason } => write!(f, "could not be read: {reason}"),
            ProblemKind::Unsupported { what } => write!(f, "not read: {what}"),
        }
    }
}
