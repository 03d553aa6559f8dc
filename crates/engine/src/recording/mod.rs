//! Recordings: each connection's records, kept so they can be read back by `seq`.
//!
//! `store` is the interface every recording keeps; `memory` keeps records compact in
//! memory. The byte layout of one record is the model's `codec`. Building records is the
//! connection tasks' job and delivering them the session's; a store only keeps them.

pub mod disk;
pub mod files;
pub mod memory;
pub mod merge;
pub mod store;

pub use disk::{DiskStore, Library};
pub use memory::MemoryStore;
pub use store::{RecordStore, StoreError};
