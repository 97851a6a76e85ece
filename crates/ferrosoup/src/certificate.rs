//! The process-wide DTLS identity: one certificate and one DTLS config shared by every transport.
//!
//! Making an ECDSA key and certificate takes milliseconds and a DTLS config is not free either, so both are made once
//! per process. [`prewarm`] starts that work on a background thread when a worker starts, so binding sockets and
//! answering the first HTTP request do not wait for it; the first transport that needs the fingerprint waits only if the
//! thread has not finished yet.

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

/// Starts making the identity in the background (no-op once made or started).
pub(crate) fn prewarm() {
    if IDENTITY.get().is_none() {
        // A failed spawn only means the first transport makes the identity itself.
        let _ = std::thread::Builder::new()
            .name("ferrosoup-cert".into())
            .spawn(|| {
                let _ = identity();
            });
    }
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
}
