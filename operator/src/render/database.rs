//! Where the project's Postgres answers. (The StatefulSet itself is the
//! next renderer to land.)

use supaplane_crds::Project;
use supaplane_crds::constants::project_namespace;

/// The Postgres Service of every project.
pub const SERVICE_NAME: &str = "db";
pub const DATABASE_NAME: &str = "postgres";
const PORT: i32 = 5432;

pub fn database_host(project: &Project) -> String {
    format!(
        "{SERVICE_NAME}.{}.svc",
        project_namespace(project.metadata.name.as_deref().unwrap_or_default())
    )
}

pub fn database_port() -> i32 {
    PORT
}
