//! Black-box tests of the HTTP API: the real application on a random port, on SQLite
//! and (with `TEST_POSTGRES_URL`) on PostgreSQL; every response is checked against
//! openapi.yaml. `browser` drives the driver's pages and each console role's main flow in
//! headless Chromium, at a phone's size and an office screen's.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;

mod activation;
mod audit;
mod auth;
mod blacklist;
mod browser;
mod browser_gate;
mod browser_survey_field;
mod browser_survey_office;
mod codes;
mod console;
mod console_admin;
mod console_contact;
mod console_dashboard;
mod console_gate;
mod console_oversight;
mod console_pages;
mod console_survey_field;
mod console_survey_office;
mod console_survey_queue;
mod contract;
mod database;
mod driver_pages;
mod enterprises;
mod errors;
mod forms;
mod gate;
mod gate_holds;
mod gate_offline;
mod org;
mod registrations;
mod roles;
mod sign_in;
mod survey;
mod survey_demands;
mod survey_discoveries;
mod survey_photo_question;
mod survey_scoring;
mod users;
