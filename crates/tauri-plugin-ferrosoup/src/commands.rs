//! The commands the front end calls: `plugin:ferrosoup|start`, `plugin:ferrosoup|stop`, `plugin:ferrosoup|status`.

use tauri::{command, AppHandle, Runtime};

use crate::{FerrosoupExt, Result, StartInfo, StatusInfo};

/// Starts the server, or returns the running one's addresses.
#[command]
pub(crate) async fn start<R: Runtime>(app: AppHandle<R>) -> Result<StartInfo> {
    app.ferrosoup().start().await
}

/// Closes every room and releases every port. Stopping a stopped server does nothing.
#[command]
pub(crate) async fn stop<R: Runtime>(app: AppHandle<R>) -> Result<()> {
    app.ferrosoup().stop().await
}

/// Whether the server runs, and what it holds.
#[command]
pub(crate) async fn status<R: Runtime>(app: AppHandle<R>) -> Result<StatusInfo> {
    app.ferrosoup().status().await
}
