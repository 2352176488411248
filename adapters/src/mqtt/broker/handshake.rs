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
use super::aliases::TOPIC_ALIAS_MAX;
use super::connection::Connection;
use super::inbound::{Connect, Hello, read_connect};
use super::packets::MAX_AWAITING_RELEASE;
use super::registry::{Attach, Attached, Refused};
use super::wire::{Accepted, ConnackRefusal, Wire};
use crate::mqtt::gate::ConnectRefusal;

/// How long a new connection may take to send its CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// Authentications tried when revocations keep racing a CONNECT.
const AUTHENTICATE_ATTEMPTS: usize = 3;
/// How many QoS 1 and 2 PUBLISHes a client may have unacknowledged by us: QoS 1 ones are
/// acknowledged at once, so this bounds the QoS 2 ones awaiting their PUBREL.
const RECEIVE_MAX: NonZeroU16 = NonZeroU16::new(MAX_AWAITING_RELEASE).expect("not zero");

pub(super) async fn serve(broker: Arc<Broker>, stream: TcpStream) {
    // The handshake's state is large and short-lived: boxed, so the task that lives on for
    // an idle client is only as large as its `Connection` and its wait (an idle fleet's
    // memory is mostly this).
    let Some(mut connection) = Box::pin(handshake(broker, stream)).await else {
        return;
    };
    let end = connection.run().await;
    if connection.finish(end) {
        // Boxed: the idle connection's task must not grow by this rare wait's state.
        Box::pin(connection.linger()).await;
    }
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
    let expiry_ms = session_expiry_ms(&broker, &connect);
    let keep_alive = keep_alive(&broker, &wire, &connect);
    let accepted = accept(&broker, &wire, &connect, expiry_ms, keep_alive);
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
            server_keep_alive: (keep_alive != connect.keep_alive).then_some(keep_alive),
            topic_alias_max: TOPIC_ALIAS_MAX,
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
        aliases: None,
        alias_max: connect.topic_alias_max,
        problem_info: connect.problem_info,
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
    keep_alive: u16,
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
            keep_alive_ms: u64::from(keep_alive) * 1000,
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
fn session_expiry_ms(broker: &Broker, connect: &Connect) -> u64 {
    match connect.session_expiry {
        Some(secs) => broker.session_expiry_ms(secs),
        None if connect.clean_start => 0,
        None => broker.limits.max_session_expiry_ms,
    }
}

/// The keep-alive the connection is held to: a v5 client asking for more than the cap gets
/// the cap (and is told, in CONNACK); 0 (none) stays 0. A v3 client cannot be told, so its
/// own value stands.
fn keep_alive(broker: &Broker, wire: &Wire, connect: &Connect) -> u16 {
    let cap = broker.limits.max_keep_alive;
    match wire.is_v5() && connect.keep_alive > cap {
        true => cap,
        false => connect.keep_alive,
    }
}
