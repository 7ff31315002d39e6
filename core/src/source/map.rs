//! Byte spans → line/column.

use crate::diag::Span;

/// Column encoding requested by a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionEncoding {
    Utf8Bytes,
    Utf8Chars,
    Utf16,
}

/// 1-based line/column of a span's start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

/// The texts given to the core, by file index.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<(String, String)>,
}

impl SourceMap {
    pub fn new(files: Vec<(String, String)>) -> Self {
        SourceMap { files }
    }
    pub fn name(&self, file: u32) -> &str {
        self.files.get(file as usize).map(|f| f.0.as_str()).unwrap_or("<unknown>")
    }
    pub fn position(&self, _span: Span, _enc: PositionEncoding) -> Option<Position> {
        None
    }
    pub fn line_text(&self, _file: u32, _line: usize) -> Option<&str> {
        None
    }
}
