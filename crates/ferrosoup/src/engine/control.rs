//! Commands from the handles: creating, connecting, pausing and closing objects.

use std::collections::HashMap;
use std::time::Instant;

use super::consumer::ConsumerState;
use super::ice::IceLite;
use super::producer::ProducerState;
use super::transport::{TransportKey, TransportState};
use super::{Engine, ProducerKey, RouterState};
use crate::certificate;
use crate::consumer::{ConsumerInfo, ConsumerType};
use crate::ids::{ConsumerId, ProducerId, RouterId, TransportId};
use crate::ortc;
use crate::producer::ProducerInfo;
use crate::router::RouterEvent;
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters};
use crate::transport::{DtlsParameters, DtlsRole, DtlsState, IceCandidate, WebRtcTransportInfo};
use crate::worker::Command;
use crate::Error;

pub(super) fn handle(engine: &mut Engine, now: Instant, command: Command) {
    match command {
        Command::CreateRouter {
            id,
            capabilities,
            events,
            reply,
        } => {
            engine.routers.insert(
                id,
                RouterState {
                    capabilities,
                    events,
                    transports: Vec::new(),
                    producers: HashMap::new(),
                },
            );
            let _ = reply.send(Ok(()));
        }
        Command::CloseRouter { id } => close_router(engine, now, id),
        Command::CreateWebRtcTransport {
            router_id,
            id,
            reply,
        } => {
            let _ = reply.send(create_webrtc_transport(engine, router_id, id));
        }
        Command::ConnectWebRtcTransport {
            id,
            dtls_parameters,
            reply,
        } => {
            let _ = reply.send(connect_webrtc_transport(engine, now, id, dtls_parameters));
        }
        Command::CreatePlainTransport {
            router_id,
            id,
            setup,
            socket_count,
            reply,
            ..
        } => {
            let result = super::plain::create(engine, now, router_id, id, setup, socket_count);
            let _ = reply.send(result);
        }
        Command::ConnectPlainTransport {
            id,
            parameters,
            reply,
        } => {
            let _ = reply.send(super::plain::connect(engine, now, id, parameters));
        }
        Command::GetPlainTransport { id, reply } => {
            let _ = reply.send(super::plain::data(engine, id));
        }
        Command::CloseTransport { id } => {
            if let Some(key) = engine.transport_ids.get(&id).copied() {
                close_transport(engine, now, key);
            }
        }
        Command::Produce {
            transport_id,
            id,
            kind,
            rtp_parameters,
            paused,
            screen_share,
            reply,
        } => {
            let _ = reply.send(produce(
                engine,
                transport_id,
                id,
                kind,
                rtp_parameters,
                paused,
                screen_share,
            ));
        }
        Command::SetProducerPaused { id, paused, reply } => {
            let _ = reply.send(set_producer_paused(engine, now, id, paused));
        }
        Command::CloseProducer { id } => {
            if let Some(key) = engine.producer_ids.get(&id).copied() {
                close_producer(engine, key);
            }
        }
        Command::Consume {
            transport_id,
            id,
            producer_id,
            rtp_capabilities,
            paused,
            reply,
        } => {
            let _ = reply.send(consume(
                engine,
                now,
                transport_id,
                id,
                producer_id,
                &rtp_capabilities,
                paused,
            ));
        }
        Command::CanConsume {
            router_id,
            producer_id,
            rtp_capabilities,
            reply,
        } => {
            let result = engine
                .routers
                .get(&router_id)
                .and_then(|r| r.producers.get(&producer_id))
                .and_then(|k| engine.producers.get(*k))
                .map(|p| ortc::can_consume(&p.consumable, &rtp_capabilities))
                .ok_or_else(|| Error::not_found("producer", producer_id));
            let _ = reply.send(result);
        }
        Command::SetConsumerPaused { id, paused, reply } => {
            let _ = reply.send(set_consumer_paused(engine, now, id, paused));
        }
        Command::RequestConsumerKeyFrame { id, reply } => {
            let result = match engine.consumer_ids.get(&id).copied() {
                Some(key) => {
                    if let Some((producer, stream)) = engine
                        .consumers
                        .get(key)
                        .map(|c| (c.producer, c.wanted_stream()))
                    {
                        super::rtcp::request_key_frame(engine, now, producer, Some(stream));
                    }
                    Ok(())
                }
                None => Err(Error::not_found("consumer", id)),
            };
            let _ = reply.send(result);
        }
        Command::CloseConsumer { id } => {
            if let Some(key) = engine.consumer_ids.get(&id).copied() {
                close_consumer(engine, key);
            }
        }
        Command::SetConsumerPreferredLayers { id, layers, reply } => {
            let result = consumer_key(engine, id).map(|key| {
                if let Some(c) = engine.consumers.get_mut(key) {
                    if let Some(selector) = c.layers.as_mut() {
                        selector.set_preferred(layers);
                    }
                    let transport = c.transport;
                    super::congestion::allocate_transport(engine, now, transport);
                }
            });
            let _ = reply.send(result);
        }
        Command::SetConsumerPriority {
            id,
            priority,
            reply,
        } => {
            let result = consumer_key(engine, id).map(|key| {
                if let Some(c) = engine.consumers.get_mut(key) {
                    c.priority = priority.max(1);
                    let transport = c.transport;
                    super::congestion::allocate_transport(engine, now, transport);
                }
            });
            let _ = reply.send(result);
        }
        Command::GetConsumerStats { id, reply } => {
            let result = consumer_key(engine, id).and_then(|key| {
                engine
                    .consumers
                    .get(key)
                    .map(|c| engine.consumer_stats(c))
                    .ok_or_else(|| Error::not_found("consumer", id))
            });
            let _ = reply.send(result);
        }
        Command::GetProducerStats { id, reply } => {
            let result = engine
                .producer_ids
                .get(&id)
                .and_then(|key| engine.producers.get(*key))
                .map(|p| engine.producer_stats(p))
                .ok_or_else(|| Error::not_found("producer", id));
            let _ = reply.send(result);
        }
        Command::GetTransportStats { id, reply } => {
            let result = engine
                .transport_ids
                .get(&id)
                .and_then(|key| engine.transports.get(*key))
                .map(|t| engine.transport_stats(t))
                .ok_or_else(|| Error::not_found("transport", id));
            let _ = reply.send(result);
        }
        Command::DescribePipeSource {
            router_id,
            producer_id,
            reply,
        } => {
            let _ = reply.send(super::pipe::describe_source(engine, router_id, producer_id));
        }
        Command::CreatePipeProducer {
            router_id,
            source,
            end,
            reply,
        } => {
            let _ = reply.send(super::pipe::create_pipe_producer(
                engine, router_id, source, end,
            ));
        }
        Command::AddPipeSink {
            producer_id,
            sink,
            reply,
        } => {
            let _ = reply.send(super::pipe::add_sink(engine, now, producer_id, sink));
        }
        Command::Dump { reply } => {
            let _ = reply.send(engine.dump());
        }
    }
}

