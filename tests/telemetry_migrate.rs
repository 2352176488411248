//! `ferroflux migrate --telemetry-to postgres://…`: a data dir's fjall telemetry copied into
//! PostgreSQL, read back page for page as fjall reads it, resumed where a run stopped, and
//! never copied twice.

mod process;

use adapters::telemetry::contract::{channel, measurement, read};
use adapters::telemetry::{FjallTelemetryStore, PgTelemetryStore, TelemetryRecord, TelemetryStore};
use process::ferroflux;
use projections::views::postgres::ScratchDatabase;

fn migrate(data_dir: &std::path::Path, url: &str) -> String {
    let output = ferroflux(data_dir)
        .args(["migrate", "--telemetry-to", url])
        .output()
        .expect("run ferroflux migrate");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_is_copied_once_in_reader_order_and_a_stopped_copy_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (measured, opaque) = (channel(), channel());
    {
        let store = FjallTelemetryStore::open(&dir.path().join("telemetry")).unwrap();
        // Three records per time, saved over several batches: ties keep arrival order.
        for batch in 0..5u32 {
            let records = (0..500u32)
                .map(|n| {
                    let i = batch * 500 + n;
                    measurement(measured, 1000.0 + f64::from(i / 3) * 0.25, f64::from(i))
                })
                .collect();
            store.save(records).await.unwrap();
        }
        let blobs = (0..100u32)
            .map(|n| TelemetryRecord {
                payload: Some(format!("blob {n}").into_bytes().into()),
                ..TelemetryRecord::new(
                    measured,
                    adapters::telemetry::contract::thing(),
                    "http",
                    5.0,
                )
            })
            .map(|record| TelemetryRecord {
                channel: opaque,
                ..record
            })
            .collect();
        store.save(blobs).await.unwrap();
    }
    let server = commands::test_services::postgres_url();
    let database = ScratchDatabase::create(&server, "ff_migrate")
        .await
        .unwrap();

    // A run that stopped after its first batch: that batch and its position, nothing more.
    {
        let from = FjallTelemetryStore::open(&dir.path().join("telemetry")).unwrap();
        let into = PgTelemetryStore::connect(&database.url).await.unwrap();
        let first = from.export_after(None, 1024).unwrap();
        let last = first.last_key.clone().expect("a first batch");
        into.import(from.id(), first.records, &last).await.unwrap();
    }
    let stdout = migrate(dir.path(), &database.url);
    assert!(
        stdout.contains("migrated: 2600 telemetry records"),
        "{stdout}"
    );
    let stdout = migrate(dir.path(), &database.url);
    assert!(
        stdout.contains("migrated: 2600 telemetry records"),
        "{stdout}"
    );

    let fjall = FjallTelemetryStore::open(&dir.path().join("telemetry")).unwrap();
    let postgres = PgTelemetryStore::connect(&database.url).await.unwrap();
    for (ch, query) in [
        (measured, ""),
        (measured, "limit=100&offset=0"),
        (measured, "limit=100&offset=1020"),
        (measured, "limit=100&offset=2450"),
        (measured, "v=1500&comparator=ge&limit=7"),
        (opaque, "limit=100"),
    ] {
        let want = read(&fjall, ch, query).await;
        assert_eq!(read(&postgres, ch, query).await, want, "query {query:?}");
    }
    assert_eq!(read(&postgres, measured, "").await.total, 2500);
    assert_eq!(read(&postgres, opaque, "").await.total, 100);
}

#[test]
fn migrate_refuses_a_telemetry_target_that_is_no_postgres_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = ferroflux(dir.path())
        .args(["migrate", "--telemetry-to", "redis://127.0.0.1:1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("--telemetry-to must be a postgres:// URL"),
        "{stderr}"
    );
}
