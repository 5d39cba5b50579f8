//! A CloudFormation template under construction, and the intrinsic functions it uses.

use crate::{Error, Result};
use serde_json::{Map, Value, json};

/// Resources, outputs and parameters, in the order they are added.
#[derive(Debug, Default)]
pub(crate) struct Template {
    parameters: Map<String, Value>,
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

impl Template {
    /// Adds a template parameter.
    pub(crate) fn parameter(&mut self, id: &str, parameter: Value) {
        self.parameters.insert(id.to_string(), parameter);
    }

    /// Adds resource `id`; two resources with one ID are an error naming `what` made them.
    pub(crate) fn add(&mut self, id: &str, resource: Value, what: &str) -> Result<()> {
        if self.resources.contains_key(id) {
            return Err(Error::config(
                what,
                format!(
                    "its CloudFormation logical ID {id} is taken by another resource (two names that differ only in punctuation?); rename one"
                ),
            ));
        }
        self.resources.insert(id.to_string(), resource);
        Ok(())
    }

    /// Adds output `id` (letters and digits).
    pub(crate) fn output(&mut self, id: &str, description: &str, value: Value) {
        self.outputs.insert(
            id.to_string(),
            json!({"Description": description, "Value": value}),
        );
    }

    /// Whether output `id` exists.
    pub(crate) fn has_output(&self, id: &str) -> bool {
        self.outputs.contains_key(id)
    }

    /// The template document.
    pub(crate) fn into_value(self, description: String) -> Value {
        json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": description,
            "Parameters": self.parameters,
            "Resources": self.resources,
            "Outputs": self.outputs,
        })
    }
}

/// `{"Ref": id}`.
pub(crate) fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

/// `{"Fn::GetAtt": [id, attribute]}`.
pub(crate) fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

/// `{"Fn::Sub": text}`.
pub(crate) fn sub(text: impl Into<String>) -> Value {
    json!({ "Fn::Sub": text.into() })
}

/// The ARN of an S3 bucket named by `Ref` of resource `id`, and of its objects.
pub(crate) fn bucket_arns(id: &str) -> [Value; 2] {
    [
        sub(format!("arn:${{AWS::Partition}}:s3:::${{{id}}}")),
        sub(format!("arn:${{AWS::Partition}}:s3:::${{{id}}}/*")),
    ]
}