fn consumer_key(engine: &Engine, id: ConsumerId) -> Result<super::ConsumerKey, Error> {
    engine
        .consumer_ids
        .get(&id)
        .copied()
        .ok_or_else(|| Error::not_found("consumer", id))
}

fn create_webrtc_transport(
    engine: &mut Engine,
    router_id: RouterId,
    id: TransportId,
) -> Result<WebRtcTransportInfo, Error> {
    if !engine.routers.contains_key(&router_id) {
        return Err(Error::not_found("router", router_id));
    }
    let identity = certificate::identity()?;
    let locals: Vec<_> = engine.candidates.iter().map(|c| c.local).collect();
    let ice = IceLite::new(&locals);
    let info = WebRtcTransportInfo {
        id,
        ice_parameters: ice.parameters().clone(),
        ice_candidates: engine
            .candidates
            .iter()
            .map(|c| IceCandidate {
                foundation: "udpcandidate".into(),
                priority: c.priority,
                address: c.address.clone(),
                ip: c.address.clone(),
                protocol: "udp".into(),
                port: c.local.port(),
                kind: "host".into(),
            })
            .collect(),
        dtls_parameters: DtlsParameters {
            role: DtlsRole::Auto,
            fingerprints: vec![identity.fingerprint.clone()],
        },
    };
    let ufrag = ice.parameters().username_fragment.clone();
    let key = engine
        .transports
        .insert(TransportState::new(id, router_id, ice));
    engine.transport_ids.insert(id, key);
    engine.by_ufrag.insert(ufrag, key);
    if let Some(router) = engine.routers.get_mut(&router_id) {
        router.transports.push(key);
    }
    Ok(info)
}

