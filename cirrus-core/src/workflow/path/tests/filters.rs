//! Filter expressions.

use super::*;
use serde_json::json;

#[test]
fn filters() {
    let titles = |filter: &str| select(&format!("$.store.book[?({filter})].title"));
    assert_eq!(
        titles("@.price < 10"),
        Some(json!(["Sayings", "Moby Dick"]))
    );
    assert_eq!(
        titles("@.price<=8.99"),
        Some(json!(["Sayings", "Moby Dick"]))
    );
    assert_eq!(titles("@.price > 20"), Some(json!(["The Lord"])));
    assert_eq!(titles("@.price >= 22.99"), Some(json!(["The Lord"])));
    assert_eq!(
        titles("@.price > $.expensive"),
        Some(json!(["Sword", "The Lord"]))
    );
    assert_eq!(
        titles("@.category == 'reference'"),
        Some(json!(["Sayings"]))
    );
    assert_eq!(
        titles("@.category != \"fiction\""),
        Some(json!(["Sayings"]))
    );
    assert_eq!(titles("@.isbn"), Some(json!(["Moby Dick", "The Lord"])));
    assert_eq!(titles("!@.isbn"), Some(json!(["Sayings", "Sword"])));
    assert_eq!(titles("@.ok == true"), Some(json!(["Moby Dick"])));
    assert_eq!(titles("@.ok == false"), Some(json!(["The Lord"])));
    assert_eq!(
        titles("@.price < 10 && @.ok == true"),
        Some(json!(["Moby Dick"]))
    );
    assert_eq!(
        titles("@.price < 9 || @.price > 20"),
        Some(json!(["Sayings", "Moby Dick", "The Lord"]))
    );
    assert_eq!(
        titles("!(@.price < 9 || @.price > 20) && @.category == 'fiction'"),
        Some(json!(["Sword"]))
    );
    assert_eq!(
        titles("@.author =~ /.*Melville/"),
        Some(json!(["Moby Dick"]))
    );
    assert_eq!(
        titles("@.author =~ /melville/"),
        Some(json!([])),
        "the whole string must match"
    );
    assert_eq!(
        titles("@.author =~ /.*MELVILLE/i"),
        Some(json!(["Moby Dick"]))
    );
    assert_eq!(
        titles("@.price =~ /8.*/"),
        Some(json!([])),
        "only strings match a regex"
    );
    // Comparisons with a missing value, or between types, are false.
    assert_eq!(
        titles("@.isbn != 'x'"),
        Some(json!(["Moby Dick", "The Lord"]))
    );
    assert_eq!(titles("@.price < '10'"), Some(json!([])));
    assert_eq!(titles("@.price == 12.990"), Some(json!(["Sword"])));
    // A filter on an object tests the object itself.
    assert_eq!(
        select("$.store.bicycle[?(@.color == 'red')].price"),
        Some(json!([19.95]))
    );
    assert_eq!(
        select("$.store.bicycle[?(@.color == 'blue')]"),
        Some(json!([]))
    );
    // Descendants: every object tested once.
    assert_eq!(
        select("$..[?(@.price > 19)].price"),
        Some(json!([22.99, 19.95]))
    );
    assert_eq!(
        select("$..book[?(@.isbn)].price"),
        Some(json!([8.99, 22.99]))
    );
}

#[test]
fn filters_on_scalars_and_numbers() {
    let input = json!({"values": [1, 2.5, 3, "3", null, [3]], "n": 1e2});
    let path = |text: &str| {
        Path::parse(text)
            .expect("valid path")
            .select(&input, &Value::Null)
            .map(Cow::into_owned)
    };
    assert_eq!(path("$.values[?(@ > 2)]"), Some(json!([2.5, 3])));
    assert_eq!(path("$.values[?(@ == 3)]"), Some(json!([3])));
    assert_eq!(path("$.values[?(@ == 3.0)]"), Some(json!([3])));
    assert_eq!(path("$.values[?(@ == '3')]"), Some(json!(["3"])));
    assert_eq!(path("$.values[?(@ == null)]"), Some(json!([null])));
    assert_eq!(path("$.values[?(@ > -1e1)]"), Some(json!([1, 2.5, 3])));
    assert_eq!(path("$.values[?(@[0] == 3)]"), Some(json!([[3]])));
    assert_eq!(path("$.n"), Some(json!(100.0)));
}
