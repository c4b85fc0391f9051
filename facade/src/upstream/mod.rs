//! Relays to a project's own services (pg-meta, GoTrue, Storage, logs).

pub mod crypto_js;
pub mod relay;
