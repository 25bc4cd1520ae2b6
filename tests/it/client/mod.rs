//! The KooDrive client against the local server and against loopback fakes of other servers.

mod devices;
mod errors;
mod fake_servers;
mod locks;
mod records;
mod retries;
mod skew;
