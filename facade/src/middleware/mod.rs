//! Guards every request passes: write limits, deadlines, and errors
//! answered as JSON.

pub mod answers;
pub mod audit;
pub mod limits;
