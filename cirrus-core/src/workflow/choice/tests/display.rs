//! The short rendering of conditions (`Display`).

use super::*;

#[test]
fn renders_every_kind_of_condition() {
    use Comparison::*;
    let cases = [
        (literal("$.x", StringEquals, json!("a")), r#"$.x == "a""#),
        (literal("$.n", NumericGreaterThan, json!(5)), "$.n > 5"),
        (
            literal("$.n", NumericLessThanEquals, json!(2.5)),
            "$.n <= 2.5",
        ),
        (literal("$.b", BooleanEquals, json!(true)), "$.b == true"),
        (
            literal("$.t", TimestampLessThan, json!("2016-03-14T01:59:00Z")),
            r#"$.t before "2016-03-14T01:59:00Z""#,
        ),
        (
            against_path("$.a", StringGreaterThanEquals, "$.b"),
            "$.a >= $.b",
        ),
        (
            against_path("$.t", TimestampGreaterThanEquals, "$.u"),
            "$.t at or after $.u",
        ),
        (test("$.y", Test::IsPresent(true)), "IsPresent($.y)"),
        (test("$.y", Test::IsNull(false)), "not IsNull($.y)"),
        (
            test("$.f", Test::StringMatches(r#"log-\*"q""#.into())),
            r#"$.f matches "log-\\*\"q\"""#,
        ),
        (
            Condition::Not(Box::new(test("$.y", Test::IsString(true)))),
            "not IsString($.y)",
        ),
        (
            Condition::Not(Box::new(literal("$.n", NumericEquals, json!(1)))),
            "not ($.n == 1)",
        ),
        (
            Condition::And(vec![
                literal("$.n", NumericGreaterThan, json!(1)),
                Condition::Or(vec![
                    test("$.a", Test::IsPresent(true)),
                    literal("$.s", StringEquals, json!("x")),
                ]),
            ]),
            r#"$.n > 1 and (IsPresent($.a) or $.s == "x")"#,
        ),
    ];
    for (condition, expected) in cases {
        assert_eq!(condition.to_string(), expected);
    }
}
