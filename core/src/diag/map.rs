//! Byte spans → line/column.
//!
//! [`SourceMap`] holds the texts given to the core and, for each, the byte
//! offsets where its lines start (computed once, at construction, in one pass).
//! A line ends at `\n`, `\r\n` or a lone `\r`, as in editors and LSP. Columns
//! are 1-based and counted in the encoding a host asks for: UTF-8 bytes,
//! Unicode scalar values (chars) or UTF-16 code units (Monaco, VS Code).

use super::Span;

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

#[derive(Debug, Clone, Default)]
struct SourceFile {
    name: String,
    text: String,
    /// Byte offset of the start of every line; the first is 0. Found when
    /// first needed (most translations place no diagnostic).
    line_starts: std::sync::OnceLock<Vec<u32>>,
}

/// The texts given to the core, by file index.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

fn line_starts(text: &str) -> Vec<u32> {
    let b = text.as_bytes();
    let mut starts = vec![0u32];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => starts.push((i + 1) as u32),
            b'\r' if b.get(i + 1) != Some(&b'\n') => starts.push((i + 1) as u32),
            _ => {}
        }
        i += 1;
    }
    starts
}

impl SourceMap {
    pub fn new(files: Vec<(String, String)>) -> Self {
        let files = files
            .into_iter()
            .map(|(name, text)| SourceFile {
                name,
                text,
                line_starts: std::sync::OnceLock::new(),
            })
            .collect();
        SourceMap { files }
    }

    pub fn name(&self, file: u32) -> &str {
        self.files
            .get(file as usize)
            .map(|f| f.name.as_str())
            .unwrap_or("<unknown>")
    }

    /// The text of a file (empty for an unknown index).
    pub fn text(&self, file: u32) -> &str {
        self.files
            .get(file as usize)
            .map(|f| f.text.as_str())
            .unwrap_or("")
    }

    /// How many files the map holds.
    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Line/column of a span's start and (exclusive) end. `None` when the file
    /// is unknown or the span lies outside its text; offsets inside a UTF-8
    /// sequence are moved back to the start of their character.
    pub fn position(&self, span: Span, enc: PositionEncoding) -> Option<Position> {
        let f = self.files.get(span.file as usize)?;
        let (start, end) = (span.start as usize, span.end as usize);
        if start > f.text.len() || end > f.text.len() {
            return None;
        }
        let end = end.max(start);
        let (line, col) = f.line_col(start, enc);
        let (end_line, end_col) = f.line_col(end, enc);
        Some(Position {
            line,
            col,
            end_line,
            end_col,
        })
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, file: u32, line: usize) -> Option<&str> {
        let f = self.files.get(file as usize)?;
        let i = line.checked_sub(1)?;
        let start = *f.line_starts().get(i)? as usize;
        let end = f
            .line_starts()
            .get(i + 1)
            .map_or(f.text.len(), |&e| e as usize);
        Some(f.text.get(start..end)?.trim_end_matches(['\n', '\r']))
    }
}

impl SourceFile {
    fn line_starts(&self) -> &[u32] {
        self.line_starts.get_or_init(|| line_starts(&self.text))
    }

    fn line_col(&self, offset: usize, enc: PositionEncoding) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let idx = self
            .line_starts()
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1);
        let start = self
            .line_starts()
            .get(idx)
            .map_or(0, |&s| s as usize)
            .min(offset);
        let before = &self.text[start..offset];
        let units = match enc {
            PositionEncoding::Utf8Bytes => before.len(),
            PositionEncoding::Utf8Chars => before.chars().count(),
            PositionEncoding::Utf16 => before.chars().map(char::len_utf16).sum(),
        };
        (idx + 1, units + 1)
    }
}
