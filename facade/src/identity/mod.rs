//! Who is calling: session tokens checked against GoTrue's keys, personal
//! access tokens, and the middleware that turns either into a `Caller`.

pub mod access_tokens;
pub mod caller;
pub mod jwks;
pub mod middleware;
pub mod session;
