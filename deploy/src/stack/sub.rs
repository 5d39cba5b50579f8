//! `Fn::Sub` on the deployment side: resolving a state machine's `DefinitionString` with the
//! values of the stack's outputs.
//!
//! moto's CloudFormation creates state machines in its non-executing Step Functions backend
//! (with `execute_state_machine` on, they are invisible to `StartExecution`), so the apply
//! step against moto creates them through the Step Functions API instead; this is how it gets
//! the definition CloudFormation would have made.

use crate::{Error, Result};
use std::collections::BTreeMap;

/// Resolves `template`, an `Fn::Sub` string: `${Name}` and `${Logical.Attribute}` become
/// `values["Name"]` / `values["LogicalAttribute"]` (the template's output key for that
/// reference: the logical ID and attribute without the dot), and `${!Literal}` becomes
/// `${Literal}`. A reference without a value is an error naming it.
pub fn resolve(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            out.push_str("${");
            rest = literal;
            continue;
        }
        let end = after.find('}').ok_or_else(|| {
            Error::config(
                "DefinitionString",
                format!("unclosed ${{ in {:?}", &rest[start..]),
            )
        })?;
        let name = &after[..end];
        let key: String = name.chars().filter(|c| *c != '.').collect();
        let value = values.get(&key).ok_or_else(|| {
            Error::config(
                "DefinitionString",
                format!("${{{name}}} has no value (no stack output {key})"),
            )
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_literals() {
        let values = BTreeMap::from([
            (
                "TaskAFunctionArn".to_string(),
                "arn:aws:lambda:r:1:function:p-task-a".to_string(),
            ),
            ("JobQueueX".to_string(), "arn:q".to_string()),
        ]);
        let resolved = resolve(
            r#"{"R":"${TaskAFunction.Arn}","Q":"${JobQueueX}","T":"${!collection}/${!id}","D":"$$.Execution.Id"}"#,
            &values,
        )
        .unwrap();
        assert_eq!(
            resolved,
            r#"{"R":"arn:aws:lambda:r:1:function:p-task-a","Q":"arn:q","T":"${collection}/${id}","D":"$$.Execution.Id"}"#
        );
        let missing = resolve("${Nope.Arn}", &values).unwrap_err().to_string();
        assert_eq!(
            missing,
            "DefinitionString: ${Nope.Arn} has no value (no stack output NopeArn)"
        );
        assert!(resolve("x ${open", &values).is_err());
    }
}
