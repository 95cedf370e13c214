//! [`Callbacks`]: the JS functions subscribed to something, and the unsubscribe function handed back.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Subscribed JS callbacks, called in subscription order.
#[derive(Default)]
pub(crate) struct Callbacks {
    list: RefCell<Vec<(u32, Function)>>,
    next: Cell<u32>,
}

impl Callbacks {
    /// Whether anyone is subscribed.
    pub fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// Calls every callback with `value`. One that throws is logged and does not stop the others;
    /// callbacks may subscribe or unsubscribe while being called.
    pub fn call(&self, value: &JsValue, what: &str) {
        let callbacks: Vec<Function> = self.list.borrow().iter().map(|(_, f)| f.clone()).collect();
        for callback in callbacks {
            if let Err(e) = callback.call1(&JsValue::NULL, value) {
                web_sys::console::error_2(&format!("chatsync: a {what} threw").into(), &e);
            }
        }
    }

    /// Whether the callback subscribed under `key` still is.
    pub fn contains(&self, key: u32) -> bool {
        self.list.borrow().iter().any(|(k, _)| *k == key)
    }

    /// Removes the callback subscribed under `key`; nothing if it is gone already.
    pub fn remove(&self, key: u32) {
        self.list.borrow_mut().retain(|(k, _)| *k != key);
    }
}

/// Adds `callback` to the list `owner` keeps (at `callbacks(owner)`), and returns its key and the JS
/// function that removes it. The returned function holds `owner` weakly, and calling it again does
/// nothing: it is an `FnMut` the JS garbage collector frees with the function (a `once` closure
/// would throw on a second call, and leak when never called).
pub(crate) fn subscribe<T: 'static>(
    owner: &Rc<T>,
    callbacks: fn(&T) -> &Callbacks,
    callback: Function,
) -> (u32, Function) {
    let list = callbacks(owner);
    let key = list.next.get();
    list.next.set(key.wrapping_add(1));
    list.list.borrow_mut().push((key, callback));
    let mut owner = Some(Rc::downgrade(owner));
    let unsubscribe = Closure::<dyn FnMut()>::new(move || {
        if let Some(owner) = owner.take().and_then(|owner| owner.upgrade()) {
            callbacks(&owner).remove(key);
        }
    });
    (key, unsubscribe.into_js_value().unchecked_into())
}
