//! The AWS side of Cirrus: stack generation, applying it, and the Lambda / Batch entry points.
//!
//! One error type for the crate: [`Error`].

pub mod config;
pub mod error;
pub mod lambda;
pub mod stack;

pub use error::{Error, Result};
