//! The inbox's state, shared by its panes.

mod actions;
mod events;
pub mod outbox;
pub mod state;
