//! [`Socket`]: the browser's WebSocket as a stream of [`SocketEvent`]s — binary frames only.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::channel::{Receiver, queue};
use crate::error::{Result, StoreError};

/// What the socket reports.
pub(crate) enum SocketEvent {
    Open,
    Frame(Vec<u8>),
    /// Closed or failed (browsers say no more than the close code about a refused connection).
    Closed {
        code: u16,
        reason: String,
    },
}

/// An open (or opening) WebSocket. Dropping it closes the connection.
pub(crate) struct Socket {
    ws: WebSocket,
    // Kept alive as long as the socket: the browser calls it.
    _on_event: Closure<dyn FnMut(MessageEvent)>,
}

impl Socket {
    /// Starts connecting to `url`; events arrive on the returned receiver.
    pub fn connect(url: &str) -> Result<(Self, Receiver<SocketEvent>)> {
        let ws = WebSocket::new(url).map_err(|e| {
            StoreError::InvalidInput(format!("cannot open a WebSocket to {url:?}: {e:?}"))
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let (tx, rx) = queue();
        // One handler for `open`, `message` and `close`, told apart by the event's type: one
        // closure of the type tabs.rs has too, rather than three of three types, each with its own
        // glue in the wasm. Only `message` events are MessageEvents; the others are read as what
        // they are.
        let on_event = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match event.type_().as_str() {
                "open" => tx.send(SocketEvent::Open),
                "message" => {
                    // Text frames are not part of the protocol; they are dropped here.
                    if let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() {
                        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                        tx.send(SocketEvent::Frame(bytes));
                    }
                }
                _ => {
                    let event = event.unchecked_ref::<CloseEvent>();
                    tx.send(SocketEvent::Closed {
                        code: event.code(),
                        reason: event.reason(),
                    });
                }
            }
        });
        let handler = Some(on_event.as_ref().unchecked_ref());
        ws.set_onopen(handler);
        ws.set_onmessage(handler);
        ws.set_onclose(handler);
        Ok((
            Self {
                ws,
                _on_event: on_event,
            },
            rx,
        ))
    }

    /// Sends one binary frame; `false` if the socket is no longer open.
    pub fn send(&self, bytes: &[u8]) -> bool {
        self.ws.send_with_u8_array(bytes).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
