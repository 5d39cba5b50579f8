//! The names of a deployment's resources (contract.md), and CloudFormation logical IDs.
//!
//! The deployment `<project>-<stage>` is also the resource prefix `PREFIX` and the stack
//! name. It is lowercase letters, digits and `-`, at most [`MAX_PREFIX`] characters, so that
//! every derived name fits its service's limit (S3 buckets 63, Lambda functions 64).

use crate::{Error, Result};

/// The longest deployment name (`<project>-<stage>`).
pub const MAX_PREFIX: usize = 40;

/// The resource names of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// The names of deployment `<project>-<stage>`. `project` comes from `[deploy] name` or
    /// the project folder, which the error mentions.
    pub fn new(project: &str, stage: &str) -> Result<Names> {
        check_part(
            "the project name ([deploy] name, else the project folder's name)",
            project,
        )?;
        check_part("--stage", stage)?;
        let prefix = format!("{project}-{stage}");
        if prefix.len() > MAX_PREFIX {
            return Err(Error::config(
                "deployment name",
                format!(
                    "{prefix:?} is {} characters; at most {MAX_PREFIX} keep every resource name within AWS's limits (shorten [deploy] name or --stage)",
                    prefix.len()
                ),
            ));
        }
        Ok(Names { prefix })
    }

    /// `PREFIX`: the deployment name, the stack name, the start of every resource name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `CIRRUS_PREFIX`: `PREFIX-`, as cirrus-geo.
    pub fn cirrus_prefix(&self) -> String {
        format!("{}-", self.prefix)
    }

    /// `PREFIX-<suffix>`.
    pub fn named(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    /// The state table, `PREFIX-state`.
    pub fn state_table(&self) -> String {
        self.named("state")
    }

    /// The timeline table, `PREFIX-state-timeline`
    /// (`DynamoStateStore::default_timeline_table` of the state table).
    pub fn timeline_table(&self) -> String {
        format!("{}-timeline", self.state_table())
    }

    /// The state machine of `workflow`, `PREFIX-<workflow>`.
    pub fn state_machine(&self, workflow: &str) -> String {
        self.named(workflow)
    }

    /// The Lambda function of `task`, `PREFIX-task-<task>`.
    pub fn task_function(&self, task: &str) -> String {
        self.named(&format!("task-{task}"))
    }

    /// `CIRRUS_BASE_WORKFLOW_ARN`, as an `Fn::Sub` string.
    pub fn base_workflow_arn_sub(&self) -> String {
        format!(
            "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{}-",
            self.prefix
        )
    }

    /// The SSM parameter cirrus-geo's CLI looks a deployment up by.
    pub fn deployment_parameter(&self) -> String {
        format!("/cirrus/deployments/{}", self.prefix)
    }

    /// The SSM prefix of the deployment's variables, with its trailing `/`.
    pub fn variables_path(&self) -> String {
        format!("/deployment/{}/", self.prefix)
    }
}

fn check_part(what: &str, value: &str) -> Result<()> {
    let ok = value.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.ends_with('-')
        && !value.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!(
                "{value:?} cannot name AWS resources: use lowercase letters, digits and single '-', starting with a letter"
            ),
        ))
    }
}

/// A CloudFormation logical ID: `parts` in PascalCase, letters and digits only
/// (`["task", "copy-assets", "function"]` → `TaskCopyAssetsFunction`).
pub fn logical_id(parts: &[&str]) -> String {
    let mut id = String::new();
    for part in parts {
        for word in part.split(|c: char| !c.is_ascii_alphanumeric()) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.extend(chars);
            }
        }
    }
    id
}

/// Checks a derived resource name against a service limit; `what` names what it is for.
pub(crate) fn check_length(what: &str, name: &str, max: usize) -> Result<()> {
    if name.len() > max {
        return Err(Error::config(
            what,
            format!(
                "the resource name {name:?} is {} characters, over AWS's {max}; shorten the deployment name or this name",
                name.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_names() {
        let names = Names::new("hsi", "dev").unwrap();
        assert_eq!(names.prefix(), "hsi-dev");
        assert_eq!(names.cirrus_prefix(), "hsi-dev-");
        assert_eq!(names.state_table(), "hsi-dev-state");
        assert_eq!(names.timeline_table(), "hsi-dev-state-timeline");
        assert_eq!(
            names.state_machine("aviris-activate"),
            "hsi-dev-aviris-activate"
        );
        assert_eq!(
            names.task_function("copy-assets"),
            "hsi-dev-task-copy-assets"
        );
        assert_eq!(names.deployment_parameter(), "/cirrus/deployments/hsi-dev");
        assert_eq!(names.variables_path(), "/deployment/hsi-dev/");
        assert_eq!(
            names.base_workflow_arn_sub(),
            "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:hsi-dev-"
        );
    }

    #[test]
    fn bad_names_say_which() {
        let e = Names::new("My_Project", "dev").unwrap_err().to_string();
        assert!(e.starts_with("the project name ([deploy] name"), "{e}");
        let e = Names::new("p", "Prod").unwrap_err().to_string();
        assert!(e.starts_with("--stage: \"Prod\""), "{e}");
        let long = "a".repeat(40);
        let e = Names::new(&long, "dev").unwrap_err().to_string();
        assert!(e.contains("at most 40"), "{e}");
    }

    #[test]
    fn logical_ids() {
        assert_eq!(
            logical_id(&["task", "copy-assets", "function"]),
            "TaskCopyAssetsFunction"
        );
        assert_eq!(
            logical_id(&["state-machine", "hsi.v2"]),
            "StateMachineHsiV2"
        );
    }
}
