//! The AWS side of Cirrus.
//!
//! This crate will render the CloudFormation stack for a project, apply it through the AWS
//! SDK, and provide the Lambda and Batch entry points.
//!
//! **Status:** empty. Nothing is deployable yet.
