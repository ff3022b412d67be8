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

/// The dotted key path (`dns.tcp.max_connections`, `zones[0].file`) of the innermost entry
/// whose value covers `offset`, for naming the field of a wrong-typed value.
pub(crate) fn value_path(text: &str, offset: usize) -> Option<String> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    path_in(document.as_table(), offset, "")
}

fn path_in(table: &toml_edit::Table, offset: usize, prefix: &str) -> Option<String> {
    for (name, item) in table.iter() {
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match item {
            toml_edit::Item::Table(inner) => {
                if let Some(found) = path_in(inner, offset, &path) {
                    return Some(found);
                }
            }
            toml_edit::Item::ArrayOfTables(array) => {
                for (index, inner) in array.iter().enumerate() {
                    if let Some(found) = path_in(inner, offset, &format!("{path}[{index}]")) {
                        return Some(found);
                    }
                }
            }
            toml_edit::Item::Value(value) => {
                let covers = value.span().is_some_and(|span| {
                    span.start <= offset && offset < span.end.max(span.start + 1)
                });
                if covers {
                    return Some(match value {
                        toml_edit::Value::InlineTable(inner) => {
                            inline_path(inner, offset, &path).unwrap_or(path)
                        }
                        _ => path,
                    });
                }
            }
            toml_edit::Item::None => {}
        }
    }
    None
}

fn inline_path(table: &toml_edit::InlineTable, offset: usize, prefix: &str) -> Option<String> {
    table.iter().find_map(|(name, value)| {
        let span = value.span()?;
        (span.start <= offset && offset < span.end.max(span.start + 1)).then(|| {
            let path = format!("{prefix}.{name}");
            match value {
                toml_edit::Value::InlineTable(inner) => {
                    inline_path(inner, offset, &path).unwrap_or(path)
                }
                _ => path,
            }
        })
    })
}

/// A value of the type a serde "expected ..." message asks for, to stand in for a
/// wrong-typed one so parsing can go on; `None` when the message names no simple type.
pub(crate) fn placeholder_for(message: &str) -> Option<String> {
    let expected = message.rsplit_once("expected ")?.1.trim();
    let integer = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
    ];
    let placeholder = if integer.contains(&expected) || expected.starts_with("an integer") {
        "0".to_string()
    } else if expected == "f64" || expected == "f32" || expected.starts_with("a float") {
        "0.0".to_string()
    } else if expected.starts_with("a string") {
        "\"\"".to_string()
    } else if expected.starts_with("a boolean") {
        "true".to_string()
    } else if expected.starts_with("a sequence") {
        "[]".to_string()
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        "{}".to_string()
    } else if message.starts_with("unknown variant") {
        // "unknown variant `xml`, expected `text` or `json`"
        let first = expected.strip_prefix("one of ").unwrap_or(expected);
        let variant = first.split('`').nth(1)?;
        format!("\"{variant}\"")
    } else {
        return None;
    };
    Some(placeholder)
}

/// Puts `placeholder` in place of the value at `range`, followed by as many newlines as the
/// value spanned, so every later line number stays true (byte offsets after it move: read
/// lines from the text as changed).
pub(crate) fn substitute(text: &mut String, range: Range<usize>, placeholder: &str) -> bool {
    let Some(original) = text.get(range.clone()) else {
        return false;
    };
    let newlines = original.matches('\n').count();
    let replacement = format!("{placeholder}{}", "\n".repeat(newlines));
    text.replace_range(range, &replacement);
    true
}
