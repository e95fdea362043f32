//! The inbox's state, shared by its panes.

pub mod state;
