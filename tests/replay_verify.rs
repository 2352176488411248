//! `replay::verify` compares live projections with a rebuild from position 0, and names the
//! one that differs.

use std::sync::Arc;

use commands::service::{CommandMeta, NewThing};
use domain::ports::event_log::EventLog;
use ferroflux::{App, Config};
use projections::{AuthzCache, Projection, Views};

fn fresh() -> Vec<Arc<dyn Projection>> {
    vec![Arc::new(Views::default()), Arc::new(AuthzCache::default())]
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_on_live_state_and_names_a_projection_that_missed_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let app = App::open(&config).await.unwrap();
    let service = &app.service;
    let meta = CommandMeta::new(None, None);
    let owner = service
        .register(
            &meta,
            "v@example.com".into(),
            "correct-horse".into(),
            None,
            true,
        )
        .await
        .unwrap();
    let things = vec![NewThing::default(); 5];
    service
        .create_things(&CommandMeta::new(Some(owner), None), owner, things)
        .await
        .unwrap();

    let log: Arc<dyn EventLog> = app.log.clone();
    let clean = replay::verify(log.clone(), &app.live, fresh(), &mut ())
        .await
        .unwrap();
    assert!(clean.is_empty(), "{clean:?}");

    // A views projection that skipped the last event, beside a correct authz cache.
    let stale = Arc::new(Views::default());
    let history = log.read_after(0, 1000).await.unwrap();
    for recorded in &history[..history.len() - 1] {
        stale.apply(recorded, &projections::runner::decode(recorded).unwrap());
    }
    let live: Vec<Arc<dyn Projection>> = vec![stale, app.live[1].clone()];
    let mismatches = replay::verify(log, &live, fresh(), &mut ()).await.unwrap();
    let names: Vec<_> = mismatches.iter().map(|m| m.projection).collect();
    assert_eq!(names, ["views"]);
}
