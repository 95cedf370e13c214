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
    // Kept alive as long as the socket: the browser calls them.
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Starts connecting to `url`; events arrive on the returned receiver.
    pub fn connect(url: &str) -> Result<(Self, Receiver<SocketEvent>)> {
        let ws = WebSocket::new(url).map_err(|e| {
            StoreError::InvalidInput(format!("cannot open a WebSocket to {url:?}: {e:?}"))
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let (tx, rx) = queue();

        let open_tx = tx.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            open_tx.send(SocketEvent::Open);
        });
        let message_tx = tx.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            // Text frames are not part of the protocol; they are dropped here.
            if let Ok(buffer) = event.data().dyn_into::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                message_tx.send(SocketEvent::Frame(bytes));
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            tx.send(SocketEvent::Closed {
                code: event.code(),
                reason: event.reason(),
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok((
            Self {
                ws,
                _on_open: on_open,
                _on_message: on_message,
                _on_close: on_close,
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
