//! The real binary on good and bad files.
