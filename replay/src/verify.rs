//! Verify: a projection is right when a rebuild from position 0 reaches the same state.

use std::sync::Arc;

use domain::ports::event_log::EventLog;
use projections::{Projection, Projections};

use crate::{Progress, ReplayError, rebuild};

/// A projection whose live state differs from its rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub projection: &'static str,
    pub live: String,
    pub rebuilt: String,
}

/// Rebuilds `fresh` (empty projections, paired by position with `live`) and compares
/// digests. `live` must have applied the log up to its head.
pub async fn verify(
    log: Arc<dyn EventLog>,
    live: &[Arc<dyn Projection>],
    fresh: Vec<Arc<dyn Projection>>,
    progress: &mut dyn Progress,
) -> Result<Vec<Mismatch>, ReplayError> {
    let rebuilt = Projections::new(fresh.clone());
    rebuild(log, &rebuilt, progress).await?;
    Ok(live
        .iter()
        .zip(&fresh)
        .filter_map(|(live, fresh)| {
            let (a, b) = (live.digest(), fresh.digest());
            (a != b).then(|| Mismatch {
                projection: live.name(),
                live: a,
                rebuilt: b,
            })
        })
        .collect())
}
