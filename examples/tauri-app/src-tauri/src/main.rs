//! A Tauri app with the media server inside: `.plugin(tauri_plugin_ferrosoup::init())` is the whole integration. The
//! front end (../src/main.js) starts the server with `invoke("plugin:ferrosoup|start")` and talks to it with
//! mediasoup-client over the returned signaling URL.

// No console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use tauri::Listener;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,ferrosoup=info,tauri_plugin_ferrosoup=info".into()),
        )
        .init();

    tauri::Builder::default()
        // Settings come from `plugins.ferrosoup` in tauri.conf.json; in code it would be e.g.
        // `tauri_plugin_ferrosoup::Builder::new().listen("0.0.0.0:3000".parse()?).rtc_ip("0.0.0.0".parse()?).build()`.
        .plugin(tauri_plugin_ferrosoup::init())
        .setup(|app| {
            // The Rust side can follow the server too (the same events reach the front end).
            app.listen(tauri_plugin_ferrosoup::EVENT_PEER_JOINED, |event| {
                tracing::info!("peer joined: {}", event.payload());
            });
            #[cfg(target_os = "linux")]
            {
                use tauri::Manager;
                if let Some(window) = app.get_webview_window("main") {
                    linux::enable_webrtc(&window);
                }
            }
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the app");
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::{PermissionRequestExt, SettingsExt, WebViewExt};

    /// WebKitGTK has WebRTC and getUserMedia off by default, and asks the app about camera/microphone access.
    pub fn enable_webrtc<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
        let result = window.with_webview(|webview| {
            let view = webview.inner();
            if let Some(settings) = WebViewExt::settings(&view) {
                settings.set_enable_webrtc(true);
                settings.set_enable_media_stream(true);
            }
            view.connect_permission_request(|_, request| {
                request.allow();
                true
            });
        });
        if let Err(e) = result {
            tracing::warn!("cannot enable WebRTC in the webview: {e}");
        }
    }
}
