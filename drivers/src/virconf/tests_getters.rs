//! Typed getter tests: libvirt's type rules and messages, plus the line we add.

use std::path::Path;

use super::{ConfError, ConfFile, ValueProblem};

const SAMPLE: &str = "\
zero = 0
one = 1
two = 2
minus_zero = -0
minus_one = -1
big = 4294967296
uint_max = 4294967295
int_min = -2147483648
below_int = -2147483649
above_int = 2147483648
text = \"hello\"
strings = [ \"a\", \"b\" ]
empty = []
mixed = [ \"a\", 1 ]
";

fn sample() -> ConfFile {
    ConfFile::parse(SAMPLE, "s.conf").expect("sample parses")
}

fn message<T: std::fmt::Debug>(result: Result<T, ConfError>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn absent_keys_are_none_for_every_getter() {
    let conf = sample();
    assert_eq!(conf.get_bool("nope"), Ok(None));
    assert_eq!(conf.get_uint("nope"), Ok(None));
    assert_eq!(conf.get_int("nope"), Ok(None));
    assert_eq!(conf.get_ullong("nope"), Ok(None));
    assert_eq!(conf.get_llong("nope"), Ok(None));
    assert_eq!(conf.get_string("nope"), Ok(None));
    assert_eq!(conf.get_string_list("nope"), Ok(None));
    assert_eq!(conf.get_string_or_list("nope"), Ok(None));
}

#[test]
fn bools_are_unsigned_zero_or_one() {
    let conf = sample();
    assert_eq!(conf.get_bool("zero"), Ok(Some(false)));
    assert_eq!(conf.get_bool("one"), Ok(Some(true)));
    assert_eq!(
        message(conf.get_bool("two")),
        "s.conf:3: value for 'two' parameter must be 0 or 1"
    );
    assert_eq!(
        message(conf.get_bool("minus_zero")),
        "s.conf:4: expected a bool for 'minus_zero' parameter"
    );
    assert_eq!(
        message(conf.get_bool("text")),
        "s.conf:11: expected a bool for 'text' parameter"
    );
}

#[test]
fn unsigned_ints_refuse_signs_and_values_above_32_bits() {
    let conf = sample();
    assert_eq!(conf.get_uint("uint_max"), Ok(Some(u32::MAX)));
    assert_eq!(
        message(conf.get_uint("big")),
        "s.conf:6: value for 'big' parameter must be in range 0:4294967295"
    );
    assert_eq!(
        message(conf.get_uint("minus_zero")),
        "s.conf:4: expected an unsigned integer for 'minus_zero' parameter"
    );
    assert_eq!(
        message(conf.get_uint("strings")),
        "s.conf:12: expected an unsigned integer for 'strings' parameter"
    );
    assert_eq!(conf.get_ullong("big"), Ok(Some(4_294_967_296)));
    assert!(conf.get_ullong("minus_one").is_err());
}

#[test]
fn signed_ints_take_either_sign_within_32_bits() {
    let conf = sample();
    assert_eq!(conf.get_int("minus_one"), Ok(Some(-1)));
    assert_eq!(conf.get_int("two"), Ok(Some(2)));
    assert_eq!(conf.get_int("int_min"), Ok(Some(i32::MIN)));
    assert_eq!(
        message(conf.get_int("below_int")),
        "s.conf:9: value for 'below_int' parameter must be in range -2147483648:2147483647"
    );
    assert_eq!(
        message(conf.get_int("above_int")),
        "s.conf:10: value for 'above_int' parameter must be in range -2147483648:2147483647"
    );
    assert_eq!(
        message(conf.get_int("text")),
        "s.conf:11: expected a signed integer for 'text' parameter"
    );
    assert_eq!(conf.get_llong("big"), Ok(Some(4_294_967_296)));
}

#[test]
fn strings_and_string_lists() {
    let conf = sample();
    assert_eq!(conf.get_string("text"), Ok(Some("hello")));
    assert_eq!(
        message(conf.get_string("one")),
        "s.conf:2: expected a string for 'one' parameter"
    );
    assert_eq!(
        conf.get_string_list("strings"),
        Ok(Some(vec!["a".to_string(), "b".to_string()]))
    );
    assert_eq!(conf.get_string_list("empty"), Ok(Some(vec![])));
    assert_eq!(
        message(conf.get_string_list("mixed")),
        "s.conf:14: expected a string list for 'mixed' parameter"
    );
    assert_eq!(
        message(conf.get_string_list("text")),
        "s.conf:11: expected a string list for 'text' parameter"
    );
}

#[test]
fn string_or_list_accepts_a_lone_string() {
    let conf = sample();
    assert_eq!(
        conf.get_string_or_list("text"),
        Ok(Some(vec!["hello".to_string()]))
    );
    assert_eq!(
        conf.get_string_or_list("strings"),
        Ok(Some(vec!["a".to_string(), "b".to_string()]))
    );
    assert_eq!(
        message(conf.get_string_or_list("one")),
        "s.conf:2: expected a string or string list for 'one' parameter"
    );
    assert_eq!(
        message(conf.get_string_or_list("mixed")),
        "s.conf:14: expected a string list for 'mixed' parameter"
    );
}

#[test]
fn value_errors_carry_key_line_and_problem() {
    let conf = sample();
    match conf.get_bool("two") {
        Err(ConfError::Value {
            file,
            line,
            key,
            problem,
        }) => {
            assert_eq!((file.as_str(), line, key.as_str()), ("s.conf", 3, "two"));
            assert_eq!(problem, ValueProblem::BoolNotZeroOrOne);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn getters_use_the_first_duplicate() {
    let conf = ConfFile::parse("flag = 1\nflag = \"no\"\n", "d.conf").expect("parses");
    assert_eq!(conf.get_bool("flag"), Ok(Some(true)));
}

#[test]
fn reading_a_missing_file_names_it_like_libvirt() {
    let err = ConfFile::read(Path::new("/nonexistent/dir/x.conf")).expect_err("missing file");
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "Failed to open file '/nonexistent/dir/x.conf': No such file or directory"
    );
}

#[test]
fn reading_a_directory_is_a_read_error() {
    let err = ConfFile::read(Path::new("/")).expect_err("directory");
    assert!(!err.is_not_found());
    assert_eq!(err.to_string(), "Failed to read file '/': Is a directory");
}

#[test]
fn reading_a_file_uses_its_path_in_later_errors() {
    let dir = std::env::temp_dir().join(format!("virconf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("r.conf");
    std::fs::write(&path, "# c\nflag = \"yes\"\n").expect("write");
    let conf = ConfFile::read(&path).expect("reads");
    let expected = format!("{}:2: expected a bool for 'flag' parameter", path.display());
    assert_eq!(message(conf.get_bool("flag")), expected);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
