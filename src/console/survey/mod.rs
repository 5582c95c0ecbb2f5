//! The survey's console pages.

pub mod field;
pub mod questionnaire;
