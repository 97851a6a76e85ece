//! The signaling wire format (docs/protocol.md): parsing requests and shaping replies and notifications.
//!
//! A request is parsed in two steps: first as a JSON object, to read `id` and `type` even when the rest is wrong (so
//! the error reply can carry the id), then its parameters into the method's typed struct.

use ferrosoup::{
    DtlsParameters, MediaKind, PlainConnectParameters, RtpCapabilities, RtpParameters,
    SrtpCryptoSuite,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Error codes of the protocol, as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    UnknownMethod,
    TooLarge,
    NotJoined,
    AlreadyJoined,
    NotFound,
    CannotConsume,
    InvalidState,
    Limit,
    RateLimited,
    Unauthorized,
    Forbidden,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownMethod => "unknown_method",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::NotFound => "not_found",
            ErrorCode::CannotConsume => "cannot_consume",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::Limit => "limit",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Internal => "internal",
        }
    }
}

/// A failed request: what goes into the `error` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    pub code: ErrorCode,
    pub message: String,
}

impl RequestError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RequestError {
            code,
            message: message.into(),
        }
    }
}

impl From<ferrosoup::Error> for RequestError {
    fn from(e: ferrosoup::Error) -> Self {
        use ferrosoup::Error as E;
        let code = match &e {
            E::NotFound { .. } => ErrorCode::NotFound,
            E::InvalidState(_) => ErrorCode::InvalidState,
            E::Ortc(_) | E::InvalidArgument(_) => ErrorCode::BadRequest,
            E::CannotConsume(_) => ErrorCode::CannotConsume,
            _ => ErrorCode::Internal,
        };
        RequestError::new(code, e.to_string())
    }
}

/// A request's `id`: a number or a string, echoed as received.
pub type RequestId = Value;

