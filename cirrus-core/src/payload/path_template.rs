//! `upload_options.path_template`: where an output item and its assets are written.
//!
//! The rules are those of pystac's `LayoutTemplate`, which cirrus-geo and stac-task use:
//!
//! - `${year}`, `${month}`, `${day}` come from the item's `datetime` (or `start_datetime`
//!   when `datetime` is null). They are **not** zero-padded (`2023/6/1`), as in pystac.
//!   `${date}` is `YYYY-MM-DD`.
//! - `${collection}` is the item's collection; an item without one is an error.
//! - `${id}` is the item ID.
//! - Anything else is looked up, with dots for nesting (`${properties.x}` or
//!   `${assets.B01.href}`), first among the item's top-level members, then in its
//!   `properties` (`${mgrs:utm_zone}`), and rendered as Python's `str()` would.
//!
//! ```
//! use cirrus_core::payload::{Feature, path_template::PathTemplate};
//! use serde_json::json;
//!
//! let item = Feature::from_map(json!({
//!     "id": "S2B_17HQD_20230601_0_L2A",
//!     "collection": "sentinel-2-l2a",
//!     "properties": {"datetime": "2023-06-01T10:20:30Z", "mgrs:utm_zone": 17}
//! }).as_object().unwrap().clone())?;
//! let template = PathTemplate::new("/${collection}/${mgrs:utm_zone}/${year}/${month}/${id}");
//! assert_eq!(template.render(&item)?, "/sentinel-2-l2a/17/2023/6/S2B_17HQD_20230601_0_L2A");
//! # Ok::<(), cirrus_core::Error>(())
//! ```

use super::Feature;
use super::size::python_float_repr;
use crate::{Error, Result};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value;

/// A parsed `path_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    template: String,
    /// Literal text and variable names, in order.
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

impl PathTemplate {
    /// Parses a template. Text that is not `${name}` is kept literally, including a `$` not
    /// followed by `{` and an unterminated `${`.
    pub fn new(template: &str) -> PathTemplate {
        let mut parts = Vec::new();
        let mut rest = template;
        let mut literal = String::new();
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) if end > 0 => {
                    literal.push_str(&rest[..start]);
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(after[..end].to_string()));
                    rest = &after[end + 1..];
                }
                _ => {
                    literal.push_str(&rest[..start + 2]);
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        PathTemplate {
            template: template.to_string(),
            parts,
        }
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The variable names the template uses, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Renders the template for `item`.
    pub fn render(&self, item: &Feature) -> Result<String> {
        let mut out = String::with_capacity(self.template.len() + 32);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(name) => out.push_str(&self.value(item, name)?),
            }
        }
        Ok(out)
    }

    fn error(&self, item: &Feature, message: impl Into<String>) -> Error {
        Error::PathTemplate {
            template: self.template.clone(),
            item_id: item.id().to_string(),
            message: message.into(),
        }
    }

    fn value(&self, item: &Feature, name: &str) -> Result<String> {
        match name {
            "year" | "month" | "day" | "date" => {
                let dt = self.item_datetime(item, name)?;
                Ok(match name {
                    "year" => dt.year().to_string(),
                    "month" => dt.month().to_string(),
                    "day" => dt.day().to_string(),
                    _ => dt.format("%Y-%m-%d").to_string(),
                })
            }
            "collection" => item
                .collection()
                .map(str::to_string)
                .ok_or_else(|| self.error(item, "${collection}: the item has no collection")),
            "id" => Ok(item.id().to_string()),
            "datetime" => {
                let dt = self.item_datetime(item, name)?;
                Ok(python_datetime_str(&dt))
            }
            _ => {
                let mut segments = name.split('.');
                let first = segments.next().unwrap_or_default();
                let map = item.as_map();
                let mut value = match map.get(first) {
                    Some(v) => v,
                    None => item
                        .properties()
                        .and_then(|props| props.get(first))
                        .ok_or_else(|| {
                            self.error(
                                item,
                                format!(
                                    "${{{name}}}: the item has no member or property {first:?}"
                                ),
                            )
                        })?,
                };
                for segment in segments {
                    value = value
                        .as_object()
                        .and_then(|m| m.get(segment))
                        .ok_or_else(|| {
                            self.error(item, format!("${{{name}}}: {segment:?} not found"))
                        })?;
                }
                python_str(value).ok_or_else(|| {
                    self.error(
                        item,
                        format!("${{{name}}}: the value is an array or object, not a path segment"),
                    )
                })
            }
        }
    }

    fn item_datetime(&self, item: &Feature, var: &str) -> Result<DateTime<FixedOffset>> {
        let props = item.properties();
        let raw = props
            .and_then(|p| p.get("datetime"))
            .filter(|v| !v.is_null())
            .or_else(|| props.and_then(|p| p.get("start_datetime")));
        let Some(raw) = raw else {
            return Err(self.error(
                item,
                format!("${{{var}}}: the item has no datetime or start_datetime property"),
            ));
        };
        raw.as_str()
            .and_then(parse_datetime)
            .ok_or_else(|| self.error(item, format!("${{{var}}}: cannot parse datetime {raw}")))
    }
}

