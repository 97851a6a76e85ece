use serde::{Serialize, Serializer};

/// What can go wrong in the plugin. The front end receives it as a string (its `Display`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server could not bind its HTTP listener or its media sockets.
    #[error(transparent)]
    Start(#[from] ferrosoup_server::StartError),
    /// The media worker did not answer (it stopped or failed).
    #[error("media worker: {0}")]
    Worker(#[from] ferrosoup::Error),
    /// A task on Tauri's async runtime failed (it panicked or was cancelled).
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
