//! The inbox's state, shared by its panes.

mod actions;
pub mod desk;
mod events;
pub mod jump;
pub mod notify;
pub mod outbox;
pub mod state;
mod thread;
