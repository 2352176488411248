//! Several streams in one append: one JetStream atomic batch whose messages go to several
//! subjects of the events stream, each stream's first message carrying the tip it expects.
//! The server stores the whole batch at consecutive sequences, or nothing.

use domain::ports::event_log::{AppendBatch, Appended, LogError, check_append_all};

use super::JetStreamEventLog;
use super::append::{MAX_EVENTS, Tip, outgoing};

impl JetStreamEventLog {
    /// `append_all` once this handle holds every stream's lock.
    pub(super) async fn append_batches(
        &self,
        batches: Vec<AppendBatch>,
    ) -> Result<Vec<Appended>, LogError> {
        check_append_all(&batches)?;
        let total: usize = batches.iter().map(|b| b.events.len()).sum();
        if batches.iter().any(|b| b.events.is_empty()) {
            return Err(LogError::Invalid(
                "an append needs at least one event".into(),
            ));
        }
        if total > MAX_EVENTS {
            return Err(LogError::Invalid(format!(
                "{total} events in one append (at most {MAX_EVENTS})"
            )));
        }
        let mut subjects = Vec::with_capacity(batches.len());
        let mut tips = Vec::with_capacity(batches.len());
        for batch in &batches {
            let subject = self.names.subject(&batch.stream)?;
            tips.push(
                self.tip(&batch.stream, &subject, batch.expected_version)
                    .await?,
            );
            subjects.push(subject);
        }
        let moved = batches
            .iter()
            .zip(&tips)
            .any(|(batch, tip)| tip.version != batch.expected_version);
        if moved {
            return self.all_refused(&batches, &tips).await;
        }
        match self.publish_all(&subjects, &batches, &tips).await? {
            Some(last) => {
                let mut position = last + 1 - total as u64;
                let mut outcomes = Vec::with_capacity(batches.len());
                for (batch, tip) in batches.iter().zip(&tips) {
                    let count = batch.events.len() as u64;
                    let appended = Appended {
                        stream: batch.stream.clone(),
                        first_position: position,
                        last_position: position + count - 1,
                        version: tip.version + count,
                        duplicate: false,
                    };
                    position += count;
                    self.remember(
                        &batch.stream,
                        Tip {
                            version: appended.version,
                            sequence: appended.last_position,
                        },
                    );
                    self.note_appended(batch.retry_id(), &appended);
                    outcomes.push(appended);
                }
                Ok(outcomes)
            }
            None => {
                let mut fresh = Vec::with_capacity(subjects.len());
                for (batch, subject) in batches.iter().zip(&subjects) {
                    let tip = self.fetch_tip(subject).await?;
                    self.remember(&batch.stream, tip);
                    fresh.push(tip);
                }
                self.all_refused(&batches, &fresh).await
            }
        }
    }

    /// A refused `append_all`: every batch appended before (the batch was atomic, so one
    /// found means all were), or a conflict on the first stream that moved.
    async fn all_refused(
        &self,
        batches: &[AppendBatch],
        tips: &[Tip],
    ) -> Result<Vec<Appended>, LogError> {
        let moved = batches
            .iter()
            .zip(tips)
            .find(|(batch, tip)| tip.version != batch.expected_version);
        let Some((batch, tip)) = moved else {
            // Refused while every tip read back as expected: an append racing this one;
            // the caller's next try reads again.
            return Err(LogError::Conflict {
                stream: batches[0].stream.clone(),
                expected: batches[0].expected_version,
                actual: tips[0].version,
            });
        };
        self.refused(batch, *tip).await?;
        let mut outcomes = Vec::with_capacity(batches.len());
        for (batch, tip) in batches.iter().zip(tips) {
            outcomes.push(self.refused(batch, *tip).await?);
        }
        Ok(outcomes)
    }

    /// Publishes every batch as one atomic batch; `Some(last sequence)` once stored,
    /// `None` when some stream's tip moved.
    async fn publish_all(
        &self,
        subjects: &[String],
        batches: &[AppendBatch],
        tips: &[Tip],
    ) -> Result<Option<u64>, LogError> {
        let mut messages = Vec::new();
        for ((batch, subject), tip) in batches.iter().zip(subjects).zip(tips) {
            messages.extend(outgoing(subject, batch, tip.sequence)?);
        }
        self.send(messages).await
    }
}
