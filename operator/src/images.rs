//! The pinned images live with the resource types, where the facade can
//! read them too (it offers the Postgres version to Studio).

pub use supaplane_crds::images::*;
