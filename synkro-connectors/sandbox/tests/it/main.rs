//! Integration tests: real HTTP requests (reqwest) against a started sandbox.
#![allow(clippy::unwrap_used, missing_docs)]

mod ai;
mod amocrm;
mod common;
mod data;
mod faults;
mod radist;
mod supabase;
mod telegram;
