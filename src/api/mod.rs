//! The KooDrive client. Knows HTTP and JSON, nothing of terminals.

pub mod auth;
pub mod client;
pub mod error;
pub mod model;

pub use auth::{Credentials, Token};
pub use client::{Client, ClientOptions};
pub use error::ApiError;
pub use model::*;
