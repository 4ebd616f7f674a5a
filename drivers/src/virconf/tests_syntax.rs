//! Syntax tests. Expected messages and lines are the ones libvirt 9.0's own reader
//! produces for the same text, except where the module documentation lists a
//! deliberate difference.

use super::{ConfError, ConfFile, Entry, SyntaxProblem, Value};

fn parse(text: &str) -> Vec<Entry> {
    match ConfFile::parse(text, "t.conf") {
        Ok(conf) => conf.entries().to_vec(),
        Err(err) => panic!("{text:?} should parse, got: {err}"),
    }
}

fn uint(value: i64) -> Value {
    Value::Int {
        value,
        signed: false,
    }
}

fn string(text: &str) -> Value {
    Value::String(text.to_string())
}

fn syntax_error(text: &str) -> (usize, SyntaxProblem, String) {
    match ConfFile::parse(text, "t.conf") {
        Ok(conf) => panic!("{text:?} should fail, parsed as {:?}", conf.entries()),
        Err(err @ ConfError::Syntax { line, problem, .. }) => (line, problem, err.to_string()),
        Err(other) => panic!("{text:?}: unexpected error kind {other:?}"),
    }
}

#[test]
fn assignment_of_each_value_kind_with_line_numbers() {
    let entries = parse("a = 1\nb = \"two\"\n\nc = 'three'\nd = -4\ne = +5\n");
    let expected = [
        ("a", uint(1), 1),
        ("b", string("two"), 2),
        ("c", string("three"), 4),
        (
            "d",
            Value::Int {
                value: -4,
                signed: true,
            },
            5,
        ),
        ("e", uint(5), 6),
    ];
    assert_eq!(entries.len(), expected.len());
    for (entry, (name, value, line)) in entries.iter().zip(expected) {
        assert_eq!(entry.name, name);
        assert_eq!(entry.value, value);
        assert_eq!(entry.line, line, "line of {name}");
    }
}

#[test]
fn minus_zero_is_signed_and_plus_is_not() {
    let entries = parse("a = -0\nb = +0\n");
    assert_eq!(
        entries[0].value,
        Value::Int {
            value: 0,
            signed: true
        }
    );
    assert_eq!(entries[1].value, uint(0));
}

#[test]
fn semicolons_separate_statements_on_one_line() {
    let entries = parse("a=1;b=2 ; c = 3;\nd=4;");
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert!(entries[..3].iter().all(|e| e.line == 1));
    assert_eq!(entries[3].line, 2);
}

#[test]
fn comments_whole_line_and_after_values() {
    let entries = parse("# header\n  # indented\na = \"x\" # trailing\nb = 2# tight\n#end");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].value, string("x"));
    assert_eq!(entries[1].value, uint(2));
    assert_eq!(entries[1].line, 4);
}

#[test]
fn hash_inside_a_string_is_not_a_comment() {
    assert_eq!(parse("a = \"x # y\"")[0].value, string("x # y"));
}

#[test]
fn strings_have_no_escapes() {
    let entries = parse(r#"a = "back\slash"; b = 'it"s'; c = "it's""#);
    assert_eq!(entries[0].value, string("back\\slash"));
    assert_eq!(entries[1].value, string("it\"s"));
    assert_eq!(entries[2].value, string("it's"));
}

#[test]
fn empty_strings() {
    let entries = parse("a = \"\"\nb = ''");
    assert_eq!(entries[0].value, string(""));
    assert_eq!(entries[1].value, string(""));
}

#[test]
fn triple_quoted_string_spans_lines_and_counts_them() {
    let entries = parse("a = \"\"\"one\ntwo 'x' \"y\"\nthree\"\"\"\nb = 1\n");
    assert_eq!(entries[0].value, string("one\ntwo 'x' \"y\"\nthree"));
    assert_eq!(entries[1].line, 4);
}

#[test]
fn triple_quoted_empty_string_at_end_of_text() {
    // libvirt needs seven bytes left to recognise `"""`; we always do.
    assert_eq!(parse("a = \"\"\"\"\"\"")[0].value, string(""));
}

#[test]
fn lists_multi_line_nested_empty_and_trailing_comma() {
    let entries = parse(
        "a = [ \"x\", 'y',\n      \"z\", ]\nb = []\nc = [1,[2,-3],\"s\"]\nd = [\n1\n,\n2\n]\ne = [ 7, ]\n",
    );
    assert_eq!(
        entries[0].value,
        Value::List(vec![string("x"), string("y"), string("z")])
    );
    assert_eq!(entries[1].value, Value::List(vec![]));
    assert_eq!(entries[1].line, 3);
    assert_eq!(
        entries[2].value,
        Value::List(vec![
            uint(1),
            Value::List(vec![
                uint(2),
                Value::Int {
                    value: -3,
                    signed: true
                }
            ]),
            string("s"),
        ])
    );
    assert_eq!(entries[3].value, Value::List(vec![uint(1), uint(2)]));
    assert_eq!(entries[4].line, 10);
    assert_eq!(entries[4].value, Value::List(vec![uint(7)]));
}

#[test]
fn comments_inside_lists_are_accepted() {
    let entries = parse("a = [ # first\n  \"x\", # why\n  # alone\n  \"y\"\n]\nb = 1");
    assert_eq!(
        entries[0].value,
        Value::List(vec![string("x"), string("y")])
    );
    assert_eq!(entries[1].line, 6);
}

#[test]
fn carriage_returns_end_lines_without_counting() {
    let entries = parse("a=1\r\nb=2\rc=3\n\nd=4");
    let lines: Vec<_> = entries.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 2, 2, 4]);
}

