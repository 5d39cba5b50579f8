//! Built-in Cirrus tasks.
//!
//! This crate will hold the generic tasks (copy-assets, publish, preview, convert-to-cog) and
//! the hyperspectral (HSI) activator and product processors, which use GDAL behind a feature.
//!
//! **Status:** empty. No task is implemented yet; the `Task` trait they will implement does
//! not exist yet either. Nothing here should be relied on.
