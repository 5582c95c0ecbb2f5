//! Validated domain types: parse, don't validate. Nothing here does IO.

pub mod account;
pub mod enterprise;
pub mod gate;
pub mod id;
pub mod org;
pub mod person;
pub mod region;
pub mod survey;
pub mod text;
pub mod vehicle;
pub mod visit;
pub mod zone;
