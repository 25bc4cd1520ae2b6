//! Property tests: the client's decoding of arbitrary answers, the server's parsing of arbitrary
//! requests, and properties validation.

mod client_decoding;
mod properties;
mod server_requests;
