//! The process-wide DTLS identity: one certificate and one DTLS config shared by every transport.
//!
//! Making an ECDSA key and certificate takes milliseconds and a DTLS config is not free either, so both are made once
//! per process, and not before a client needs them: making them pages in 2.2 MiB of code and buffers, which an idle
//! server (a classroom app before its class starts) does not pay. [`prewarm`] starts the work on a background thread
//! when the first router is created, or earlier when the application calls it (the signaling server does when a client
//! connects); the first WebRTC transport awaits it with [`ready`] before asking its worker, so a worker never blocks
//! on it. Most of the first time's 30–50 ms is aws-lc seeding its random generator from CPU jitter.

use std::sync::{Arc, OnceLock};

use dimpl::{certificate, Config, DtlsCertificate};

use crate::transport::DtlsFingerprint;

/// Certificate, its fingerprint and the shared DTLS config.
pub(crate) struct DtlsIdentity {
    pub certificate: DtlsCertificate,
    pub fingerprint: DtlsFingerprint,
    pub config: Arc<Config>,
}

static IDENTITY: OnceLock<Result<Arc<DtlsIdentity>, String>> = OnceLock::new();

fn make() -> Result<Arc<DtlsIdentity>, String> {
    let certificate = certificate::generate_self_signed_certificate().map_err(|e| e.to_string())?;
    let fingerprint = DtlsFingerprint {
        algorithm: "sha-256".into(),
        value: certificate.fingerprint_str(),
    };
    Ok(Arc::new(DtlsIdentity {
        certificate,
        fingerprint,
        config: Arc::new(Config::default()),
    }))
}

/// Starts making the process's DTLS certificate on a background thread (nothing if it was made or started). The
/// first router starts it anyway; calling this when a client connects gets the work done before that client's first
/// WebRTC transport asks for it.
pub fn prewarm() {
    if IDENTITY.get().is_none() {
        // A failed spawn only means the first transport makes the identity itself.
        let _ = std::thread::Builder::new()
            .name("ferrosoup-cert".into())
            .spawn(|| {
                let _ = identity();
            });
    }
}

/// The identity, awaited without blocking the caller's thread: from the background thread [`prewarm`] started
/// (started now if it was not).
pub(crate) async fn ready() -> Result<Arc<DtlsIdentity>, crate::Error> {
    if IDENTITY.get().is_none() {
        prewarm();
        // Waits on a blocking-pool thread for the background one to finish; only the process's first transport
        // can get here.
        if let Ok(made) = tokio::task::spawn_blocking(identity).await {
            return made;
        }
    }
    identity()
}

/// The identity, made now if the background thread has not made it yet.
pub(crate) fn identity() -> Result<Arc<DtlsIdentity>, crate::Error> {
    IDENTITY
        .get_or_init(make)
        .clone()
        .map_err(crate::Error::Certificate)
}

/// Hex fingerprint of `der` with the named algorithm, uppercase and colon-separated like SDP's.
pub(crate) fn fingerprint_of(algorithm: &str, der: &[u8]) -> Option<String> {
    use aws_lc_rs::digest;
    let alg = match algorithm.to_ascii_lowercase().as_str() {
        "sha-1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha-224" => &digest::SHA224,
        "sha-256" => &digest::SHA256,
        "sha-384" => &digest::SHA384,
        "sha-512" => &digest::SHA512,
        _ => return None,
    };
    Some(certificate::format_fingerprint(
        digest::digest(alg, der).as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_made_once_and_fingerprint_matches_certificate() {
        prewarm();
        let a = identity().unwrap();
        let b = identity().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let fp = fingerprint_of("sha-256", &a.certificate.certificate).unwrap();
        assert_eq!(fp, a.fingerprint.value);
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert!(fingerprint_of("md5", b"x").is_none());
    }

    #[tokio::test]
    async fn ready_awaits_the_same_identity() {
        let awaited = ready().await.unwrap();
        assert!(Arc::ptr_eq(&awaited, &identity().unwrap()));
    }
}
