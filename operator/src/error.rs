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

impl Error {
    /// What a failed write of `kind` `name` becomes:
    /// `.map_err(Error::applying("Secret", name))`.
    pub fn applying(
        kind: impl Into<String>,
        name: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Apply {
            kind: kind.into(),
            name: name.into(),
            source,
        }
    }

    /// What a failed read of `kind` `name` becomes.
    pub fn reading(
        kind: impl Into<String>,
        name: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Read {
            kind: kind.into(),
            name: name.into(),
            source,
        }
    }
}

/// A finalizer's failure as the reconcile's result. Removing the finalizer
/// of an object that is already gone is not one: a reconcile queued while
/// the object was being finalized runs once more after its deletion.
pub fn finalizer_outcome(
    error: kube::runtime::finalizer::Error<Error>,
) -> Result<kube::runtime::controller::Action> {
    match error {
        kube::runtime::finalizer::Error::RemoveFinalizer(error)
            if supaplane_crds::gone::is_not_found(&error) =>
        {
            Ok(kube::runtime::controller::Action::await_change())
        }
        error => Err(Error::Finalizer(Box::new(error))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::finalizer::Error as FinalizerError;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            ..Default::default()
        }))
    }

    #[test]
    fn a_finalizer_removed_from_a_gone_object_is_no_failure() {
        assert!(finalizer_outcome(FinalizerError::RemoveFinalizer(api_error(404))).is_ok());
        assert!(finalizer_outcome(FinalizerError::RemoveFinalizer(api_error(500))).is_err());
        assert!(finalizer_outcome(FinalizerError::AddFinalizer(api_error(404))).is_err());
    }
}
