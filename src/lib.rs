//! truckpass: one QR code per enterprise (一企一码) for an industrial zone. Truck
//! drivers scan it and register once; enterprise contacts approve filings and check
//! trucks in and out; regulators audit every entry; the zone surveys its enterprises.
//!
//! The binary (`src/main.rs`) is a thin command line over this library;
//! [`startup::Application`] builds and serves the whole product.
//!
//! # Code map
//!
//! - The vocabulary every module shares: [`domain`] (validated values: names, plates,
//!   documents, regions; ids, one type per kind, in [`domain::id`]; zone time in
//!   [`domain::zone`]), [`error`] (one error type; every code in [`error::ErrorCode`],
//!   which openapi.yaml lists), `db::mapping` (`text_enum!` and `id_type!`: stored
//!   states and ids mapped once to both databases).
//! - One folder per capability, each with its model (`mod.rs`), its JSON handlers
//!   (`handlers.rs`) and, where it has more, files by concern: [`enterprises`] (roster,
//!   import, exports), [`codes`] (the code's lifecycle, scans, [`codes::render`]),
//!   [`registrations`] (a driver's submission as one service in
//!   [`registrations::submit`], the public API in [`registrations::public`]),
//!   [`forms`], [`users`] (accounts; one-time activation codes, accounts in bulk and
//!   their printed sheet in [`users::activation`]), [`org`], [`auth`], [`audit`],
//!   [`survey`] (企业摸排: campaigns, cases and their assignment, visits on the
//!   escalation ladder, the coverage ledger), [`gate`] (门岗: gates, the check of a
//!   pass at entry and exit, who is inside, the scan log).
//! - What several lists share: [`pagination`], and [`exports`] (a list's filtered rows
//!   streamed as CSV or XLSX, page by page, audited).
//! - The driver's HTML pages are thin adapters over the same services: [`web`]; so
//!   are the staff console's pages under `/console/`: [`console`].
//! - The route table, with the roles of every route: [`startup`].

pub mod audit;
pub mod auth;
pub mod blacklist;
pub mod body;
pub mod client;
pub mod codes;
pub mod config;
pub mod console;
pub mod data_dir;
pub mod db;
pub mod domain;
pub mod enterprises;
pub mod error;
pub mod exports;
pub mod forms;
pub mod gate;
pub mod health;
pub mod heavy;
pub mod nul;
pub mod org;
pub mod pagination;
pub mod personal;
pub mod ratelimit;
pub mod registrations;
pub mod secrets;
pub mod startup;
pub mod state;
pub mod streaming;
pub mod survey;
pub mod telemetry;
pub mod users;
pub mod web;
