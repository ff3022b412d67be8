//! The master-file lexer: text in, one `Entry` per logical line out (RFC 1035 §5.1).
//!
//! It owns everything below the record grammar: comments, quoting, backslash escapes (kept
//! raw, so names and strings decode them later with their own rules), parentheses that join
//! physical lines, CRLF line endings, and whether a line starts with blank space (which means
//! "same owner as before"). It never fails as a whole: a broken logical line is reported once
//! and dropped, so the parser can go on and report the rest of the file too.

/// One token of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The token text as written, escapes undecoded, without the surrounding quotes.
    pub(crate) text: &'a str,
    /// True when the token was written in double quotes (so it is never a name, TTL or type).
    pub(crate) quoted: bool,
    /// The 1-based physical line the token starts on.
    pub(crate) line: usize,
}

/// One logical line: a record or a directive, possibly spanning lines inside parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    /// The 1-based line of the first token.
    pub(crate) line: usize,
    /// True when the line began with a space or tab: the owner is inherited.
    pub(crate) starts_with_blank: bool,
    /// The tokens, at least one.
    pub(crate) tokens: Vec<Token<'a>>,
}

/// A problem the lexer found, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    /// The 1-based line.
    pub(crate) line: usize,
    /// Lowercase, naming what is wrong.
    pub(crate) message: String,
}

/// Splits `text` into logical lines; broken lines are left out and described in the errors.
pub(crate) fn lex(text: &str) -> (Vec<Entry<'_>>, Vec<LexError>) {
    let mut lexer = Lexer::new(text);
    let entries = std::iter::from_fn(|| lexer.next_entry()).collect();
    (entries, lexer.errors)
}

