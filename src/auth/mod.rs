//! Identity and access: passwords, tokens, sessions, login throttling, devices that
//! signed in before, the caller of each request and the accounts behind recent
//! tokens.

pub mod caller;
pub mod devices;
pub mod handlers;
pub mod known;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod tokens;
