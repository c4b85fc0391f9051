//! What a caller may do: roles, Studio's permissions, access to an
//! organization or project, and the project keys only some may read.

pub mod access;
pub mod permissions;
pub mod project_keys;
