//! The KooDrive client. Knows HTTP and JSON, nothing of terminals.
//!
//! `client` sends requests (credentials, X-Date, signatures, retries, size limits), `decode`
//! reads answers tolerantly, `backup` has one method per endpoint, `pages` walks cursors,
//! `sign` is the app-signature rule, `path` the one place ids become path segments, `tls` whom
//! the client trusts, `model` the wire types shared with the local server; `ping` sends
//! healthchecks-style pings (the one HTTP call that is not KooDrive's).

pub mod auth;
pub mod backup;
pub mod changes;
pub mod client;
pub mod decode;
pub mod devices;
pub mod error;
pub mod model;
pub mod pages;
pub mod path;
pub mod ping;
pub mod sign;
pub mod tls;

pub use auth::{Credentials, Scheme, Token};
pub use backup::Deleted;
pub use client::{Client, ClientOptions};
pub use error::ApiError;
pub use model::*;
pub use pages::DEFAULT_MAX_PAGES;
