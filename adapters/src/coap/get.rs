//! GET: an observe registration (authorize, take a place in the registry, hand over to the
//! observer's task) and the later blocks of a notification (Block2 without Observe).

use std::net::SocketAddr;
use std::sync::Arc;

use super::block::{Block, SZX_1024};
use super::format::Formats;
use super::notify::{self, Observation};
use super::refusal::{Refusal, code};
use super::reply::{Answer, Reply};
use super::request::Request;
use super::server::{Shared, etag, lock};
use super::wire::{Datagram, Kind};
use crate::bus::ChannelFilter;
use crate::subtopic::{TopicError, parse_subscribe_topic};

impl Shared {
    /// GET with Observe 0: authorize, take a place in the registry, and let the observer's
    /// task subscribe and answer.
    pub(super) fn register(
        self: &Arc<Self>,
        message: &Datagram<'_>,
        request: &Request<'_>,
        peer: SocketAddr,
        topic: &str,
        answer: &Answer,
    ) -> Result<(), Refusal> {
        let parsed = match parse_subscribe_topic(topic) {
            Ok(parsed) => Some(parsed),
            Err(TopicError::UnknownChannel) => None,
            Err(malformed) => return Err(malformed.into()),
        };
        let key = request.key.ok_or(Refusal::Unauthenticated)?;
        let Some((channel, filter)) = parsed else {
            self.pipeline.authenticate(key)?;
            return Err(Refusal::Forbidden);
        };
        let thing = self.pipeline.authorize(key, channel)?;
        let observer = (peer, message.token);
        let admitted = lock(&self.registry).admit(observer, thing, channel, key, request.path_hash);
        let (id, signal) =
            admitted.inspect_err(|e| self.count_cap(e, &self.stats.observers_capped))?;
        let szx = request
            .block2
            .map_or(self.config.block_szx, |block| block.szx)
            .min(SZX_1024);
        tokio::spawn(notify::observe(
            self.clone(),
            Observation {
                key: observer,
                id,
                signal,
                // Every protocol's messages, CoAP's own included: the adapter delivers nothing
                // itself, so the bus is the only path to observers.
                filter: ChannelFilter::channel(channel).with_subtopic(filter),
                confirmable: message.kind == Kind::Con,
                answer: *answer,
                request_mid: message.mid,
                szx,
            },
        ));
        Ok(())
    }

    /// GET with Block2 and no Observe: a later block of the endpoint's last notification
    /// on this path.
    pub(super) fn continue_block(
        &self,
        message: &Datagram<'_>,
        request: &Request<'_>,
        peer: SocketAddr,
        answer: &Answer,
        out: &mut Vec<u8>,
    ) -> Result<(), Refusal> {
        let wanted = request.block2.ok_or(Refusal::Malformed(
            "a GET observes (Observe 0) or continues a notification (Block2)",
        ))?;
        let last = {
            let registry = lock(&self.registry);
            let observer = registry.for_block(&(peer, message.token), request.path_hash);
            observer.and_then(|o| o.last.clone())
        };
        let (observe, last) = last.ok_or(Refusal::Malformed("no notification to continue"))?;
        let (range, block) = Block::slice(wanted.num, wanted.szx.min(SZX_1024), last.payload.len())
            .ok_or(Refusal::Malformed("Block2 beyond the end"))?;
        Reply {
            etag: Some(etag(observe)),
            content_format: Formats::number(last.content_type.as_ref()),
            block2: Some(block),
            payload: &last.payload[range],
            ..Reply::code(code::CONTENT)
        }
        .encode(out, answer);
        Ok(())
    }
}
