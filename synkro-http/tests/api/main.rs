//! The JSON API over a real listener on port 0: authentication, CSRF, throttling, the access
//! matrix, error bodies, secrets and the ops endpoints, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

mod access;
mod auth;
mod browser;
mod dashboard;
mod deliveries;
mod errors;
mod exports;
mod ops;
mod scenario;
mod settings;
mod stream;
mod tokens;
mod users;
