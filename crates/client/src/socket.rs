//! Opening the WebSocket to the relay: the URL with its token, the frame limits, and how a failed
//! handshake reads to the [`Link`](chatsync_protocol::Link) (a refused token is not a network error).

use chatsync_protocol::Disconnect;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, http::StatusCode};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ClientConfig;

/// The socket the driver owns.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the socket to `relay_url` (the link sends `join` on it). A failure is returned with how the link should
/// read it.
pub(crate) async fn open(
    config: &ClientConfig,
    relay_url: &str,
) -> Result<Socket, (Disconnect, WsError)> {
    let url = with_token(relay_url, &config.token);
    let mut ws_config = WebSocketConfig::default();
    // Cold-load frames grow with a thread's history (295 KB for 1,000 messages): allow a lot.
    ws_config.max_message_size = Some(64 << 20);
    ws_config.max_frame_size = Some(64 << 20);
    match tokio_tungstenite::connect_async_with_config(url, Some(ws_config), true).await {
        Ok((socket, _)) => Ok(socket),
        Err(e) => {
            let refused = matches!(&e, WsError::Http(response)
                if matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN));
            let reason = if refused {
                Disconnect::Unauthorized
            } else {
                Disconnect::DialFailed
            };
            Err((reason, e))
        }
    }
}

/// A close frame as the link reads it.
pub(crate) fn closed(frame: Option<CloseFrame>) -> Disconnect {
    match frame {
        Some(frame) => Disconnect::Closed {
            code: frame.code.into(),
            reason: frame.reason.to_string(),
        },
        // 1005: "no status received".
        None => Disconnect::Closed {
            code: 1005,
            reason: String::new(),
        },
    }
}

/// The URL with `token` added to its query; a URL with no path gets `/` (a bare `?query` after the host
/// is not a valid request target).
fn with_token(url: &str, token: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("ws", url));
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    format!(
        "{scheme}://{authority}{path}{separator}token={}",
        percent_encode(token)
    )
}

/// Tokens are URL-safe in practice (JWTs are base64url); escape anything else.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::with_token;

    #[test]
    fn the_token_is_added_to_any_url_shape() {
        assert_eq!(with_token("ws://h:1/sync", "t"), "ws://h:1/sync?token=t");
        assert_eq!(with_token("ws://h:1", "t"), "ws://h:1/?token=t");
        assert_eq!(with_token("ws://h:1?x=1", "t"), "ws://h:1/?x=1&token=t");
        assert_eq!(
            with_token("wss://h/sync?x=1", "a b"),
            "wss://h/sync?x=1&token=a%20b"
        );
    }
}
