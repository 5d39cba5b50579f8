//! Unit tests of the `template` module.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> TemplateVars {
    pairs.iter().copied().collect()
}

fn ok(template: &str, pairs: &[(&str, &str)]) -> String {
    match render(template, &vars(pairs), false) {
        Ok(text) => text,
        Err(err) => panic!("rendering {template:?} failed: {err}"),
    }
}

fn silenced(template: &str, pairs: &[(&str, &str)]) -> String {
    match render(template, &vars(pairs), true) {
        Ok(text) => text,
        Err(err) => panic!("rendering {template:?} (silenced) failed: {err}"),
    }
}

fn err(template: &str, pairs: &[(&str, &str)]) -> Error {
    match render(template, &vars(pairs), false) {
        Ok(text) => panic!("rendering {template:?} gave {text:?}, expected an error"),
        Err(err) => err,
    }
}

fn file_err(text: &str) -> String {
    match parse_var_file(text, "my.env") {
        Ok(pairs) => panic!("parsing {text:?} gave {pairs:?}, expected an error"),
        Err(err) => err.to_string(),
    }
}

fn file_ok(text: &str) -> Vec<(String, String)> {
    match parse_var_file(text, "my.env") {
        Ok(pairs) => pairs,
        Err(err) => panic!("parsing {text:?} failed: {err}"),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn plain_names() {
    assert_eq!(ok("id: $id.", &[("id", "x-1")]), "id: x-1.");
    assert_eq!(ok("$A$b", &[("A", "1"), ("b", "2")]), "12");
    assert_eq!(ok("$_x9", &[("_x9", "v")]), "v");
    assert_eq!(ok("$a-b", &[("a", "1")]), "1-b");
    assert_eq!(ok("$a?b", &[("a", "1")]), "1?b");
}

#[test]
fn names_are_case_sensitive() {
    assert!(matches!(
        err("$Name", &[("name", "v")]),
        Error::TemplateVariable { name, line: 1 } if name == "Name"
    ));
}

#[test]
fn braced_names() {
    assert_eq!(ok("${a}${b}", &[("a", "x"), ("b", "y")]), "xy");
    assert_eq!(ok("pre${a}post", &[("a", "-")]), "pre-post");
}

#[test]
fn unbraced_name_is_the_longest_run() {
    let both = [("a", "A"), ("a_b", "AB")];
    assert_eq!(ok("$a_b", &both), "AB");
    assert_eq!(ok("${a}_b", &both), "A_b");
    assert!(matches!(
        err("$a_b", &[("a", "A")]),
        Error::TemplateVariable { name, .. } if name == "a_b"
    ));
}

#[test]
fn defaults() {
    assert_eq!(ok("${n?5}", &[]), "5");
    assert_eq!(ok("${n?5}", &[("n", "7")]), "7");
    assert_eq!(ok("[${n?}]", &[]), "[]");
    assert_eq!(ok("${n?}", &[("n", "")]), "");
    assert_eq!(ok("${u?https://h:1/p?q=1&r}", &[]), "https://h:1/p?q=1&r");
    assert_eq!(ok("${d?two words}", &[]), "two words");
    assert_eq!(ok("${d?x\ny}|", &[]), "x\ny|");
    // The first `}` ends the default.
    assert_eq!(ok("${d?{x}}", &[]), "{x}");
    // Defaults are not expanded.
    assert_eq!(ok("${d?$other}", &[("other", "no")]), "$other");
    // The same name with different defaults.
    assert_eq!(ok("${d?1} ${d?2} ${d}", &[("d", "v")]), "v v v");
}

#[test]
fn defaults_apply_when_silenced() {
    assert_eq!(silenced("${n?5} $m", &[]), "5 $m");
}

#[test]
fn dollar_escape() {
    assert_eq!(ok("$$", &[]), "$");
    assert_eq!(ok("cost: $$10", &[]), "cost: $10");
    assert_eq!(ok("$$a", &[("a", "no")]), "$a");
    assert_eq!(ok("$$$a", &[("a", "1")]), "$1");
    assert_eq!(ok("$$$$", &[]), "$$");
    assert_eq!(silenced("$$$a", &[]), "$$a");
}

#[test]
fn values_are_not_expanded_again() {
    assert_eq!(ok("$a", &[("a", "$b ${c}")]), "$b ${c}");
}

#[test]
fn text_without_placeholders_is_unchanged() {
    assert_eq!(ok("", &[]), "");
    assert_eq!(ok("{\"a\": [1, 2]}\n", &[("a", "x")]), "{\"a\": [1, 2]}\n");
    assert_eq!(ok("ünïcødé ✓", &[]), "ünïcødé ✓");
}

#[test]
fn undefined_variable_names_variable_and_line() {
    let template = "{\n  \"a\": \"$a\",\n  \"b\": \"${b}\"\n}\n";
    let error = err(template, &[("a", "1")]);
    assert!(
        matches!(&error, Error::TemplateVariable { name, line: 3 } if name == "b"),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"b\""));
    assert!(matches!(
        err("$a", &[]),
        Error::TemplateVariable { name, line: 1 } if name == "a"
    ));
}

#[test]
fn undefined_variables_are_kept_when_silenced() {
    assert_eq!(silenced("$a ${b} ${c?d} $e", &[("e", "E")]), "$a ${b} d E");
}

#[test]
fn invalid_placeholders() {
    for template in [
        "$", "a$", "$1", "$ x", "${}", "${a b}", "${a", "${a?x", "$-", "$é", "${1}",
    ] {
        let error = err(template, &[("a", "1")]);
        assert!(
            matches!(error, Error::Template(_)),
            "{template:?}: {error:?}"
        );
        assert_eq!(silenced(template, &[]), template);
    }
}

#[test]
fn invalid_placeholder_reports_line_and_column() {
    let message = err("ok\nx: $5\n", &[]).to_string();
    assert!(message.contains("line 2, column 4"), "{message}");
    let message = err("é$", &[]).to_string();
    assert!(message.contains("line 1, column 2"), "{message}");
}

#[test]
fn first_problem_wins() {
    assert!(matches!(err("$1 $a", &[]), Error::Template(_)));
    assert!(matches!(err("$a $1", &[]), Error::TemplateVariable { .. }));
}

#[test]
fn silenced_lone_dollar_is_kept() {
    assert_eq!(silenced("a $ b $5 $", &[]), "a $ b $5 $");
    assert_eq!(silenced("${a", &[("a", "1")]), "${a");
}

#[test]
fn var_file_basic() {
    assert_eq!(
        file_ok("a=1\nb=two\r\nc_3=x\n"),
        pairs(&[("a", "1"), ("b", "two"), ("c_3", "x")])
    );
    assert_eq!(file_ok("last=no-newline"), pairs(&[("last", "no-newline")]));
    assert_eq!(file_ok(""), pairs(&[]));
}

#[test]
fn var_file_comments_and_blank_lines() {
    let text = "# settings\n\n   \n  # indented comment\na=1\n\t\nb=#not-a-comment\n";
    assert_eq!(file_ok(text), pairs(&[("a", "1"), ("b", "#not-a-comment")]));
}

#[test]
fn var_file_quotes_and_escapes() {
    let text = concat!(
        "s='two words'\n",
        "d=\"say \\\"hi\\\" \\\\ \\n\"\n",
        "e=a\\ b\n",
        "m=pre'mid dle'\"post\"\n",
        "dollar='$x ${y}'\n",
        "empty=''\n",
        "bare=\n",
        "spaced =  v  \n",
        "export ex=1\n",
        "eq=x=y\n",
        "single='a\\b'\n",
    );
    assert_eq!(
        file_ok(text),
        pairs(&[
            ("s", "two words"),
            ("d", "say \"hi\" \\ \\n"),
            ("e", "a b"),
            ("m", "premid dlepost"),
            ("dollar", "$x ${y}"),
            ("empty", ""),
            ("bare", ""),
            ("spaced", "v"),
            ("ex", "1"),
            ("eq", "x=y"),
            ("single", "a\\b"),
        ])
    );
    assert_eq!(file_ok("export=1\n"), pairs(&[("export", "1")]));
}

#[test]
fn var_file_errors_name_file_and_line() {
    for (text, line, needle) in [
        ("a=1\nno equals sign\n", 2, "expected NAME=VALUE"),
        ("a=1\n\nb=two words\n", 3, "2 words"),
        ("a=b # comment\n", 1, "words"),
        ("# c\nx='open\n", 2, "not closed"),
        ("x=\"open\n", 1, "not closed"),
        ("x=trailing\\\n", 1, "ends the line"),
        ("=1\n", 1, "invalid variable name"),
        ("a-b=1\n", 1, "invalid variable name"),
        ("1a=1\n", 1, "invalid variable name"),
        ("export a b=1\n", 1, "invalid variable name"),
    ] {
        let message = file_err(text);
        assert!(
            message.contains(&format!("my.env:{line}:")) && message.contains(needle),
            "{text:?}: {message}"
        );
    }
}

#[test]
fn var_file_later_assignment_wins() {
    let mut vars = TemplateVars::new();
    assert_eq!(vars.load_var_file("a=1\na=2\n", "f").ok(), Some(2));
    assert_eq!(vars.get("a"), Some("2"));
}

#[test]
fn precedence_of_sources() {
    let mut vars = TemplateVars::new();
    let loaded = vars
        .load_var_file("a=first\nb=first\nc=first\n", "one.env")
        .and_then(|_| vars.load_var_file("b=second\nc=second\n", "two.env"));
    assert!(loaded.is_ok());
    assert_eq!(vars.insert("c", "cli"), Some("second".to_owned()));
    assert_eq!(ok_with(&vars, "$a $b $c"), "first second cli");
    assert_eq!(vars.len(), 3);
    assert_eq!(vars.names().collect::<Vec<_>>(), ["a", "b", "c"]);
}

#[test]
fn failed_load_sets_nothing() {
    let mut vars = vars(&[("a", "keep")]);
    assert!(vars.load_var_file("a=new\nbroken\n", "f").is_err());
    assert_eq!(vars.get("a"), Some("keep"));
    assert_eq!(vars.iter().collect::<Vec<_>>(), [("a", "keep")]);
}

#[test]
fn from_iter_and_extend() {
    let mut vars: TemplateVars = [("a", "1"), ("a", "2")].into_iter().collect();
    vars.extend([("b".to_owned(), "3".to_owned())]);
    assert_eq!(vars.get("a"), Some("2"));
    assert_eq!(vars.get("b"), Some("3"));
    assert!(!vars.is_empty());
    assert!(TemplateVars::new().is_empty());
}

fn ok_with(vars: &TemplateVars, template: &str) -> String {
    match render(template, vars, false) {
        Ok(text) => text,
        Err(err) => panic!("rendering {template:?} failed: {err}"),
    }
}