/// Parses an RFC 3339 datetime, or (as dateutil would) one without an offset (taken as UTC),
/// or a bare date.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt);
    }
    let utc = FixedOffset::east_opt(0)?;
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return naive.and_local_timezone(utc).single();
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    date.and_hms_opt(0, 0, 0)?.and_local_timezone(utc).single()
}

/// Python's `str(datetime)`: `2023-06-01 10:20:30.024000+00:00`.
fn python_datetime_str(dt: &DateTime<FixedOffset>) -> String {
    let mut out = dt.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = dt.nanosecond() / 1000;
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push_str(&dt.format("%:z").to_string());
    out
}

/// Python's `str()` of a JSON scalar; `None` for arrays and objects.
fn python_str(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::Null => Some("None".into()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() => python_float_repr(f),
            _ => n.to_string(),
        }),
        Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Feature {
        Feature::from_map(value.as_object().cloned().unwrap()).unwrap()
    }

    #[test]
    fn renders_like_pystac() {
        let it = item(json!({
            "id": "x1", "collection": "c",
            "properties": {"datetime": "2021-02-03T04:05:06.5+02:00", "eo:cloud_cover": 1.5, "flag": true, "n": 7},
            "assets": {"B01": {"href": "s3://b/k.tif"}}
        }));
        let render = |t: &str| PathTemplate::new(t).render(&it);
        assert_eq!(
            render("${collection}/${year}/${month}/${day}/${id}").unwrap(),
            "c/2021/2/3/x1"
        );
        assert_eq!(render("${date}").unwrap(), "2021-02-03");
        assert_eq!(
            render("${eo:cloud_cover}-${flag}-${n}").unwrap(),
            "1.5-True-7"
        );
        assert_eq!(render("${properties.n}").unwrap(), "7");
        assert_eq!(render("${assets.B01.href}").unwrap(), "s3://b/k.tif");
        assert_eq!(
            render("${datetime}").unwrap(),
            "2021-02-03 04:05:06.500000+02:00"
        );
        assert_eq!(render("$x/${id}/a${").unwrap(), "$x/x1/a${");
        assert!(
            render("${ ${}").is_err(),
            "pystac also reads ` ${{` as a variable name"
        );
        assert!(render("${nope}").unwrap_err().to_string().contains("nope"));
        assert!(render("${assets}").is_err());
    }

    #[test]
    fn start_datetime_and_missing() {
        let ranged = item(
            json!({"id": "r", "properties": {"datetime": null, "start_datetime": "2020-12-31T23:00:00Z"}}),
        );
        assert_eq!(
            PathTemplate::new("${year}-${month}")
                .render(&ranged)
                .unwrap(),
            "2020-12"
        );
        let bare = item(json!({"id": "b"}));
        assert!(PathTemplate::new("${year}").render(&bare).is_err());
        assert!(PathTemplate::new("${collection}").render(&bare).is_err());
        assert_eq!(PathTemplate::new("/a/${id}").render(&bare).unwrap(), "/a/b");
    }
}
