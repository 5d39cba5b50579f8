//! Helpers of the ASL differential test (`tests/workflow_differential.rs`) and of the corpus
//! benchmark (`benches/workflow_corpus.rs`), which includes this folder with `#[path]`.
//!
//! - [`corpus`]: the cases in `tests/asl/corpus/`, what an execution ended with
//!   ([`corpus::Outcome`]) and how it is compared with a case's `expected`;
//! - [`moto`]: running a definition on moto's Step Functions;
//! - [`ours`]: running a definition on our engine, with [`ours::MotoLikeLambda`], a resolver
//!   that answers Lambda tasks the way moto's "lambda-simple" backend does.

pub mod corpus;
pub mod moto;
pub mod ours;
