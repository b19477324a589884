//! Small system helpers shared by the applets.

pub mod stdio;
