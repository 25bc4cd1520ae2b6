//! Property tests: the client's decoding of arbitrary answers, the server's parsing of arbitrary
//! requests, and properties validation.

mod client_decoding;
mod client_paths;
mod pending;
mod properties;
mod server_requests;
