//! Typed ids for every object the SFU exposes.
//!
//! Ids are UUID v4 strings on the wire, as in mediasoup, so a client cannot guess another peer's objects. Each kind of
//! object has its own newtype so a producer id can never be passed where a transport id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// Identifies a [`crate::Router`].
    RouterId
);
typed_id!(
    /// Identifies a transport ([`crate::WebRtcTransport`]).
    TransportId
);
typed_id!(
    /// Identifies a [`crate::Producer`].
    ProducerId
);
typed_id!(
    /// Identifies a [`crate::Consumer`].
    ConsumerId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_plain_strings() {
        let id = ProducerId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: ProducerId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!("not-a-uuid".parse::<ProducerId>().is_err());
    }
}
