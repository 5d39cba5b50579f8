//! Resources a CloudFormation implementation skipped, created through their service APIs.
//!
//! AWS CloudFormation creates every resource of the template or fails the stack. An emulator
//! may instead skip the types it does not implement: moto 5.2 skips `AWS::SNS::Subscription`,
//! `AWS::SNS::TopicPolicy` and `AWS::SQS::QueuePolicy`, with a warning in its log and a stack
//! that is still `CREATE_COMPLETE`. So after a deploy, [`missing_resources`] compares the
//! template with the stack's resources and creates the skipped ones of those types with the SDK,
//! resolving their `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` values from the resources the
//! stack did create. Each call is idempotent (subscribing twice gives the same subscription,
//! and a policy is set, not added). Skipped resources of other types are returned as missing.
//!
//! moto's CloudFormation also creates state machines where its executing Step Functions
//! backend does not see them; [`state_machines`] creates each state machine of the stack that
//! `DescribeStateMachine` does not find, through the Step Functions API, with the definition
//! CloudFormation resolves (`stack::sub::resolve` on the stack outputs), and brings one whose
//! definition differs up to date. On AWS every one is found as the stack made it.

use crate::apply::Deployer;
use crate::aws;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// The resource types this module can create.
pub const FILLED_TYPES: [&str; 3] = [
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
];

/// Creates the template's resources that the stack lacks, where the type is one of
/// [`FILLED_TYPES`]. Returns `(created, missing)`, each as `LogicalId (Type)`.
///
/// # Errors
///
/// When the stack cannot be read, a value cannot be resolved, or a service call fails.
pub async fn missing_resources(
    deployer: &Deployer,
    stack: &str,
    template: &Value,
) -> Result<(Vec<String>, Vec<String>)> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let existing = deployer.resources(stack).await?;
    let skipped: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(id, _)| !existing.contains_key(*id))
        .filter(|(_, resource)| resource.get("Condition").is_none())
        .collect();
    if skipped.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let resolver = Resolver {
        stack,
        region: deployer.region(),
        account: &deployer.identity().account,
        resources: &existing,
    };
    let config = deployer.sdk_config();
    let sns = aws_sdk_sns::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let (mut created, mut missing) = (Vec::new(), Vec::new());
    for (id, resource) in skipped {
        let kind = resource["Type"].as_str().unwrap_or_default();
        let label = format!("{id} ({kind})");
        let properties = resolver.resolve(&resource["Properties"], id)?;
        match kind {
            "AWS::SNS::Subscription" => subscribe(&sns, id, &properties).await?,
            "AWS::SNS::TopicPolicy" => {
                let policy = policy_text(&properties, id)?;
                for topic in strings(&properties["Topics"], id, "Topics")? {
                    sns.set_topic_attributes()
                        .topic_arn(topic)
                        .attribute_name("Policy")
                        .attribute_value(&policy)
                        .send()
                        .await
                        .map_err(|e| aws::error("sns:SetTopicAttributes", e))?;
                }
            }
            "AWS::SQS::QueuePolicy" => {
                let policy = policy_text(&properties, id)?;
                for queue in strings(&properties["Queues"], id, "Queues")? {
                    sqs.set_queue_attributes()
                        .queue_url(queue)
                        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, &policy)
                        .send()
                        .await
                        .map_err(|e| aws::error("sqs:SetQueueAttributes", e))?;
                }
            }
            _ => {
                tracing::warn!(resource = %label, "the stack did not create this resource, and cirrus cannot create it through its API");
                missing.push(label);
                continue;
            }
        }
        tracing::info!(resource = %label, "the stack skipped this resource: created it through its service API");
        created.push(label);
    }
    Ok((created, missing))
}

/// Makes every state machine of `machines` exist through the Step Functions API with the
/// definition the stack gives it; see the module docs. Returns `Name (AWS::StepFunctions::StateMachine)`
/// for each one created or updated.
///
/// # Errors
///
/// When a definition cannot be resolved from `outputs`, or Step Functions refuses.
pub async fn state_machines(
    deployer: &Deployer,
    machines: &[crate::stack::StateMachine],
    outputs: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let sfn = aws_sdk_sfn::Client::new(deployer.sdk_config());
    let (region, account) = (deployer.region(), &deployer.identity().account);
    let mut changed = Vec::new();
    for machine in machines {
        let arn = format!(
            "arn:aws:states:{region}:{account}:stateMachine:{}",
            machine.name
        );
        let definition = crate::stack::sub::resolve(&machine.definition, outputs)?;
        let label = format!("{} (AWS::StepFunctions::StateMachine)", machine.name);
        match sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
        {
            Ok(found) => {
                let same = serde_json::from_str::<Value>(found.definition()).ok()
                    == serde_json::from_str::<Value>(&definition).ok();
                if same {
                    continue;
                }
                sfn.update_state_machine()
                    .state_machine_arn(&arn)
                    .definition(&definition)
                    .send()
                    .await
                    .map_err(|e| aws::error("states:UpdateStateMachine", e))?;
                tracing::info!(state_machine = %machine.name, "its definition differed from the stack's: updated it through Step Functions");
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_state_machine_does_not_exist()) =>
            {
                let role = outputs.get(&machine.role_output).ok_or_else(|| {
                    Error::config(
                        format!("stack output {}", machine.role_output),
                        format!("missing: the role of state machine {}", machine.name),
                    )
                })?;
                sfn.create_state_machine()
                    .name(&machine.name)
                    .definition(&definition)
                    .role_arn(role)
                    .send()
                    .await
                    .map_err(|e| aws::error("states:CreateStateMachine", e))?;
                tracing::info!(state_machine = %machine.name, "Step Functions did not see the stack's state machine: created it through its API");
            }
            Err(e) => return Err(aws::error("states:DescribeStateMachine", e)),
        }
        changed.push(label);
    }
    Ok(changed)
}

