//! Slow and numerous clients, against the real binary: a request that never finishes its
//! headers is cut, an idle kept-alive connection is closed, a slow body is refused, and a
//! full connection table (HTTP or MQTT) makes new clients wait (logged) instead of
//! exhausting file descriptors, so `/health` keeps answering.

mod process;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use process::{Server, wait_for_line};

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Reads until the server closes the socket; true if it did (rather than time out).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// The start of the first response on `stream`.
fn response_head(stream: &mut TcpStream) -> String {
    let mut buffer = [0u8; 256];
    let n = stream.read(&mut buffer).unwrap_or(0);
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

fn health_answers(server: &Server) -> bool {
    let mut stream = connect(server);
    stream.write_all(HEALTH).unwrap();
    response_head(&mut stream).starts_with("HTTP/1.1 200")
}

#[test]
fn slowloris_sockets_are_cut_and_health_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_HTTP_HEADER_TIMEOUT", "1")]);
    let mut slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    assert!(
        health_answers(&server),
        "a complete request is served meanwhile"
    );
    let started = Instant::now();
    for stream in &mut slow {
        assert!(closed_by_server(stream), "an unfinished request is cut");
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(health_answers(&server));
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_HTTP_HEADER_TIMEOUT", "1")]);
    let mut stream = connect(&server);
    stream.write_all(HEALTH).unwrap();
    assert!(response_head(&mut stream).starts_with("HTTP/1.1 200"));
    assert!(closed_by_server(&mut stream), "idle after its request");
}

#[test]
fn a_body_that_never_arrives_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_HTTP_BODY_TIMEOUT", "1")]);
    let mut stream = connect(&server);
    let head = "POST /tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"email\":";
    stream.write_all(head.as_bytes()).unwrap();
    let answer = response_head(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
}

#[test]
fn a_full_connection_table_makes_new_clients_wait_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("FF_HTTP_MAX_CONNECTIONS", "4"),
            ("FF_HTTP_HEADER_TIMEOUT", "60"),
        ],
    );
    let mut holders: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    wait_for_line(&server.log, "HTTP connection limit reached");
    let mut waiting = connect(&server);
    waiting.write_all(HEALTH).unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buffer = [0u8; 64];
    let early = waiting.read(&mut buffer);
    assert!(
        early.is_err(),
        "not served while the table is full: {early:?}"
    );
    holders.pop();
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert!(
        response_head(&mut waiting).starts_with("HTTP/1.1 200"),
        "served once a slot frees"
    );
}

/// MQTT 3.1.1 CONNECT, client id "c", username "u", password "p".
const MQTT_CONNECT: [u8; 21] = [
    0x10, 19, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 60, 0, 1, b'c', 0, 1, b'u', 0, 1, b'p',
];

#[test]
fn a_full_mqtt_listener_makes_new_clients_wait_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("FF_MQTT_MAX_CONNECTIONS", "3")]);
    let mut holders: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&server.mqtt).unwrap())
        .collect();
    wait_for_line(&server.log, "MQTT connection limit reached");
    let mut waiting = TcpStream::connect(&server.mqtt).unwrap();
    waiting.write_all(&MQTT_CONNECT).unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut connack = [0u8; 4];
    assert!(waiting.read(&mut connack).is_err(), "no CONNACK while full");
    holders.pop();
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    waiting.read_exact(&mut connack).unwrap();
    assert_eq!(connack[0], 0x20, "a CONNACK once a slot frees");
    assert_ne!(connack[3], 0, "refused: no such thing");
    assert!(health_answers(&server));
}
