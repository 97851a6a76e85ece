//! Which web pages may open the signaling WebSocket. Browsers send the page's `Origin` with the upgrade request and
//! let any page connect anywhere, so without this check any site a student visits could join a room on the LAN
//! server (cross-site WebSocket hijacking).

/// Origins of the Tauri webview (`tauri://localhost` on macOS/Linux, `http(s)://tauri.localhost` on Windows), allowed
/// by default so an app embedding the server can connect to it.
pub const DEFAULT_ALLOWED_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// Allowed: no `Origin` (not a browser), the server's own origin (the demo page), any origin listed, or anything when
/// the list holds `*`.
pub fn allowed(origin: Option<&str>, host: Option<&str>, list: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim().trim_end_matches('/');
    if list
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    same_origin(origin, host)
}

/// The origin's authority equals the `Host` the request was sent to. A reverse proxy that rewrites `Host` must pass
/// the original (or the origin must be listed).
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => "80",
        "https" => "443",
        _ => return false,
    };
    let with_port = |a: &str| -> String {
        let a = a.to_ascii_lowercase();
        // An IPv6 literal keeps its colons inside brackets; a port, if any, follows the bracket.
        let has_port = match a.rfind(']') {
            Some(end) => a[end..].contains(':'),
            None => a.contains(':'),
        };
        if has_port {
            a
        } else {
            format!("{a}:{default_port}")
        }
    };
    with_port(authority) == with_port(host.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn policy() {
        let none = list(&[]);
        assert!(allowed(None, Some("127.0.0.1:3000"), &none));
        assert!(allowed(
            Some("http://127.0.0.1:3000"),
            Some("127.0.0.1:3000"),
            &none
        ));
        assert!(allowed(
            Some("http://LAN.example"),
            Some("lan.example:80"),
            &none
        ));
        assert!(allowed(
            Some("https://lan.example"),
            Some("lan.example"),
            &none
        ));
        assert!(allowed(
            Some("http://[::1]:3000"),
            Some("[::1]:3000"),
            &none
        ));
        assert!(!allowed(
            Some("http://evil.example"),
            Some("127.0.0.1:3000"),
            &none
        ));
        assert!(!allowed(
            Some("http://127.0.0.1:3001"),
            Some("127.0.0.1:3000"),
            &none
        ));
        assert!(!allowed(
            Some("https://127.0.0.1:3000"),
            Some("127.0.0.1:3000:443"),
            &none
        ));
        assert!(!allowed(Some("null"), Some("127.0.0.1:3000"), &none));
        assert!(!allowed(Some("http://a"), None, &none));

        let some = list(&["https://school.example", "tauri://localhost"]);
        assert!(allowed(Some("https://school.example/"), Some("x"), &some));
        assert!(allowed(
            Some("tauri://localhost"),
            Some("127.0.0.1:3000"),
            &some
        ));
        assert!(!allowed(Some("https://other.example"), Some("x"), &some));
        assert!(allowed(
            Some("https://other.example"),
            Some("x"),
            &list(&["*"])
        ));
    }
}