/// Deletes the state machines named `names` that are left after the stack's deletion (those
/// [`state_machines`] made, which the stack does not know). Returns their names.
///
/// # Errors
///
/// When Step Functions refuses.
pub async fn delete_state_machines(deployer: &Deployer, names: &[String]) -> Result<Vec<String>> {
    let sfn = aws_sdk_sfn::Client::new(deployer.sdk_config());
    let (region, account) = (deployer.region(), &deployer.identity().account);
    let mut deleted = Vec::new();
    for name in names {
        let arn = format!("arn:aws:states:{region}:{account}:stateMachine:{name}");
        // DeleteStateMachine succeeds for a missing machine too: look first, to report only
        // what was there.
        match sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_state_machine_does_not_exist()) =>
            {
                continue;
            }
            Err(e) => return Err(aws::error("states:DescribeStateMachine", e)),
        }
        sfn.delete_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
            .map_err(|e| aws::error("states:DeleteStateMachine", e))?;
        deleted.push(name.clone());
    }
    Ok(deleted)
}

async fn subscribe(sns: &aws_sdk_sns::Client, id: &str, properties: &Value) -> Result<()> {
    let field = |name: &str| {
        properties[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::config(format!("{id}.Properties.{name}"), "a string is required"))
    };
    let mut request = sns
        .subscribe()
        .topic_arn(field("TopicArn")?)
        .protocol(field("Protocol")?)
        .endpoint(field("Endpoint")?)
        .return_subscription_arn(true);
    if let Some(raw) = properties.get("RawMessageDelivery") {
        let raw = raw.as_bool().map_or_else(
            || raw.as_str().unwrap_or("false").to_string(),
            |b| b.to_string(),
        );
        request = request.attributes("RawMessageDelivery", raw);
    }
    if let Some(filter) = properties.get("FilterPolicy") {
        request = request.attributes("FilterPolicy", filter.to_string());
    }
    request
        .send()
        .await
        .map_err(|e| aws::error("sns:Subscribe", e))?;
    Ok(())
}

fn policy_text(properties: &Value, id: &str) -> Result<String> {
    match &properties["PolicyDocument"] {
        Value::Object(_) => Ok(properties["PolicyDocument"].to_string()),
        Value::String(text) => Ok(text.clone()),
        _ => Err(Error::config(
            format!("{id}.Properties.PolicyDocument"),
            "a policy document is required",
        )),
    }
}

fn strings(value: &Value, id: &str, name: &str) -> Result<Vec<String>> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| Error::config(format!("{id}.Properties.{name}"), "a list is required"))
}

/// Resolves intrinsic functions against the resources the stack created.
struct Resolver<'a> {
    stack: &'a str,
    region: &'a str,
    account: &'a str,
    resources: &'a BTreeMap<String, (String, String)>,
}