fn connect_webrtc_transport(
    engine: &mut Engine,
    now: Instant,
    id: TransportId,
    dtls_parameters: DtlsParameters,
) -> Result<(), Error> {
    let key = *engine
        .transport_ids
        .get(&id)
        .ok_or_else(|| Error::not_found("transport", id))?;
    if dtls_parameters.fingerprints.is_empty() {
        return Err(Error::InvalidState(
            "dtlsParameters has no fingerprint".into(),
        ));
    }
    let t = &mut engine.transports[key];
    if t.dtls.state() != DtlsState::New || t.pending_dtls.is_some() {
        return Err(Error::InvalidState("transport already connected".into()));
    }
    // As DTLS client, wait for ICE: the ClientHello needs a path to the client.
    let we_are_client = matches!(dtls_parameters.role, DtlsRole::Server | DtlsRole::Auto);
    t.pending_dtls = Some(dtls_parameters);
    if !we_are_client || t.selected.is_some() {
        engine.start_pending_dtls(now, key);
    }
    Ok(())
}

fn produce(
    engine: &mut Engine,
    transport_id: TransportId,
    id: ProducerId,
    kind: MediaKind,
    mut rtp_parameters: RtpParameters,
    paused: bool,
    screen_share: bool,
) -> Result<ProducerInfo, Error> {
    let tkey = *engine
        .transport_ids
        .get(&transport_id)
        .ok_or_else(|| Error::not_found("transport", transport_id))?;
    let router_id = engine.transports[tkey].router;
    let router = engine
        .routers
        .get(&router_id)
        .ok_or_else(|| Error::not_found("router", router_id))?;
    ortc::validate_rtp_parameters(&mut rtp_parameters)?;
    // One CNAME for all of a transport's producers: the first one given, else a random one. Browsers sending
    // simulcast by rid signal none, and receivers need one (mediasoup-client puts it in the msid).
    let cname = engine.transports[tkey]
        .cname_for_producers
        .get_or_insert_with(|| {
            rtp_parameters
                .rtcp
                .cname
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| format!("{:08x}", rand::random::<u32>()))
        })
        .clone();
    rtp_parameters.rtcp.cname = Some(cname);
    let mapping = ortc::get_producer_rtp_parameters_mapping(&rtp_parameters, &router.capabilities)?;
    let consumable =
        ortc::get_consumable_rtp_parameters(kind, &rtp_parameters, &router.capabilities, &mapping)?;

    let t = &engine.transports[tkey];
    // A second producer may not claim an SSRC or mid this transport already routes.
    for encoding in &rtp_parameters.encodings {
        for ssrc in [encoding.ssrc, encoding.rtx.map(|r| r.ssrc)]
            .into_iter()
            .flatten()
        {
            if t.ssrc_table.contains_key(&ssrc) || t.rtx_ssrc_table.contains_key(&ssrc) {
                return Err(Error::InvalidState(format!("ssrc {ssrc} already in use")));
            }
        }
    }
    if let Some(mid) = &rtp_parameters.mid {
        if t.mid_table.contains_key(mid) {
            return Err(Error::InvalidState(format!("mid {mid} already in use")));
        }
    }

    let mut state = ProducerState::new(
        id,
        router_id,
        tkey,
        kind,
        rtp_parameters,
        consumable,
        &mapping,
        &router.capabilities,
        paused,
    )?;
    state.screen_share = screen_share;
    let info = state.info();
    let key = engine.producers.insert(state);
    let p = &engine.producers[key];
    let t = &mut engine.transports[tkey];
    for (index, stream) in p.streams.iter().enumerate() {
        if let Some(ssrc) = stream.ssrc {
            t.ssrc_table.insert(ssrc, (key, index));
        }
        if let Some(ssrc) = stream.rtx_ssrc {
            t.rtx_ssrc_table.insert(ssrc, (key, index));
        }
    }
    if let Some(mid) = &p.rtp_parameters.mid {
        t.mid_table.insert(mid.clone(), key);
    }
    if p.twcc_ext != 0 {
        t.twcc_ext = p.twcc_ext;
    }
    t.producers.push(key);
    engine.producer_ids.insert(id, key);
    if let Some(router) = engine.routers.get_mut(&router_id) {
        router.producers.insert(id, key);
    }
    Ok(info)
}

