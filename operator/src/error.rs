//! What can go wrong while reconciling.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("applying {kind} {name}: {source}")]
    Apply {
        kind: String,
        name: String,
        source: kube::Error,
    },
    #[error("reading {kind} {name}: {source}")]
    Read {
        kind: String,
        name: String,
        source: kube::Error,
    },
    #[error("writing the status of {name}: {source}")]
    Status { name: String, source: kube::Error },
    #[error("the project's keys: {0}")]
    Keys(#[from] crate::keys::KeysError),
    #[error("finalizing: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    #[error("the organization still has {projects} project(s)")]
    DeletionBlocked { projects: u32 },
    #[error("the object has no {0}")]
    MissingField(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
