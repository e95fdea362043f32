//! Local fakes of the real networks, written from their public documentation, for the tests:
//! the adapters run against them end to end (see the "Real networks" conventions in
//! `docs/architecture.md`). Nothing in the product uses them.

pub mod telegram;
pub mod whapi;
pub mod whatsapp_cloud;
