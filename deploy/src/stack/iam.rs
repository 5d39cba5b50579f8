//! IAM roles: one per function, job and state machine, each with one inline policy that
//! allows only what that component does, on only the deployment's resources.

use serde_json::{Value, json};

/// A policy statement allowing `actions` on `resources`.
pub(crate) fn allow(actions: &[&str], resources: Vec<Value>) -> Value {
    json!({ "Effect": "Allow", "Action": actions, "Resource": resources })
}

/// An `AWS::IAM::Role` that `service` (`lambda.amazonaws.com`, …) assumes, with `statements`
/// as its inline policy. CloudFormation names it, so deploying needs only `CAPABILITY_IAM`.
pub(crate) fn role(service: &str, description: &str, statements: Vec<Value>) -> Value {
    role_with(service, description, statements, &[])
}

/// [`role`] with AWS managed policies as well.
pub(crate) fn role_with(
    service: &str,
    description: &str,
    statements: Vec<Value>,
    managed: &[Value],
) -> Value {
    let mut properties = json!({
        "Description": description,
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": service },
                "Action": "sts:AssumeRole"
            }]
        },
        "Policies": [{
            "PolicyName": "cirrus",
            "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
        }]
    });
    if !managed.is_empty() {
        properties["ManagedPolicyArns"] = Value::Array(managed.to_vec());
    }
    json!({ "Type": "AWS::IAM::Role", "Properties": properties })
}
