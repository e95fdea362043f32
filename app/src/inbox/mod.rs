//! The inbox's state, shared by its panes.

mod events;
pub mod outbox;
pub mod state;
