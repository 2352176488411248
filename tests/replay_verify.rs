//! `replay::verify` compares live projections with a rebuild from position 0, and names the
//! one that differs.

use std::sync::Arc;

use commands::service::{CommandMeta, NewThing};
use domain::ports::event_log::EventLog;
use ferroflux::{App, Config};
use projections::{AuthzCache, CertRegistry, Projection, Views};

/// Fresh projections in the order of `App::live`.
fn fresh() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(Views::default()),
        Arc::new(AuthzCache::default()),
        Arc::new(CertRegistry::default()),
    ]
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
    let things = service
        .create_things(&CommandMeta::new(Some(owner), None), owner, things)
        .await
        .unwrap();
    // Two certificates, one revoked: the revoked set is part of what a rebuild must match.
    let meta = || CommandMeta::new(Some(owner), None);
    let mut serials = Vec::new();
    for _ in 0..2 {
        let issued = service
            .issue_cert(
                &meta(),
                owner,
                things[0].row.id,
                domain::cert::KeySpec::Ecdsa(256),
                std::time::Duration::from_secs(3600),
            )
            .await
            .unwrap();
        serials.push(issued.serial);
    }
    service
        .revoke_cert(&meta(), owner, &serials[0])
        .await
        .unwrap();

    let log: Arc<dyn EventLog> = app.log.clone();
    let clean = replay::verify(log.clone(), &app.live, fresh(), &mut ())
        .await
        .unwrap();
    assert!(clean.is_empty(), "{clean:?}");
    assert_eq!(app.live[2].name(), "certs");

    // A certificate registry that missed the revocation differs from its rebuild.
    let unrevoked = Arc::new(CertRegistry::default());
    let history = log.read_after(0, 1000).await.unwrap();
    for recorded in history.iter().filter(|r| r.kind != "cert.revoke") {
        unrevoked.apply(recorded, &projections::runner::decode(recorded).unwrap());
    }
    assert!(!unrevoked.is_revoked(&serials[0]));
    let live: Vec<Arc<dyn Projection>> = vec![app.live[0].clone(), app.live[1].clone(), unrevoked];
    let mismatches = replay::verify(log.clone(), &live, fresh(), &mut ())
        .await
        .unwrap();
    let names: Vec<_> = mismatches.iter().map(|m| m.projection).collect();
    assert_eq!(names, ["certs"]);

    // A views projection that skipped the last event, beside a correct authz cache.
    let stale = Arc::new(Views::default());
    let history = log.read_after(0, 1000).await.unwrap();
    for recorded in &history[..history.len() - 1] {
        stale.apply(recorded, &projections::runner::decode(recorded).unwrap());
    }
    let live: Vec<Arc<dyn Projection>> = vec![stale, app.live[1].clone(), app.live[2].clone()];
    let mismatches = replay::verify(log, &live, fresh(), &mut ()).await.unwrap();
    let names: Vec<_> = mismatches.iter().map(|m| m.projection).collect();
    assert_eq!(names, ["views"]);
}
