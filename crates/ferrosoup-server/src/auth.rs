//! Optional access control: a join carries a JWT (HS256, signed with the configured secret) naming the room, the peer
//! and a role; the role decides what the peer may publish and whether it may moderate others.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::signaling::protocol::{ErrorCode, RequestError};

/// The HS256 secret. Its `Debug` never shows the value, so configurations can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthSecret(Vec<u8>);

impl AuthSecret {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        AuthSecret(secret.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthSecret(<redacted>)")
    }
}

/// A peer's role in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Teacher,
    Student,
}

/// The claims a join token carries.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    room: String,
    #[serde(default)]
    peer: Option<String>,
    role: Role,
    #[serde(default)]
    can_publish: bool,
    #[serde(default)]
    can_share_screen: bool,
}

/// What a peer may do, decided at join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub role: Option<Role>,
    /// May produce with an `appData.source` other than `"screen"`.
    pub publish: bool,
    /// May produce with `appData.source == "screen"`.
    pub share_screen: bool,
    /// May pause and close other peers' producers.
    pub moderate: bool,
}

impl Grant {
    /// Without authentication everyone may publish anything, and nobody may act on others' objects.
    pub const OPEN: Grant = Grant {
        role: None,
        publish: true,
        share_screen: true,
        moderate: false,
    };

    /// Whether a producer labelled `source` (its `appData.source`) may be created.
    pub fn may_produce(&self, source: Option<&str>) -> Result<(), RequestError> {
        let allowed = if source == Some("screen") {
            self.share_screen
        } else {
            self.publish
        };
        if allowed {
            Ok(())
        } else {
            Err(RequestError::new(
                ErrorCode::Forbidden,
                format!(
                    "this peer may not publish {}",
                    source.map_or("media".to_string(), |s| format!("{s:?}"))
                ),
            ))
        }
    }

    pub fn may_moderate(&self) -> Result<(), RequestError> {
        if self.moderate {
            Ok(())
        } else {
            Err(RequestError::new(
                ErrorCode::Forbidden,
                "only a teacher (with authentication configured) may act on other peers' producers",
            ))
        }
    }
}

/// Checks join tokens against one secret.
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn new(secret: &AuthSecret) -> Self {
        // The crate picks its backend from features; installing it explicitly keeps a second backend enabled
        // elsewhere in the dependency graph from turning verification into a panic. Already installed is fine.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
            &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_aud = false;
        // Classroom machines' clocks drift; a minute of leeway avoids refusing fresh tokens.
        validation.leeway = 60;
        Authenticator {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Verifies `token` for a join of `room_id`, as `peer_id` when the client chose one. Returns what the peer may
    /// do and the peer id the token imposes, if any.
    pub fn verify(
        &self,
        token: Option<&str>,
        room_id: &str,
        peer_id: Option<&str>,
    ) -> Result<(Grant, Option<String>), RequestError> {
        let unauthorized = |why: String| RequestError::new(ErrorCode::Unauthorized, why);
        let token =
            token.ok_or_else(|| unauthorized("this server needs a token to join".into()))?;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| unauthorized(format!("invalid token: {e}")))?
            .claims;
        if claims.room != room_id {
            return Err(unauthorized(format!(
                "the token is for another room than {room_id:?}"
            )));
        }
        if let (Some(wanted), Some(given)) = (claims.peer.as_deref(), peer_id) {
            if wanted != given {
                return Err(unauthorized(format!(
                    "the token is for another peer than {given:?}"
                )));
            }
        }
        let grant = match claims.role {
            Role::Teacher => Grant {
                role: Some(Role::Teacher),
                publish: true,
                share_screen: true,
                moderate: true,
            },
            Role::Student => Grant {
                role: Some(Role::Student),
                publish: claims.can_publish,
                share_screen: claims.can_share_screen,
                moderate: false,
            },
        };
        Ok((grant, claims.peer))
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    fn token(secret: &[u8], claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn exp() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600
    }

    #[test]
    fn checks_signature_room_peer_and_expiry() {
        let auth = Authenticator::new(&AuthSecret::new("s3cret"));
        let good = token(
            b"s3cret",
            json!({"room": "r", "peer": "p", "role": "student", "canPublish": true, "exp": exp()}),
        );
        let (grant, peer) = auth.verify(Some(&good), "r", None).unwrap();
        assert_eq!(peer.as_deref(), Some("p"));
        assert!(grant.publish && !grant.share_screen && !grant.moderate);
        assert!(grant.may_produce(Some("camera")).is_ok());
        assert_eq!(
            grant.may_produce(Some("screen")).unwrap_err().code,
            ErrorCode::Forbidden
        );

        let code = |t: &str, room: &str, peer: Option<&str>| {
            auth.verify(Some(t), room, peer).unwrap_err().code
        };
        assert_eq!(code(&good, "other", None), ErrorCode::Unauthorized);
        assert_eq!(code(&good, "r", Some("q")), ErrorCode::Unauthorized);
        let forged = token(
            b"guess",
            json!({"room": "r", "role": "teacher", "exp": exp()}),
        );
        assert_eq!(code(&forged, "r", None), ErrorCode::Unauthorized);
        let expired = token(
            b"s3cret",
            json!({"room": "r", "role": "teacher", "exp": 1000}),
        );
        assert_eq!(code(&expired, "r", None), ErrorCode::Unauthorized);
        let no_exp = token(b"s3cret", json!({"room": "r", "role": "teacher"}));
        assert_eq!(code(&no_exp, "r", None), ErrorCode::Unauthorized);
        let bad_role = token(
            b"s3cret",
            json!({"room": "r", "role": "admin", "exp": exp()}),
        );
        assert_eq!(code(&bad_role, "r", None), ErrorCode::Unauthorized);
        assert_eq!(code("not.a.jwt", "r", None), ErrorCode::Unauthorized);
        assert_eq!(
            auth.verify(None, "r", None).unwrap_err().code,
            ErrorCode::Unauthorized
        );

        let teacher = token(
            b"s3cret",
            json!({"room": "r", "role": "teacher", "exp": exp()}),
        );
        let (grant, peer) = auth.verify(Some(&teacher), "r", Some("anyone")).unwrap();
        assert_eq!(peer, None);
        assert!(grant.moderate && grant.share_screen && grant.publish);
    }

    #[test]
    fn alg_none_is_refused() {
        let auth = Authenticator::new(&AuthSecret::new("s3cret"));
        // {"alg":"none"} header, teacher claims, empty signature.
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let body = "eyJyb29tIjoiciIsInJvbGUiOiJ0ZWFjaGVyIiwiZXhwIjo5OTk5OTk5OTk5fQ";
        let t = format!("{header}.{body}.");
        assert_eq!(
            auth.verify(Some(&t), "r", None).unwrap_err().code,
            ErrorCode::Unauthorized
        );
    }

    #[test]
    fn secret_is_not_printed() {
        assert!(!format!("{:?}", AuthSecret::new("hunter2")).contains("hunter2"));
    }
}