/// A request as read off the wire: its id (if any could be read) and the method call or why it is not one.
pub struct Incoming {
    pub id: Option<RequestId>,
    pub request: Result<Request, RequestError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRouterRtpCapabilities {
    #[serde(default)]
    pub room_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Join {
    pub room_id: String,
    #[serde(default)]
    pub peer_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub rtp_capabilities: Option<RtpCapabilities>,
    /// The join token (JWT), required when the server has an auth secret.
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Send,
    Recv,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWebRtcTransport {
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default)]
    pub direction: Direction,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePlainTransport {
    #[serde(default)]
    pub direction: Direction,
    #[serde(default = "default_true")]
    pub rtcp_mux: bool,
    #[serde(default)]
    pub comedia: bool,
    #[serde(default)]
    pub enable_srtp: bool,
    #[serde(default)]
    pub srtp_crypto_suite: SrtpCryptoSuite,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectPlainTransport {
    pub transport_id: String,
    #[serde(flatten)]
    pub parameters: PlainConnectParameters,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectWebRtcTransport {
    pub transport_id: String,
    pub dtls_parameters: DtlsParameters,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Produce {
    pub transport_id: String,
    pub kind: MediaKind,
    pub rtp_parameters: RtpParameters,
    #[serde(default)]
    pub app_data: Option<Map<String, Value>>,
    #[serde(default)]
    pub paused: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consume {
    pub transport_id: String,
    pub producer_id: String,
    #[serde(default)]
    pub rtp_capabilities: Option<RtpCapabilities>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRef {
    pub consumer_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerRef {
    pub producer_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportRef {
    pub transport_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetConsumerPreferredLayers {
    pub consumer_id: String,
    pub spatial_layer: u8,
    /// Absent: the highest.
    #[serde(default)]
    pub temporal_layer: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetConsumerPriority {
    pub consumer_id: String,
    pub priority: u8,
}

/// Every method of the protocol with its parameters.
#[derive(Debug)]
pub enum Request {
    GetRouterRtpCapabilities(GetRouterRtpCapabilities),
    Join(Join),
    CreateWebRtcTransport(CreateWebRtcTransport),
    ConnectWebRtcTransport(ConnectWebRtcTransport),
    CreatePlainTransport(CreatePlainTransport),
    ConnectPlainTransport(ConnectPlainTransport),
    CloseTransport(TransportRef),
    Produce(Produce),
    Consume(Consume),
    PauseConsumer(ConsumerRef),
    ResumeConsumer(ConsumerRef),
    CloseConsumer(ConsumerRef),
    PauseProducer(ProducerRef),
    ResumeProducer(ProducerRef),
    CloseProducer(ProducerRef),
    SetConsumerPreferredLayers(SetConsumerPreferredLayers),
    SetConsumerPriority(SetConsumerPriority),
    RequestConsumerKeyFrame(ConsumerRef),
    GetTransportStats(TransportRef),
    GetProducerStats(ProducerRef),
    GetConsumerStats(ConsumerRef),
    /// A teacher pauses another peer's producer.
    MuteProducer(ProducerRef),
    /// A teacher closes another peer's producer.
    ClosePeerProducer(ProducerRef),
    Leave,
}

impl Request {
    /// The `type` of the success reply.
    pub fn result_type(&self) -> &'static str {
        match self {
            Request::GetRouterRtpCapabilities(_) => "routerRtpCapabilities",
            Request::Join(_) => "joined",
            Request::CreateWebRtcTransport(_) => "webRtcTransportCreated",
            Request::ConnectWebRtcTransport(_) => "webRtcTransportConnected",
            Request::CreatePlainTransport(_) => "plainTransportCreated",
            Request::ConnectPlainTransport(_) => "plainTransportConnected",
            Request::CloseTransport(_) => "transportClosed",
            Request::Produce(_) => "produced",
            Request::Consume(_) => "consumed",
            Request::PauseConsumer(_) => "consumerPaused",
            Request::ResumeConsumer(_) => "consumerResumed",
            Request::CloseConsumer(_) => "consumerClosed",
            Request::PauseProducer(_) => "producerPaused",
            Request::ResumeProducer(_) => "producerResumed",
            Request::CloseProducer(_) => "producerClosed",
            Request::SetConsumerPreferredLayers(_) => "consumerPreferredLayersSet",
            Request::SetConsumerPriority(_) => "consumerPrioritySet",
            Request::RequestConsumerKeyFrame(_) => "consumerKeyFrameRequested",
            Request::GetTransportStats(_) => "transportStats",
            Request::GetProducerStats(_) => "producerStats",
            Request::GetConsumerStats(_) => "consumerStats",
            Request::MuteProducer(_) => "producerMuted",
            Request::ClosePeerProducer(_) => "peerProducerClosed",
            Request::Leave => "left",
        }
    }
}

fn params<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, RequestError> {
    serde_json::from_value(Value::Object(object))
        .map_err(|e| RequestError::new(ErrorCode::BadRequest, format!("invalid parameters: {e}")))
}

/// Reads one text message.
pub fn parse(text: &str) -> Incoming {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Incoming {
                id: None,
                request: Err(RequestError::new(
                    ErrorCode::BadRequest,
                    format!("invalid JSON: {e}"),
                )),
            }
        }
    };
    let Value::Object(mut object) = value else {
        return Incoming {
            id: None,
            request: Err(RequestError::new(
                ErrorCode::BadRequest,
                "a request must be a JSON object",
            )),
        };
    };
    let id = match object.remove("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => Some(id),
        Some(Value::Null) | None => None,
        Some(_) => {
            return Incoming {
                id: None,
                request: Err(RequestError::new(
                    ErrorCode::BadRequest,
                    "id must be a number or a string",
                )),
            }
        }
    };
    let method = match object.remove("type") {
        Some(Value::String(s)) => s,
        _ => {
            return Incoming {
                id,
                request: Err(RequestError::new(
                    ErrorCode::BadRequest,
                    "type must be a string naming the method",
                )),
            }
        }
    };
    let request = match method.as_str() {
        "getRouterRtpCapabilities" => params(object).map(Request::GetRouterRtpCapabilities),
        "join" => params(object).map(Request::Join),
        "createWebRtcTransport" => params(object).map(Request::CreateWebRtcTransport),
        "connectWebRtcTransport" => params(object).map(Request::ConnectWebRtcTransport),
        "createPlainTransport" => params(object).map(Request::CreatePlainTransport),
        "connectPlainTransport" => params(object).map(Request::ConnectPlainTransport),
        "closeTransport" => params(object).map(Request::CloseTransport),
        "produce" => params(object).map(Request::Produce),
        "consume" => params(object).map(Request::Consume),
        "pauseConsumer" => params(object).map(Request::PauseConsumer),
        "resumeConsumer" => params(object).map(Request::ResumeConsumer),
        "closeConsumer" => params(object).map(Request::CloseConsumer),
        "pauseProducer" => params(object).map(Request::PauseProducer),
        "resumeProducer" => params(object).map(Request::ResumeProducer),
        "closeProducer" => params(object).map(Request::CloseProducer),
        "setConsumerPreferredLayers" => params(object).map(Request::SetConsumerPreferredLayers),
        "setConsumerPriority" => params(object).map(Request::SetConsumerPriority),
        "requestConsumerKeyFrame" => params(object).map(Request::RequestConsumerKeyFrame),
        "getTransportStats" => params(object).map(Request::GetTransportStats),
        "getProducerStats" => params(object).map(Request::GetProducerStats),
        "getConsumerStats" => params(object).map(Request::GetConsumerStats),
        "muteProducer" => params(object).map(Request::MuteProducer),
        "closePeerProducer" => params(object).map(Request::ClosePeerProducer),
        "leave" => Ok(Request::Leave),
        other => Err(RequestError::new(
            ErrorCode::UnknownMethod,
            format!("unknown method {other:?}"),
        )),
    };
    Incoming { id, request }
}

/// A success reply.
pub fn success(id: Option<&RequestId>, result_type: &str, data: Value) -> String {
    let mut object = Map::new();
    if let Some(id) = id {
        object.insert("id".into(), id.clone());
    }
    object.insert("type".into(), result_type.into());
    object.insert("data".into(), data);
    Value::Object(object).to_string()
}

/// An error reply.
pub fn error(id: Option<&RequestId>, error: &RequestError) -> String {
    let mut object = Map::new();
    if let Some(id) = id {
        object.insert("id".into(), id.clone());
    }
    object.insert("type".into(), "error".into());
    object.insert(
        "error".into(),
        json!({"code": error.code.as_str(), "message": error.message}),
    );
    Value::Object(object).to_string()
}

/// A notification.
pub fn notification(event: &str, data: Value) -> String {
    json!({"type": event, "data": data}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id_even_when_the_rest_is_wrong() {
        let i = parse(r#"{"id":7,"type":"produce","transportId":3}"#);
        assert_eq!(i.id, Some(json!(7)));
        assert_eq!(i.request.unwrap_err().code, ErrorCode::BadRequest);

        let i = parse(r#"{"id":"a","type":"nope"}"#);
        assert_eq!(i.id, Some(json!("a")));
        assert_eq!(i.request.unwrap_err().code, ErrorCode::UnknownMethod);

        let i = parse("{not json");
        assert!(i.id.is_none());
        assert_eq!(i.request.unwrap_err().code, ErrorCode::BadRequest);

        let i = parse("[1,2]");
        assert_eq!(i.request.unwrap_err().code, ErrorCode::BadRequest);

        let i = parse(r#"{"id":{"x":1},"type":"leave"}"#);
        assert_eq!(i.request.unwrap_err().code, ErrorCode::BadRequest);
    }

    #[test]
    fn seed_messages_parse() {
        let i = parse(r#"{"type":"getRouterRtpCapabilities","roomId":"r1"}"#);
        assert!(i.id.is_none());
        assert!(
            matches!(i.request, Ok(Request::GetRouterRtpCapabilities(ref g)) if g.room_id.as_deref() == Some("r1"))
        );
        let i = parse(r#"{"type":"createWebRtcTransport","roomId":"r1"}"#);
        assert!(
            matches!(i.request, Ok(Request::CreateWebRtcTransport(ref c)) if c.direction == Direction::Send)
        );
    }

    #[test]
    fn deep_nesting_is_a_bad_request_not_a_stack_overflow() {
        // serde_json stops at 128 levels, far below what would exhaust the stack.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(&deep).request.unwrap_err().code,
            ErrorCode::BadRequest
        );
        let inner = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
        let text = format!(r#"{{"id":1,"type":"produce","appData":{inner}}}"#);
        assert_eq!(
            parse(&text).request.unwrap_err().code,
            ErrorCode::BadRequest
        );
    }

    #[test]
    fn replies_echo_ids_only_when_given() {
        let parsed = |s: String| serde_json::from_str::<Value>(&s).unwrap();
        let s = success(Some(&json!(3)), "joined", json!({}));
        assert_eq!(parsed(s), json!({"id": 3, "type": "joined", "data": {}}));
        let s = success(None, "routerRtpCapabilities", json!({}));
        assert_eq!(
            parsed(s),
            json!({"type": "routerRtpCapabilities", "data": {}})
        );
        let e = error(
            Some(&json!("x")),
            &RequestError::new(ErrorCode::NotFound, "nope"),
        );
        assert_eq!(
            parsed(e),
            json!({"id": "x", "type": "error", "error": {"code": "not_found", "message": "nope"}})
        );
    }
}
