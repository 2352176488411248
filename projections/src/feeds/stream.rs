//! One Redis stream and the two ways we write it: entries with ids of our own, each
//! written at most once (the `mainflux.things` history), and live entries with Redis'
//! ids (`mainflux.mqtt` presence).
//!
//! Exactly once rests on Redis itself: `XADD` with an explicit id fails when the id is not
//! above the stream's last generated id ("equal or smaller than the target stream top
//! item"). Ids come from event positions, so a second write of an entry, by a restarted
//! writer or by another node, is refused, and the stream's last generated id *is* the
//! checkpoint: data and checkpoint move in one command, nothing can tear them apart.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::FeedError;
use super::things::{Entry, EntryId};

/// Appends a batch of entries in one atomic script call; an entry Redis already has (id
/// not above the top) is skipped, any other error aborts. Entries come in increasing id
/// order, so after a skip the rest still goes on top. Returns how many were written.
const APPEND: &str = r"
local written = 0
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i]}
  for j = 1, 2 * n do args[#args + 1] = ARGV[i + 1 + j] end
  local reply = redis.pcall(unpack(args))
  if type(reply) == 'table' and reply.err then
    if not string.find(reply.err, 'equal or smaller', 1, true) then return reply end
  else
    written = written + 1
  end
  i = i + 2 + 2 * n
end
return written
";

/// The stream's last generated id (kept by Redis even when trimming removed the entry),
/// or `0-0` when the stream does not exist.
const TOP: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return '0-0' end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return info[i + 1] end
end
return '0-0'
";

/// A command that takes longer than this counts as a failure and is retried: a writer
/// must notice a Redis that stopped answering.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to `url` (`redis://[user:password@]host:port[/db]`), failing fast at start; the
/// manager reconnects by itself later, and the writers retry around it.
pub async fn connect(url: &str) -> Result<ConnectionManager, FeedError> {
    let client = Client::open(url).map_err(|e| FeedError::Url(e.to_string()))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(2));
    let connect = ConnectionManager::new_with_config(client, config);
    match tokio::time::timeout(CONNECT_TIMEOUT * 2, connect).await {
        Ok(result) => result.map_err(|e| FeedError::Unreachable(e.to_string())),
        Err(_) => Err(FeedError::Unreachable(format!(
            "no answer in {} s",
            (CONNECT_TIMEOUT * 2).as_secs()
        ))),
    }
}

/// Checks the URL's shape without connecting (for `ferroflux config`).
pub fn check_url(url: &str) -> Result<(), FeedError> {
    Client::open(url)
        .map(|_| ())
        .map_err(|e| FeedError::Url(e.to_string()))
}

/// One stream: its key (prefix included) and cap.
#[derive(Clone)]
pub struct Stream {
    conn: ConnectionManager,
    key: String,
    maxlen: u64,
    append: Script,
    top: Script,
}

impl Stream {
    /// `maxlen` caps the stream approximately (`MAXLEN ~`), as Mainflux did (at 1000).
    pub fn new(conn: ConnectionManager, key: String, maxlen: u64) -> Self {
        Self {
            conn,
            key,
            maxlen,
            append: Script::new(APPEND),
            top: Script::new(TOP),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The id of the last entry ever written (0-0 for none): the checkpoint.
    pub async fn top(&self) -> Result<EntryId, FeedError> {
        let mut conn = self.conn.clone();
        let top: String = self.top.key(&self.key).invoke_async(&mut conn).await?;
        parse_id(&top).ok_or(FeedError::ForeignId(top))
    }

    /// Writes `entries` (increasing ids) atomically, skipping those already there.
    pub async fn append(&self, entries: &[Entry]) -> Result<u64, FeedError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut invocation = self.append.key(&self.key);
        invocation.arg(self.maxlen);
        for entry in entries {
            invocation.arg(entry.id.to_string()).arg(entry.fields.len());
            for (name, value) in &entry.fields {
                invocation.arg(*name).arg(value);
            }
        }
        let mut conn = self.conn.clone();
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    /// Appends live entries with ids Redis makes (`*`), pipelined, for presence.
    pub async fn add_live(&self, entries: &[Vec<(&'static str, String)>]) -> Result<(), FeedError> {
        let mut pipe = redis::pipe();
        for fields in entries {
            pipe.cmd("XADD")
                .arg(&self.key)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.maxlen)
                .arg("*");
            for (name, value) in fields {
                pipe.arg(*name).arg(value);
            }
            pipe.ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }
}

/// `<ms>-<seq>`; `None` for anything else.
fn parse_id(id: &str) -> Option<EntryId> {
    let (position, seq) = id.split_once('-')?;
    Some(EntryId {
        position: position.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse() {
        assert_eq!(
            parse_id("12-3"),
            Some(EntryId {
                position: 12,
                seq: 3
            })
        );
        assert_eq!(parse_id("12"), None);
    }
}
