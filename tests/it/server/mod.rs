//! The local server over HTTP: every endpoint and error code, the OpenAPI spec it serves, and
//! schemathesis as the outside check.

mod http;
mod locks;
mod openapi;
mod records;
mod schemathesis;
