//! A new connection up to CONNACK: read the CONNECT, authenticate through the gate,
//! attach the session. Its state is large and short-lived, so it runs boxed apart from the
//! connection's long life.

use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use bytestring::ByteString;
use domain::ids::ThingId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Broker;
use super::connection::Connection;
use super::inbound::{Connect, Hello, read_connect};
use super::registry::{Attach, Attached, Refused};
use super::wire::{Accepted, ConnackRefusal, Wire};
use crate::mqtt::gate::ConnectRefusal;

/// How long a new connection may take to send its CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// How long a session outlives its connection, at most (Mosquitto's order of magnitude).
const MAX_SESSION_EXPIRY_MS: u64 = 2 * 3600 * 1000;
/// Authentications tried when revocations keep racing a CONNECT.
const AUTHENTICATE_ATTEMPTS: usize = 3;
/// How many QoS 1 PUBLISHes a client may have unacknowledged by us (we ack at once).
const RECEIVE_MAX: NonZeroU16 = NonZeroU16::MAX;

pub(super) async fn serve(broker: Arc<Broker>, stream: TcpStream) {
    // The handshake's state is large and short-lived: boxed, so the task that lives on for
    // an idle client is only as large as its `Connection` and its wait (an idle fleet's
    // memory is mostly this).
    let Some(mut connection) = Box::pin(handshake(broker, stream)).await else {
        return;
    };
    let end = connection.run().await;
    connection.finish(end);
}

async fn handshake(broker: Arc<Broker>, mut stream: TcpStream) -> Option<Connection> {
    let _ = stream.set_nodelay(true);
    let mut input = BytesMut::new();
    let max = broker.limits.max_packet_size;
    let hello = tokio::time::timeout(CONNECT_WAIT, read_hello(&mut stream, &mut input, max));
    match hello.await {
        Ok(Some(Hello::Connect(wire, connect))) => {
            open(broker, stream, wire, *connect, input).await
        }
        Ok(Some(Hello::NoClientId(wire))) => {
            broker.gate.stats().count_connect_refused();
            let mut output = BytesMut::new();
            wire.connack_refused(&mut output, ConnackRefusal::IdentifierRejected);
            let _ = stream.write_all(&output).await;
            None
        }
        Ok(Some(Hello::UnacceptableVersion)) => {
            broker.gate.stats().count_connect_refused();
            // v3.1.1's "unacceptable protocol version", the one answer every level reads.
            let _ = stream.write_all(&[0x20, 2, 0, 1]).await;
            None
        }
        _ => None,
    }
}

/// The CONNECT, or `None` when the client closes or sends anything else first.
async fn read_hello(
    stream: &mut TcpStream,
    input: &mut BytesMut,
    max_packet_size: u32,
) -> Option<Hello> {
    loop {
        input.reserve(512);
        if stream.read_buf(input).await.ok()? == 0 {
            return None;
        }
        if let Some(hello) = read_connect(input, max_packet_size).ok()? {
            return Some(hello);
        }
    }
}

/// Authenticates the CONNECT, attaches the session and answers CONNACK.
async fn open(
    broker: Arc<Broker>,
    mut stream: TcpStream,
    mut wire: Wire,
    connect: Connect,
    input: BytesMut,
) -> Option<Connection> {
    let mut output = BytesMut::new();
    let expiry_ms = session_expiry_ms(&connect);
    let accepted = accept(&broker, &wire, &connect, expiry_ms);
    let (thing, attached, assigned) = match accepted {
        Ok(accepted) => accepted,
        Err(refusal) => {
            wire.connack_refused(&mut output, refusal);
            let _ = stream.write_all(&output).await;
            return None;
        }
    };
    wire.connack(
        &mut output,
        Accepted {
            session_present: attached.present,
            assigned_client_id: assigned,
            max_packet_size: broker.limits.max_packet_size,
            receive_max: RECEIVE_MAX,
            session_expiry: connect.session_expiry.map(|_| (expiry_ms / 1000) as u32),
        },
    );
    let client_limit = |max: Option<NonZeroU16>| max.map_or(usize::MAX, |m| usize::from(m.get()));
    let connection = Connection {
        thing,
        receive_max: client_limit(connect.receive_max).min(broker.limits.max_inflight),
        max_out_packet: connect
            .max_packet_size
            .map_or(usize::MAX, |m| m.get() as usize),
        will: connect.will.as_ref().map(|will| Box::new(will.owned())),
        expiry_ms,
        session: attached.session,
        generation: attached.generation,
        wake: attached.wake,
        broker,
        stream,
        wire,
        input,
        output,
        finished: false,
    };
    if attached.took_over {
        connection.broker.gate.disconnected(thing);
    }
    connection.broker.gate.connected(thing);
    tracing::info!(%thing, client_id = %connection.session.client_id, "MQTT connect");
    Some(connection)
}

type Accept = (ThingId, Attached, Option<ByteString>);

fn accept(
    broker: &Broker,
    wire: &Wire,
    connect: &Connect,
    expiry_ms: u64,
) -> Result<Accept, ConnackRefusal> {
    let refuse = |refusal| {
        broker.gate.stats().count_connect_refused();
        refusal
    };
    let mut assigned = None;
    // Without an id the client started clean (`Hello::NoClientId` otherwise): any id will do.
    let client_id = if connect.client_id.is_empty() {
        let id = ByteString::from(format!("ff-{}", uuid::Uuid::new_v4()));
        assigned = wire.is_v5().then(|| id.clone());
        id
    } else {
        connect.client_id.clone()
    };
    // A revocation between authenticating and attaching would miss this session: then
    // authenticate again, against the new state.
    for _ in 0..AUTHENTICATE_ATTEMPTS {
        let revocations_seen = broker.registry.revocations();
        let thing = authenticate(broker, connect)?;
        let attach = Attach {
            client_id: &client_id,
            thing,
            clean_start: connect.clean_start,
            persistent: expiry_ms > 0,
            keep_alive_ms: u64::from(connect.keep_alive) * 1000,
            now_ms: broker.now_ms(),
            revocations_seen,
            max_sessions: broker.limits.max_sessions_per_thing,
        };
        match broker.registry.attach(&broker.router, attach) {
            Ok(attached) => return Ok((thing, attached, assigned)),
            Err(Refused::Taken) => return Err(refuse(ConnackRefusal::NotAuthorized)),
            Err(Refused::Quota) => return Err(refuse(ConnackRefusal::QuotaExceeded)),
            Err(Refused::Stale) => continue,
        }
    }
    // Revocations kept coming: the client retries later.
    Err(refuse(ConnackRefusal::Unavailable))
}

fn authenticate(broker: &Broker, connect: &Connect) -> Result<ThingId, ConnackRefusal> {
    let will_topic = connect.will.as_ref().map(|w| &*w.topic);
    broker
        .gate
        .connect(
            connect.username.as_deref(),
            connect.password.as_deref(),
            will_topic,
        )
        .map_err(|refusal| match refusal {
            ConnectRefusal::BadCredentials => ConnackRefusal::BadCredentials,
            ConnectRefusal::NotAuthorized => ConnackRefusal::NotAuthorized,
        })
}

/// v3: a persistent session (not clean) lives on for the maximum; v5: as asked, capped.
fn session_expiry_ms(connect: &Connect) -> u64 {
    match connect.session_expiry {
        Some(secs) => (u64::from(secs) * 1000).min(MAX_SESSION_EXPIRY_MS),
        None if connect.clean_start => 0,
        None => MAX_SESSION_EXPIRY_MS,
    }
}
