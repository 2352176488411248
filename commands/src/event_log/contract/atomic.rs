//! `append_all`: several streams stored together or not at all.

use domain::ports::event_log::{Appended, LogError};

use super::{LogFactory, batch, read_all};

pub async fn append_all_stores_every_stream_at_consecutive_positions<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    log.append(batch("channel-1", 0, 1)).await.expect("before");
    let batches = vec![
        batch("thing-1", 0, 2),
        batch("channel-1", 1, 1),
        batch("config-1", 0, 3),
    ];
    let appended = log.append_all(batches.clone()).await.expect("append_all");
    let at: Vec<_> = appended
        .iter()
        .map(|a| {
            (
                a.stream.as_str(),
                a.first_position,
                a.last_position,
                a.version,
            )
        })
        .collect();
    assert_eq!(
        at,
        vec![
            ("thing-1", 2, 3, 2),
            ("channel-1", 4, 4, 2),
            ("config-1", 5, 7, 3)
        ]
    );
    assert_eq!(log.head().await, Ok(7));
    assert_eq!(log.read_stream("channel-1").await.expect("read").len(), 2);
    assert_eq!(log.read_stream("config-1").await.expect("read").len(), 3);
    for (batch, outcome) in batches.iter().zip(&appended) {
        let found = log.find_command(batch.command_id).await.expect("find");
        assert_eq!(
            found.as_ref().map(|a| a.last_position),
            Some(outcome.last_position)
        );
    }

    // The same commands again: nothing new, the first outcomes as duplicates.
    let again = log.append_all(batches).await.expect("retry");
    let want: Vec<Appended> = appended
        .into_iter()
        .map(|a| Appended {
            duplicate: true,
            ..a
        })
        .collect();
    assert_eq!(again, want);
    assert_eq!(log.head().await, Ok(7));
}

pub async fn append_all_with_one_conflict_writes_nothing<F: LogFactory>(factory: &F) {
    let log = factory.open("main").await;
    log.append(batch("channel-1", 0, 1)).await.expect("before");
    // The last batch expects a stream that already exists to be new.
    let refused = log
        .append_all(vec![
            batch("thing-1", 0, 2),
            batch("channel-2", 0, 1),
            batch("channel-1", 0, 1),
        ])
        .await;
    assert!(
        matches!(refused, Err(LogError::Conflict { ref stream, .. }) if stream == "channel-1"),
        "{refused:?}"
    );
    assert_eq!(log.head().await, Ok(1));
    assert_eq!(read_all(log.as_ref()).await.len(), 1);
    assert_eq!(log.read_stream("thing-1").await, Ok(vec![]));
    assert_eq!(log.read_stream("channel-2").await, Ok(vec![]));

    // A stale expected version in the middle refuses the batch as well.
    let refused = log
        .append_all(vec![batch("thing-1", 0, 1), batch("channel-1", 5, 1)])
        .await;
    assert!(
        matches!(refused, Err(LogError::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(log.head().await, Ok(1));

    // Two batches to one stream are the caller's bug.
    let twice = log
        .append_all(vec![batch("thing-1", 0, 1), batch("thing-1", 1, 1)])
        .await;
    assert!(matches!(twice, Err(LogError::Invalid(_))), "{twice:?}");
    let none = log.append_all(Vec::new()).await;
    assert!(matches!(none, Err(LogError::Invalid(_))), "{none:?}");
    assert_eq!(log.head().await, Ok(1));
}
