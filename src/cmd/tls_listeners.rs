//! The TLS listeners of `serve`: HTTPS (the same API as the HTTP one) and MQTTS, sharing
//! one certificate, reread on SIGHUP.

use std::sync::Arc;

use std::time::Duration;

use ferroflux::Config;
use ferroflux::config::TlsConfig;
use ferroflux::tls::{Certificates, TlsAccept};
use ferroflux::{App, app};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Time an MQTTS client has to finish its TLS handshake.
const MQTTS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads and checks the certificate before anything else starts: a bad file is one line
/// and a non-zero exit, not a listener that fails every handshake. The CA of `POST /certs`
/// is trusted for device certificates beside `FF_TLS_CLIENT_CA`.
pub fn load(config: &Config) -> anyhow::Result<Option<Arc<Certificates>>> {
    let Some((cert, key)) = config.tls.files() else {
        return Ok(None);
    };
    let issuing = config.certs.authority(&config.data_dir)?;
    Ok(Some(Certificates::load(
        &cert,
        &key,
        config.tls.device_ca().as_ref(),
        Some(issuing.cert_der()),
    )?))
}

/// Binds `FF_MQTTS_ADDR`; its connections are relayed to the MQTT listener at `broker`.
pub async fn listen_mqtts(
    config: &TlsConfig,
    certs: &Arc<Certificates>,
    app: &App,
    broker: std::net::SocketAddr,
) -> anyhow::Result<(TcpListener, TlsAccept)> {
    let listener = app::bind(config.mqtts_addr, "MQTTS", "FF_MQTTS_ADDR").await?;
    let acceptor = certs.acceptor(&[], &app.tls_stats)?;
    let acceptor = app.tls_accept(acceptor, MQTTS_HANDSHAKE_TIMEOUT);
    tracing::info!(
        "MQTTS listening on mqtts://{} (MQTT over TLS, relayed to the MQTT listener {broker})",
        listener.local_addr()?
    );
    Ok((listener, acceptor))
}

/// Binds `FF_HTTPS_ADDR` and starts rereading the certificate on SIGHUP.
pub async fn listen(
    config: &TlsConfig,
    certs: &Arc<Certificates>,
    app: &App,
) -> anyhow::Result<(TcpListener, TlsAcceptor)> {
    let listener = app::bind(config.https_addr, "HTTPS", "FF_HTTPS_ADDR").await?;
    let acceptor = certs.acceptor(&[b"http/1.1"], &app.tls_stats)?;
    tracing::info!(
        "HTTPS API listening on https://{} (the same API; certificate {}, reread on SIGHUP)",
        listener.local_addr()?,
        config
            .tls_cert
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string())
    );
    match config.device_ca() {
        Some(ca) => tracing::info!(
            "device certificates (mTLS) on HTTPS, MQTTS and WSS: signed by {} or by the CA of \
             /certs, CN = thing key, {}",
            ca.file.display(),
            match ca.required {
                true => "required of every TLS client",
                false => "optional (keys work too)",
            }
        ),
        None => tracing::info!(
            "device certificates (mTLS) on HTTPS, MQTTS and WSS: issued by POST /certs, \
             CN = thing key, optional (keys work too)"
        ),
    }
    tokio::spawn(reload_on_hangup(certs.clone()));
    Ok((listener, acceptor))
}

async fn reload_on_hangup(certs: Arc<Certificates>) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot watch SIGHUP: a renewed certificate needs a restart");
        return;
    };
    while hangups.recv().await.is_some() {
        match certs.reload() {
            Ok(()) => tracing::info!("TLS certificate reloaded; new connections use it"),
            Err(error) => {
                tracing::error!(%error, "TLS certificate not reloaded; the previous one stays in use")
            }
        }
    }
}
