//! Test harnesses (feature `testing`). Not written yet.
