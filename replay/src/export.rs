//! History as NDJSON, for third-party consumers and backups.

use std::io::Write;

use domain::ports::event_log::EventLog;

use crate::ReplayError;

/// Writes every event with position > `after`; with `follow`, keeps writing live appends
/// until the log closes or the output fails (a closed pipe ends it cleanly).
pub async fn export_ndjson(
    log: &dyn EventLog,
    after: u64,
    follow: bool,
    out: &mut dyn Write,
) -> Result<u64, ReplayError> {
    if follow {
        let mut subscription = log.subscribe(after).await?;
        loop {
            let event = subscription.next().await?;
            write_line(out, &event)?;
            out.flush()?;
        }
    }
    let mut written = 0;
    let mut cursor = after;
    loop {
        let batch = log.read_after(cursor, 4096).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.position;
        for event in &batch {
            write_line(out, event)?;
        }
        written += batch.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

fn write_line(out: &mut dyn Write, event: &domain::envelope::RecordedEvent) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    out.write_all(b"\n")
}