#[test]
fn leading_blanks_and_blank_lines_around_entries() {
    let entries = parse("\n\n  \t a = 1\n \n\t\n");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].line, 3);
}

#[test]
fn empty_and_whitespace_only_texts_have_no_entries() {
    assert!(parse("").is_empty());
    assert!(parse("\n").is_empty());
    assert!(parse("  \n\t\n").is_empty());
    assert!(parse("# only a comment").is_empty());
}

#[test]
fn names_allow_letters_digits_and_underscores_only() {
    assert_eq!(parse("Ab_9 = 1")[0].name, "Ab_9");
    for (text, line, problem) in [
        ("a.b = 1", 1, SyntaxProblem::ExpectingAssignment),
        ("a-b = 1", 1, SyntaxProblem::ExpectingAssignment),
        ("1a = 1", 1, SyntaxProblem::ExpectingName),
        ("_a = 1", 1, SyntaxProblem::ExpectingName),
        ("\n= 1", 2, SyntaxProblem::ExpectingName),
    ] {
        let (got_line, got_problem, _) = syntax_error(text);
        assert_eq!((got_line, got_problem), (line, problem), "{text:?}");
    }
}

#[test]
fn duplicates_are_all_kept_in_order_and_first_wins() {
    let conf = ConfFile::parse("a = 1\nb = 2\na = 3\n", "t.conf").expect("parses");
    assert_eq!(conf.entries().len(), 3);
    let first = conf.get("a").expect("a present");
    assert_eq!((first.value.clone(), first.line), (uint(1), 1));
    assert!(conf.get("missing").is_none());
}

#[test]
fn big_numbers_fit_exactly_in_64_bits() {
    let entries = parse("a = 9223372036854775807\nb = -9223372036854775808");
    assert_eq!(entries[0].value, uint(i64::MAX));
    assert_eq!(
        entries[1].value,
        Value::Int {
            value: i64::MIN,
            signed: true
        }
    );
}

/// Every syntax error, with the exact message and line libvirt reports.
#[test]
fn malformed_texts_report_libvirts_message_and_line() {
    let cases: &[(&str, &str)] = &[
        ("a", "t.conf:1: expecting an assignment"),
        ("a 1", "t.conf:1: expecting an assignment"),
        ("a =", "t.conf:1: expecting a value"),
        ("a = x", "t.conf:1: expecting a value"),
        ("a =\n1", "t.conf:1: expecting a value"),
        ("a = 1 b = 2", "t.conf:1: expecting a separator"),
        ("a = \"x\"y", "t.conf:1: expecting a separator"),
        ("a = 1;;b = 2", "t.conf:1: expecting a name"),
        ("x = 1\n\n a = \"open", "t.conf:3: unterminated string"),
        ("a = 'open\n'", "t.conf:1: unterminated string"),
        ("a = \"two\nlines\"", "t.conf:1: unterminated string"),
        (
            "a = 1\nb = \"\"\"never\nclosed\n",
            "t.conf:3: unterminated string",
        ),
        ("a = -", "t.conf:1: unterminated number"),
        ("a = +x", "t.conf:1: unterminated number"),
        ("a = [1 2]", "t.conf:1: expecting a separator in list"),
        ("a = [,]", "t.conf:1: expecting a value"),
        ("a = [1,\n2,\n", "t.conf:3: expecting a value"),
        ("a = [1,\n2", "t.conf:2: list is not closed with ]"),
        ("a = [\n", "t.conf:2: list is not closed with ]"),
        ("a = 99999999999999999999", "t.conf:1: number out of range"),
        ("a = 9223372036854775808", "t.conf:1: number out of range"),
        ("a = -9223372036854775809", "t.conf:1: number out of range"),
    ];
    for (text, expected) in cases {
        let (_, _, message) = syntax_error(text);
        assert_eq!(
            message,
            format!("configuration file syntax error: {expected}"),
            "{text:?}"
        );
    }
}
