//! Finding and blanking one TOML entry by byte offset, so parsing can go on past a bad key
//! while every later line number stays true.

use std::ops::Range;

/// The byte range of the key/value entry (or whole table) whose key covers `offset`.
pub(crate) fn entry_range(text: &str, offset: usize) -> Option<Range<usize>> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    find_entry(document.as_table(), text, offset)
}

fn find_entry(table: &toml_edit::Table, text: &str, offset: usize) -> Option<Range<usize>> {
    for (name, item) in table.iter() {
        let key_span = table.key(name).and_then(|key| key.span());
        let covers = key_span
            .as_ref()
            .is_some_and(|span| span.start <= offset && offset < span.end.max(span.start + 1));
        match item {
            toml_edit::Item::Table(inner) => {
                if covers {
                    // A whole unknown table: its header line through its last entry.
                    let header = inner.span().or(key_span)?;
                    let start = text[..header.start].rfind('\n').map_or(0, |at| at + 1);
                    return Some(start..table_end(inner).max(header.end));
                }
                if let Some(range) = find_entry(inner, text, offset) {
                    return Some(range);
                }
            }
            toml_edit::Item::ArrayOfTables(array) => {
                for inner in array.iter() {
                    if let Some(range) = find_entry(inner, text, offset) {
                        return Some(range);
                    }
                }
            }
            toml_edit::Item::Value(value) if covers => {
                let key_span = key_span?;
                return Some(key_span.start..value.span()?.end);
            }
            _ => {}
        }
    }
    None
}

/// Where the last entry of `table` (or of its sub-tables) ends.
fn table_end(table: &toml_edit::Table) -> usize {
    table
        .iter()
        .filter_map(|(_, item)| match item {
            toml_edit::Item::Table(inner) => Some(table_end(inner)),
            item => item.span().map(|span| span.end),
        })
        .max()
        .unwrap_or(0)
}

/// Replaces `range` of `text` by spaces, keeping newlines.
pub(crate) fn blank(text: &mut String, range: Range<usize>) {
    let blanked: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Multi-byte characters become one space each: pad to keep later offsets.
    let padded = format!("{blanked:<width$}", width = range.len());
    text.replace_range(range, &padded);
}