impl Resolver<'_> {
    /// `value` with every `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` replaced.
    fn resolve(&self, value: &Value, at: &str) -> Result<Value> {
        match value {
            Value::Array(list) => list
                .iter()
                .map(|v| self.resolve(v, at))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            Value::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => self
                        .reference(argument.as_str().unwrap_or_default(), at)
                        .map(Value::String),
                    "Fn::GetAtt" => {
                        let (name, attribute) = match argument {
                            Value::Array(parts) if parts.len() == 2 => (
                                parts[0].as_str().unwrap_or_default().to_string(),
                                parts[1].as_str().unwrap_or_default().to_string(),
                            ),
                            Value::String(text) => match text.split_once('.') {
                                Some((name, attribute)) => {
                                    (name.to_string(), attribute.to_string())
                                }
                                None => (text.clone(), String::new()),
                            },
                            _ => (String::new(), String::new()),
                        };
                        self.attribute(&name, &attribute, at).map(Value::String)
                    }
                    "Fn::Sub" => {
                        let text = match argument {
                            Value::String(text) => text.clone(),
                            Value::Array(parts) if !parts.is_empty() => {
                                parts[0].as_str().unwrap_or_default().to_string()
                            }
                            _ => String::new(),
                        };
                        self.substitute(&text, at).map(Value::String)
                    }
                    "Fn::Join" => {
                        let parts =
                            argument
                                .as_array()
                                .filter(|p| p.len() == 2)
                                .ok_or_else(|| {
                                    Error::config(at, "Fn::Join takes [separator, [values]]")
                                })?;
                        let separator = parts[0].as_str().unwrap_or_default();
                        let values = self.resolve(&parts[1], at)?;
                        let values: Vec<String> = values
                            .as_array()
                            .map(|list| {
                                list.iter()
                                    .map(|v| {
                                        v.as_str().map_or_else(|| v.to_string(), str::to_string)
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        Ok(Value::String(values.join(separator)))
                    }
                    _ => Ok(Value::Object(
                        std::iter::once((key.clone(), self.resolve(argument, at)?)).collect(),
                    )),
                }
            }
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve(v, at)?)))
                .collect::<Result<serde_json::Map<_, _>>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn reference(&self, name: &str, at: &str) -> Result<String> {
        match name {
            "AWS::Region" => return Ok(self.region.to_string()),
            "AWS::AccountId" => return Ok(self.account.to_string()),
            "AWS::Partition" => return Ok("aws".to_string()),
            "AWS::StackName" => return Ok(self.stack.to_string()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_string()),
            _ => {}
        }
        self.resources
            .get(name)
            .map(|(_, physical)| physical.clone())
            .ok_or_else(|| Error::config(at, format!("Ref {name}: no such resource in the stack")))
    }

    fn attribute(&self, name: &str, attribute: &str, at: &str) -> Result<String> {
        let Some((kind, physical)) = self.resources.get(name) else {
            return Err(Error::config(
                at,
                format!("Fn::GetAtt {name}.{attribute}: no such resource in the stack"),
            ));
        };
        let (region, account) = (self.region, self.account);
        let last = physical.rsplit(['/', ':']).next().unwrap_or(physical);
        let value = match (kind.as_str(), attribute) {
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{region}:{account}:{last}"),
            ("AWS::SQS::Queue", "QueueName") => last.to_string(),
            ("AWS::SQS::Queue", "QueueUrl") => physical.clone(),
            ("AWS::SNS::Topic", "TopicArn" | "Arn") => physical.clone(),
            ("AWS::SNS::Topic", "TopicName") => last.to_string(),
            ("AWS::Lambda::Function", "Arn") => {
                format!("arn:aws:lambda:{region}:{account}:function:{last}")
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{physical}"),
            ("AWS::Events::Rule", "Arn") if physical.starts_with("arn:") => physical.clone(),
            ("AWS::Events::Rule", "Arn") => {
                format!("arn:aws:events:{region}:{account}:rule/{last}")
            }
            ("AWS::IAM::Role", "Arn") if physical.starts_with("arn:") => physical.clone(),
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account}:role/{physical}"),
            (_, _) if physical.starts_with("arn:") && attribute == "Arn" => physical.clone(),
            _ => {
                return Err(Error::config(
                    at,
                    format!("Fn::GetAtt {name}.{attribute} of a {kind} cannot be resolved here"),
                ));
            }
        };
        Ok(value)
    }

    fn substitute(&self, text: &str, at: &str) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                return Err(Error::config(
                    at,
                    format!("Fn::Sub {text:?}: an unclosed ${{"),
                ));
            };
            let name = &rest[start + 2..start + end];
            let value = match name.split_once('.') {
                Some((resource, attribute)) if !name.starts_with("AWS::") => {
                    self.attribute(resource, attribute, at)?
                }
                _ => self.reference(name, at)?,
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_refs_attributes_and_subs() {
        let resources: BTreeMap<String, (String, String)> = [
            (
                "Queue".to_string(),
                (
                    "AWS::SQS::Queue".to_string(),
                    "http://127.0.0.1:5000/123456789012/p-process".to_string(),
                ),
            ),
            (
                "Topic".to_string(),
                (
                    "AWS::SNS::Topic".to_string(),
                    "arn:aws:sns:us-east-1:123456789012:p-publish".to_string(),
                ),
            ),
        ]
        .into_iter()
        .collect();
        let resolver = Resolver {
            stack: "p",
            region: "us-east-1",
            account: "123456789012",
            resources: &resources,
        };
        let value = json!({
            "TopicArn": {"Ref": "Topic"},
            "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
            "Name": {"Fn::Sub": "${AWS::StackName}-x-${Queue.QueueName}"},
            "Joined": {"Fn::Join": [":", ["a", {"Ref": "AWS::Region"}]]}
        });
        let resolved = resolver.resolve(&value, "Sub").unwrap();
        assert_eq!(
            resolved,
            json!({
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:p-publish",
                "Endpoint": "arn:aws:sqs:us-east-1:123456789012:p-process",
                "Name": "p-x-p-process",
                "Joined": "a:us-east-1"
            })
        );
        let error = resolver
            .resolve(&json!({"Ref": "Nope"}), "Sub")
            .unwrap_err();
        assert!(error.to_string().contains("Ref Nope"), "{error}");
    }
}
