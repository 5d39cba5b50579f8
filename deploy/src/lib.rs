//! The AWS side of Cirrus: stack generation, applying it, and the Lambda / Batch entry points.
//!
//! One error type for the crate: [`Error`].

pub mod apply;
pub mod aws;
pub mod config;
pub mod deployment;
pub mod error;
pub mod execution;
pub mod fill_in;
pub mod lambda;
pub mod package;
pub mod stack;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
