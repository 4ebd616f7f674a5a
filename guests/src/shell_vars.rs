//! Reading the `VAR=value` lines of a shell file the way `sh` would when sourcing it:
//! single quotes are literal, double quotes allow `\"`, `\\`, `\$` and `$VAR`
//! expansion, unquoted text allows backslash escapes and `$VAR`, `#` starts a
//! comment, and `export VAR=value` is the same as `VAR=value`. Anything else a
//! shell could run (commands, conditionals) is not executed: such lines are reported.

use std::collections::HashMap;

/// A line that is neither an assignment, a comment nor blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    pub line: usize,
    pub text: String,
}

/// Applies the assignments of `text` on top of `vars` (earlier values are visible to
/// `$VAR` expansion, later assignments win) and returns the lines it could not use.
pub fn apply_assignments(text: &str, vars: &mut HashMap<String, String>) -> Vec<SkippedLine> {
    let mut skipped = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        match parse_assignment(line, vars) {
            Some((name, value)) => {
                vars.insert(name, value);
            }
            None => skipped.push(SkippedLine {
                line: index + 1,
                text: raw.to_string(),
            }),
        }
    }
    skipped
}

fn parse_assignment(line: &str, vars: &HashMap<String, String>) -> Option<(String, String)> {
    let (name, rest) = line.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let (value, tail) = parse_word(rest, vars)?;
    let tail = tail.trim_start();
    if tail.is_empty() || tail.starts_with('#') {
        Some((name.to_string(), value))
    } else {
        None
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One shell word from the start of `text`: its value and the unparsed rest. `None`
/// when a quote is not closed.
fn parse_word<'a>(text: &'a str, vars: &HashMap<String, String>) -> Option<(String, &'a str)> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => return Some((value, &text[i..])),
            '\'' => {
                chars.next();
                loop {
                    let (_, c) = chars.next()?;
                    if c == '\'' {
                        break;
                    }
                    value.push(c);
                }
            }
            '"' => {
                chars.next();
                loop {
                    let (_, c) = chars.next()?;
                    match c {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&(_, next @ ('"' | '\\' | '$' | '`'))) => {
                                value.push(next);
                                chars.next();
                            }
                            _ => value.push('\\'),
                        },
                        '$' => expand(&mut chars, text, vars, &mut value),
                        c => value.push(c),
                    }
                }
            }
            '\\' => {
                chars.next();
                if let Some((_, next)) = chars.next() {
                    value.push(next);
                }
            }
            '$' => {
                chars.next();
                expand(&mut chars, text, vars, &mut value);
            }
            c => {
                chars.next();
                value.push(c);
            }
        }
    }
    Some((value, ""))
}

/// Expands `$NAME` or `${NAME}` after a `$` was consumed; a lone `$` stays literal.
fn expand(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    text: &str,
    vars: &HashMap<String, String>,
    value: &mut String,
) {
    let braced = matches!(chars.peek(), Some(&(_, '{')));
    if braced {
        chars.next();
    }
    let start = match chars.peek() {
        Some(&(i, _)) => i,
        None => text.len(),
    };
    let mut end = start;
    while let Some(&(i, c)) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            end = i + c.len_utf8();
            chars.next();
        } else {
            break;
        }
    }
    if braced {
        if let Some(&(_, '}')) = chars.peek() {
            chars.next();
        }
    }
    let name = &text[start..end];
    if name.is_empty() && !braced {
        value.push('$');
        return;
    }
    if let Some(v) = vars.get(name) {
        value.push_str(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (HashMap<String, String>, Vec<SkippedLine>) {
        let mut vars = HashMap::new();
        let skipped = apply_assignments(text, &mut vars);
        (vars, skipped)
    }

    #[test]
    fn quotes_comments_and_export() {
        let (vars, skipped) = parse(
            "# comment\n\
             URIS=\"default qemu:///system\"  # two\n\
             export ON_BOOT='start'\n\
             \x20 SHUTDOWN_TIMEOUT=120\n\
             A=a\\ b\n",
        );
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(vars["URIS"], "default qemu:///system");
        assert_eq!(vars["ON_BOOT"], "start");
        assert_eq!(vars["SHUTDOWN_TIMEOUT"], "120");
        assert_eq!(vars["A"], "a b");
    }

    #[test]
    fn variables_expand_and_later_lines_win() {
        let (vars, _) = parse("X=1\nX=2\nY=\"$X-${X}\"\nZ='$X'\n");
        assert_eq!(vars["X"], "2");
        assert_eq!(vars["Y"], "2-2");
        assert_eq!(vars["Z"], "$X");
    }

    #[test]
    fn commands_and_unclosed_quotes_are_reported() {
        let (vars, skipped) = parse("echo hi\nA=\"open\nB=1 cmd\nC=3\n");
        assert_eq!(vars.get("C").map(String::as_str), Some("3"));
        assert!(!vars.contains_key("B"));
        let lines: Vec<usize> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![1, 2, 3]);
    }
}