/// Reads logical lines one at a time (`next_entry`), so a big file is never held as a list
/// of entries; the problems gather in `errors`.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    /// The entry `entry` finished last, taken by `next_entry`.
    entry: Option<Entry<'a>>,
    /// Every broken line so far.
    pub(crate) errors: Vec<LexError>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            entry: None,
            errors: Vec::new(),
        }
    }

    /// The next good logical line, or `None` at the end of the text.
    pub(crate) fn next_entry(&mut self) -> Option<Entry<'a>> {
        while self.pos < self.bytes.len() {
            self.entry();
            if let Some(entry) = self.entry.take() {
                return Some(entry);
            }
        }
        None
    }

    /// Reads one logical line, starting at the beginning of a physical line.
    fn entry(&mut self) {
        let starts_with_blank = matches!(self.bytes.get(self.pos), Some(b' ' | b'\t'));
        let mut tokens = Vec::new();
        let mut broken = false;
        // The line of the open parenthesis, while inside one.
        let mut open_paren: Option<usize> = None;
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    if open_paren.is_none() {
                        break;
                    }
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b';' => self.skip_comment(),
                b'(' => {
                    if let Some(first) = open_paren {
                        self.error(format!(
                            "nested parenthesis (the one on line {first} is still open)"
                        ));
                        broken = true;
                    } else {
                        open_paren = Some(self.line);
                    }
                    self.pos += 1;
                }
                b')' => {
                    if open_paren.take().is_none() {
                        self.error("closing parenthesis without an opening one".to_string());
                        broken = true;
                    }
                    self.pos += 1;
                }
                b'"' => match self.quoted() {
                    Some(token) => tokens.push(token),
                    None => broken = true,
                },
                _ => match self.word() {
                    Some(token) => tokens.push(token),
                    None => broken = true,
                },
            }
        }
        if let Some(first) = open_paren {
            self.errors.push(LexError {
                line: first,
                message: "unterminated parenthesis (no closing \")\" before the end of the file)"
                    .to_string(),
            });
            broken = true;
        }
        if !broken && !tokens.is_empty() {
            self.entry = Some(Entry {
                line: tokens[0].line,
                starts_with_blank,
                tokens,
            });
        }
    }

    fn skip_comment(&mut self) {
        while let Some(&byte) = self.bytes.get(self.pos) {
            if byte == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// An unquoted word, up to blank space, a comment, a parenthesis or a quote.
    fn word(&mut self) -> Option<Token<'a>> {
        let start = self.pos;
        let line = self.line;
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                b'\\' => {
                    if !self.escape() {
                        self.skip_word();
                        return None;
                    }
                }
                _ => self.pos += 1,
            }
        }
        Some(Token {
            text: &self.text[start..self.pos],
            quoted: false,
            line,
        })
    }

    /// A double-quoted string on one line; `\"` and `\\` do not end it.
    fn quoted(&mut self) -> Option<Token<'a>> {
        let line = self.line;
        self.pos += 1;
        let start = self.pos;
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b'"' => {
                    let text = &self.text[start..self.pos];
                    self.pos += 1;
                    return Some(Token {
                        text,
                        quoted: true,
                        line,
                    });
                }
                b'\n' => break,
                b'\\' => {
                    if !self.escape() {
                        self.skip_to_line_end();
                        return None;
                    }
                }
                _ => self.pos += 1,
            }
        }
        self.errors.push(LexError {
            line,
            message: format!(
                "unterminated quoted string \"{}",
                self.text[start..self.pos].trim_end_matches('\r')
            ),
        });
        None
    }

    /// Steps over a backslash and the character it escapes; false (and reported) when the
    /// backslash ends the line or the file.
    fn escape(&mut self) -> bool {
        match self.bytes.get(self.pos + 1) {
            None | Some(b'\n' | b'\r') => {
                self.error("backslash at the end of a line".to_string());
                self.pos += 1;
                false
            }
            Some(_) => {
                self.pos += 2;
                // Keep `pos` on a character boundary when the escaped character is not ASCII.
                while !self.text.is_char_boundary(self.pos) {
                    self.pos += 1;
                }
                true
            }
        }
    }

    fn skip_word(&mut self) {
        while let Some(&byte) = self.bytes.get(self.pos) {
            if matches!(
                byte,
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"'
            ) {
                break;
            }
            self.pos += 1;
        }
    }

    fn skip_to_line_end(&mut self) {
        while let Some(&byte) = self.bytes.get(self.pos) {
            if byte == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    fn error(&mut self, message: String) {
        self.errors.push(LexError {
            line: self.line,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lexes `text` and renders each entry as `line[+]: tok tok "quoted"`, errors as `line! msg`.
    fn check(text: &str, expected: &[&str]) {
        let (entries, errors) = lex(text);
        let mut got: Vec<String> = entries
            .iter()
            .map(|entry| {
                let tokens: Vec<String> = entry
                    .tokens
                    .iter()
                    .map(|t| {
                        if t.quoted {
                            format!("\"{}\"@{}", t.text, t.line)
                        } else {
                            format!("{}@{}", t.text, t.line)
                        }
                    })
                    .collect();
                let blank = if entry.starts_with_blank { "+" } else { "" };
                format!("{}{blank}: {}", entry.line, tokens.join(" "))
            })
            .collect();
        got.extend(errors.iter().map(|e| format!("{}! {}", e.line, e.message)));
        assert_eq!(got, expected, "lexing {text:?}");
    }

    #[test]
    fn words_comments_and_blank_lines() {
        check(
            "a 1 IN A 1.2.3.4 ; c\n\n; only\n  b\n",
            &["1: a@1 1@1 IN@1 A@1 1.2.3.4@1", "4+: b@4"],
        );
    }

    #[test]
    fn crlf_and_no_final_newline() {
        check(
            "a A 1\r\n\tb\r\nc",
            &["1: a@1 A@1 1@1", "2+: b@2", "3: c@3"],
        );
    }

    #[test]
    fn parentheses_join_lines() {
        check(
            "@ SOA a b (\n 1 ; serial\n 2 )\nx A 1",
            &["1: @@1 SOA@1 a@1 b@1 1@2 2@3", "4: x@4 A@4 1@4"],
        );
        check("a (b)c", &["1: a@1 b@1 c@1"]);
    }

    #[test]
    fn quotes_and_escapes() {
        check(
            r#"a TXT "x \"y\" ; (z)" w\;v \( "" "#,
            &[r#"1: a@1 TXT@1 "x \"y\" ; (z)"@1 w\;v@1 \(@1 ""@1"#],
        );
        check("a\\ b c", &["1: a\\ b@1 c@1"]);
    }

    #[test]
    fn broken_lines_are_reported_and_dropped() {
        check(
            "a \"open\nb ok\n",
            &["2: b@2 ok@2", "1! unterminated quoted string \"open"],
        );
        check(
            "a ( b\nc\n",
            &["1! unterminated parenthesis (no closing \")\" before the end of the file)"],
        );
        check(
            "a ) b\nc\n",
            &["2: c@2", "1! closing parenthesis without an opening one"],
        );
        check(
            "a ( ( b ) )\nc",
            &[
                "2: c@2",
                "1! nested parenthesis (the one on line 1 is still open)",
                "1! closing parenthesis without an opening one",
            ],
        );
        check("a b\\\nc", &["2: c@2", "1! backslash at the end of a line"]);
        check("a \"b\\", &["1! backslash at the end of a line"]);
    }

    #[test]
    fn non_ascii_escapes_keep_char_boundaries() {
        check("é\\é x", &["1: é\\é@1 x@1"]);
    }
}
