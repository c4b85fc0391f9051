//! Calls on objects that may be gone already, where gone is as good as
//! done: one place that says what "not found" looks like.

use kube::Api;
use kube::api::DeleteParams;

/// Whether the API server answered that the object does not exist (by
/// code: an answer without a reason counts too).
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404 || status.is_not_found())
}

/// `result`, with "not found" counted as done (`None`).
pub fn gone_is_done<T>(result: Result<T, kube::Error>) -> Result<Option<T>, kube::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Deletes `name` unless it is gone already; answers whether it was there.
pub async fn delete_if_present<K>(
    api: &Api<K>,
    name: &str,
    params: &DeleteParams,
) -> Result<bool, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    Ok(gone_is_done(api.delete(name, params).await)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure("", "").with_code(code),
        ))
    }

    #[test]
    fn only_not_found_counts_as_done() {
        assert_eq!(gone_is_done::<()>(Err(answered(404))).ok(), Some(None));
        assert!(gone_is_done::<()>(Err(answered(409))).is_err());
        assert_eq!(gone_is_done(Ok(3)).ok(), Some(Some(3)));
    }
}
