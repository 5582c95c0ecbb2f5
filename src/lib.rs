//! truckpass: one QR code per enterprise (一企一码) for an industrial zone. Truck
//! drivers scan it and register once; enterprise contacts approve filings and check
//! trucks in and out; regulators audit every entry; the zone surveys its enterprises.
//!
//! The binary (`src/main.rs`) is a thin command line over this library;
//! [`startup::Application`] builds and serves the whole product.

pub mod audit;
pub mod auth;
pub mod body;
pub mod client;
pub mod codes;
pub mod config;
pub mod data_dir;
pub mod db;
pub mod domain;
pub mod enterprises;
pub mod error;
pub mod forms;
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
pub mod telemetry;
pub mod users;
pub mod web;
