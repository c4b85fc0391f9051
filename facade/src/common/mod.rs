//! Common to every layer: errors and their Supabase-shaped bodies, Studio's
//! numeric ids, validation, configuration and the shapes answers share.

pub mod config;
pub mod error;
pub mod http;
pub mod ids;
pub mod secrets;
pub mod shapes;
pub mod validate;
