//! The local KooDrive-compatible server (axum + SQLite).
