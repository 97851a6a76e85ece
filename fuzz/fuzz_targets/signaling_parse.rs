//! The signaling server's request parser on arbitrary text: every input must come back as a request or a typed error.
#![no_main]

use ferrosoup_server::signaling::protocol::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The WebSocket layer hands over valid UTF-8 only; lossy conversion keeps the fuzzer's byte mutations useful.
    let text = String::from_utf8_lossy(data);
    let incoming = parse(&text);
    match &incoming.request {
        Ok(request) => {
            let _ = request.result_type();
        }
        Err(e) => {
            let _ = (e.code.as_str(), e.message.len());
        }
    }
});