fn consume(
    engine: &mut Engine,
    now: Instant,
    transport_id: TransportId,
    id: ConsumerId,
    producer_id: ProducerId,
    rtp_capabilities: &RtpCapabilities,
    paused: bool,
) -> Result<ConsumerInfo, Error> {
    let tkey = *engine
        .transport_ids
        .get(&transport_id)
        .ok_or_else(|| Error::not_found("transport", transport_id))?;
    let router_id = engine.transports[tkey].router;
    let pkey = *engine
        .routers
        .get(&router_id)
        .and_then(|r| r.producers.get(&producer_id))
        .ok_or_else(|| Error::not_found("producer", producer_id))?;
    let p = &engine.producers[pkey];
    if !ortc::can_consume(&p.consumable, rtp_capabilities) {
        return Err(Error::CannotConsume(
            "no codec of the producer is in the given rtpCapabilities".into(),
        ));
    }
    let mut rtp_parameters =
        ortc::get_consumer_rtp_parameters(&p.consumable, rtp_capabilities, false, true)?;
    let t = &mut engine.transports[tkey];
    rtp_parameters.mid = Some(t.next_mid.to_string());
    t.next_mid = t.next_mid.wrapping_add(1);
    let consumer_type = match p.producer_type {
        crate::producer::ProducerType::Simple => ConsumerType::Simple,
        crate::producer::ProducerType::Simulcast => ConsumerType::Simulcast,
        crate::producer::ProducerType::Svc => ConsumerType::Svc,
    };
    let state = ConsumerState::new(id, pkey, p, tkey, rtp_parameters, paused)?;
    let info = ConsumerInfo {
        id,
        producer_id,
        transport_id,
        kind: p.kind,
        consumer_type,
        rtp_parameters: state.rtp_parameters.clone(),
        producer_paused: p.paused,
    };
    let ssrcs = [Some(state.ssrc), state.rtx_ssrc];
    let transport_cc = state.twcc_ext != 0;
    let key = engine.consumers.insert(state);
    for ssrc in ssrcs.into_iter().flatten() {
        t.consumer_ssrcs.insert(ssrc, key);
    }
    t.consumers.push(key);
    engine.producers[pkey].consumers.push(key);
    engine.consumer_ids.insert(id, key);
    if transport_cc {
        super::congestion::ensure_bwe(engine, now, tkey);
    }
    Ok(info)
}

fn set_producer_paused(
    engine: &mut Engine,
    now: Instant,
    id: ProducerId,
    paused: bool,
) -> Result<(), Error> {
    let key = *engine
        .producer_ids
        .get(&id)
        .ok_or_else(|| Error::not_found("producer", id))?;
    set_producer_paused_key(engine, now, key, paused);
    Ok(())
}

pub(super) fn set_producer_paused_key(
    engine: &mut Engine,
    now: Instant,
    key: ProducerKey,
    paused: bool,
) {
    let Some(p) = engine.producers.get_mut(key) else {
        return;
    };
    if p.paused == paused {
        return;
    }
    p.paused = paused;
    super::pipe::send_paused(&p.pipe_sinks, paused);
    for ckey in p.consumers.clone() {
        if let Some(c) = engine.consumers.get_mut(ckey) {
            c.set_producer_paused(paused);
        }
    }
    if !paused && engine.producers[key].kind == MediaKind::Video {
        super::rtcp::request_key_frame(engine, now, key, None);
    }
}

fn set_consumer_paused(
    engine: &mut Engine,
    now: Instant,
    id: ConsumerId,
    paused: bool,
) -> Result<(), Error> {
    let key = *engine
        .consumer_ids
        .get(&id)
        .ok_or_else(|| Error::not_found("consumer", id))?;
    let c = &mut engine.consumers[key];
    let was_active = c.is_active();
    c.set_paused(paused);
    if !was_active && c.is_active() && c.kind == MediaKind::Video {
        let transport = c.transport;
        // Pick the layers the link allows before asking for the key frame of the stream to start with.
        super::congestion::allocate_transport(engine, now, transport);
        if let Some((producer, stream)) = engine
            .consumers
            .get(key)
            .map(|c| (c.producer, c.wanted_stream()))
        {
            super::rtcp::request_key_frame(engine, now, producer, Some(stream));
        }
    }
    Ok(())
}

