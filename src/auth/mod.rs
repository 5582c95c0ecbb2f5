//! Identity and access: passwords, tokens, sessions, login throttling, devices that
//! signed in before, and the caller of each request.

pub mod caller;
pub mod devices;
pub mod handlers;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod tokens;
