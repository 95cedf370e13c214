//! `Message::decode` of arbitrary bytes: every frame a peer sends goes through it first. Decoding
//! must refuse with an error, never panic; and what decodes must survive a round trip — encoded
//! again it decodes to the same message, and that encoding is stable — since the relay re-encodes
//! messages it forwards (ephemeral) and answers.
#![no_main]

use chatsync_protocol::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let Ok(message) = Message::decode(frame) else {
        return;
    };
    let encoded = message.encode();
    let again = Message::decode(&encoded).expect("an encoded message decodes");
    assert_eq!(again, message, "a message changed in a round trip");
    assert_eq!(
        again.encode(),
        encoded,
        "a message's encoding is not stable"
    );
});
