//! The plugin's settings: `plugins > ferrosoup` in `tauri.conf.json`, the [`crate::Builder`]'s setters, and how the
//! two are merged into a [`ServerConfig`].

use std::net::{IpAddr, SocketAddr};

use ferrosoup::ListenInfo;
use ferrosoup_server::ServerConfig;
use serde::Deserialize;

/// `plugins > ferrosoup` in `tauri.conf.json`. Every field is optional; an absent field keeps the default (or what the
/// [`crate::Builder`] set in code, which wins over this file).
///
/// ```json
/// "plugins": {
///   "ferrosoup": {
///     "listen": "127.0.0.1:3000",
///     "rtcIp": "127.0.0.1",
///     "rtcPort": 40000,
///     "announcedAddress": null,
///     "maxMessageSize": 262144,
///     "workers": 1,
///     "peersPerWorker": 10,
///     "autoStart": false
///   }
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// HTTP + WebSocket address (`"0.0.0.0:3000"` serves a LAN). Default `127.0.0.1:3000`; port 0 picks a free port.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// IP the media UDP socket binds. `0.0.0.0` binds every interface address and advertises each. Default
    /// `127.0.0.1`.
    #[serde(default)]
    pub rtc_ip: Option<IpAddr>,
    /// The one UDP port all media uses. Default 40000; 0 picks a free port.
    #[serde(default)]
    pub rtc_port: Option<u16>,
    /// Address given to clients instead of the bound one (NAT, host name).
    #[serde(default)]
    pub announced_address: Option<String>,
    /// Longest signaling message in bytes (default 262144).
    #[serde(default)]
    pub max_message_size: Option<usize>,
    /// Media workers, each up to one core, on UDP ports `rtcPort` + i. Default 1; a machine that hosts a large class
    /// where everyone publishes wants one per core.
    #[serde(default)]
    pub workers: Option<usize>,
    /// A room's peers on one worker before the room spreads to another (default 10).
    #[serde(default)]
    pub peers_per_worker: Option<usize>,
    /// Start the server when the app starts, without waiting for a `start` command. Default `false`.
    #[serde(default)]
    pub auto_start: Option<bool>,
}

impl Config {
    /// `self`'s fields where set, else `lower`'s.
    pub(crate) fn or(self, lower: Config) -> Config {
        Config {
            listen: self.listen.or(lower.listen),
            rtc_ip: self.rtc_ip.or(lower.rtc_ip),
            rtc_port: self.rtc_port.or(lower.rtc_port),
            announced_address: self.announced_address.or(lower.announced_address),
            max_message_size: self.max_message_size.or(lower.max_message_size),
            workers: self.workers.or(lower.workers),
            peers_per_worker: self.peers_per_worker.or(lower.peers_per_worker),
            auto_start: self.auto_start.or(lower.auto_start),
        }
    }

    /// Applies the fields that are set to `base`.
    pub(crate) fn apply(&self, mut base: ServerConfig) -> ServerConfig {
        if let Some(listen) = self.listen {
            base.listen = listen;
        }
        if self.rtc_ip.is_some() || self.rtc_port.is_some() || self.announced_address.is_some() {
            // The media settings describe one listen address; start from the base's first one.
            let mut info = base
                .rtc_listen
                .first()
                .cloned()
                .unwrap_or_else(|| ListenInfo {
                    ip: [127, 0, 0, 1].into(),
                    announced_address: None,
                    port: 40000,
                });
            if let Some(ip) = self.rtc_ip {
                info.ip = ip;
            }
            if let Some(port) = self.rtc_port {
                info.port = port;
            }
            if let Some(announced) = &self.announced_address {
                info.announced_address = Some(announced.clone());
            }
            base.rtc_listen = vec![info];
        }
        if let Some(size) = self.max_message_size {
            base.max_message_size = size;
        }
        if let Some(workers) = self.workers {
            base.workers = workers.clamp(1, 64);
        }
        if let Some(peers) = self.peers_per_worker {
            base.peers_per_worker = peers.max(1);
        }
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_camel_case_and_refuses_unknown_fields() {
        let c: Config = serde_json::from_str(
            r#"{"listen":"0.0.0.0:3001","rtcIp":"0.0.0.0","rtcPort":0,"announcedAddress":"lan.example","maxMessageSize":1024,"workers":2,"peersPerWorker":8,"autoStart":true}"#,
        )
        .unwrap();
        assert_eq!((c.workers, c.peers_per_worker), (Some(2), Some(8)));
        let server = c.apply(ServerConfig::default());
        assert_eq!((server.workers, server.peers_per_worker), (2, 8));
        assert_eq!(c.listen, Some("0.0.0.0:3001".parse().unwrap()));
        assert_eq!(c.rtc_port, Some(0));
        assert_eq!(c.auto_start, Some(true));
        assert!(serde_json::from_str::<Config>(r#"{"port":1}"#).is_err());
        // An absent `plugins.ferrosoup` is `null`, which the plugin reads as `Option<Config>`.
        assert_eq!(
            serde_json::from_str::<Option<Config>>("null").unwrap(),
            None
        );
        assert_eq!(
            serde_json::from_str::<Config>("{}").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn code_wins_over_file_and_file_over_defaults() {
        let file = Config {
            listen: Some("127.0.0.1:4000".parse().unwrap()),
            rtc_port: Some(41000),
            ..Config::default()
        };
        let code = Config {
            listen: Some("127.0.0.1:5000".parse().unwrap()),
            ..Config::default()
        };
        let server = code.or(file).apply(ServerConfig::default());
        assert_eq!(server.listen, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(server.rtc_listen.len(), 1);
        assert_eq!(server.rtc_listen[0].port, 41000);
        assert_eq!(server.rtc_listen[0].ip, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(server.max_message_size, 256 * 1024);
    }
}