pub(super) fn close_router(engine: &mut Engine, now: Instant, id: RouterId) {
    let Some(router) = engine.routers.get(&id) else {
        return;
    };
    for key in router.transports.clone() {
        close_transport(engine, now, key);
    }
    // What is left are pipe producers, which belong to no transport.
    if let Some(router) = engine.routers.get(&id) {
        for key in router.producers.values().copied().collect::<Vec<_>>() {
            close_producer(engine, key);
        }
    }
    engine.routers.remove(&id);
}

pub(super) fn close_transport(engine: &mut Engine, now: Instant, key: TransportKey) {
    let Some(t) = engine.transports.get(key) else {
        return;
    };
    for ckey in t.consumers.clone() {
        close_consumer(engine, ckey);
    }
    for pkey in engine.transports[key].producers.clone() {
        close_producer(engine, pkey);
    }
    let Some(mut t) = engine.transports.remove(key) else {
        return;
    };
    let selected = t.selected;
    let outbox = &mut engine.outbox;
    t.dtls.close(now, &mut |p| {
        if let Some((socket, to)) = selected {
            outbox.push_copy(socket, to, p);
        }
    });
    engine.transport_ids.remove(&t.id);
    if let Some(plain) = &t.plain {
        super::plain::release_sockets(engine, plain);
    }
    engine
        .by_ufrag
        .remove(&t.ice.parameters().username_fragment);
    for tuple in &t.remotes {
        if engine.by_remote.get(tuple) == Some(&key) {
            engine.by_remote.remove(tuple);
        }
    }
    if let Some(router) = engine.routers.get_mut(&t.router) {
        router.transports.retain(|k| *k != key);
    }
}

/// Closes a producer and, with it, its consumers; their owners learn it through [`RouterEvent::ConsumerClosed`].
pub(super) fn close_producer(engine: &mut Engine, key: ProducerKey) {
    let Some(mut p) = engine.producers.remove(key) else {
        return;
    };
    for s in p.streams.iter_mut() {
        if let Some(ring) = s.ring.as_mut() {
            for buf in ring.drain() {
                engine.outbox.recycle(buf);
            }
        }
    }
    engine.producer_ids.remove(&p.id);
    super::pipe::send_source_closed(&p.pipe_sinks);
    if let Some(source) = &p.pipe_source {
        super::pipe::send_sink_closed(source, key);
    }
    if let Some(t) = engine.transports.get_mut(p.transport) {
        // SRTP keeps per-SSRC state in a bounded table: forget this producer's streams.
        if let Some(srtp) = t.srtp_in.as_mut() {
            for s in &p.streams {
                for ssrc in [s.ssrc, s.rtx_ssrc].into_iter().flatten() {
                    srtp.remove_ssrc(ssrc);
                }
            }
        }
        t.producers.retain(|k| *k != key);
        t.ssrc_table.retain(|_, (k, _)| *k != key);
        t.rtx_ssrc_table.retain(|_, (k, _)| *k != key);
        t.mid_table.retain(|_, k| *k != key);
    }
    let router = engine.routers.get_mut(&p.router);
    if let Some(router) = router {
        router.producers.remove(&p.id);
    }
    for ckey in p.consumers {
        let consumer_id = engine.consumers.get(ckey).map(|c| c.id);
        close_consumer(engine, ckey);
        if let (Some(consumer_id), Some(router)) = (consumer_id, engine.routers.get(&p.router)) {
            router.emit(RouterEvent::ConsumerClosed {
                consumer_id,
                producer_id: p.id,
            });
        }
    }
}

pub(super) fn close_consumer(engine: &mut Engine, key: super::ConsumerKey) {
    let Some(c) = engine.consumers.remove(key) else {
        return;
    };
    engine.consumer_ids.remove(&c.id);
    if let Some(p) = engine.producers.get_mut(c.producer) {
        p.consumers.retain(|k| *k != key);
    }
    if let Some(t) = engine.transports.get_mut(c.transport) {
        if let Some(srtp) = t.srtp_out.as_mut() {
            for ssrc in [Some(c.ssrc), c.rtx_ssrc].into_iter().flatten() {
                srtp.remove_ssrc(ssrc);
            }
        }
        t.consumers.retain(|k| *k != key);
        t.consumer_ssrcs.retain(|_, k| *k != key);
    }
}
