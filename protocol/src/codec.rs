//! The two codecs behind one API: JSON in WebSocket text frames and MessagePack with named
//! fields (maps with the same keys as JSON) in binary frames.

use crate::frames::ClientFrame;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a frame is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// JSON, carried in WebSocket text frames.
    Json,
    /// MessagePack with named fields, carried in WebSocket binary frames.
    MsgPack,
}

impl Codec {
    /// Both codecs, for code that must produce every encoding once.
    pub const ALL: [Codec; 2] = [Codec::Json, Codec::MsgPack];

    /// The WebSocket subprotocol that selects this codec.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Codec::Json => "starling.v1.json",
            Codec::MsgPack => "starling.v1.msgpack",
        }
    }

    /// The codec a subprotocol name selects, if it is one of ours.
    pub fn from_subprotocol(name: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.subprotocol() == name.trim())
    }

    /// A stable index (0 for JSON, 1 for MessagePack) for per-codec arrays.
    pub fn index(self) -> usize {
        match self {
            Codec::Json => 0,
            Codec::MsgPack => 1,
        }
    }

    /// The name used in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::MsgPack => "msgpack",
        }
    }
}

/// A value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A client frame that could not be read as a request: the reply is a `bad_request` error
/// carrying `id` when the frame had a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame {
    pub id: Option<u64>,
    pub message: String,
}

/// Encodes any protocol value. Encoding our own types cannot fail in practice; the error is
/// kept for foreign types (a map with non-string keys, say).
pub fn encode<T: Serialize + ?Sized>(codec: Codec, value: &T) -> Result<Vec<u8>, DecodeError> {
    match codec {
        Codec::Json => serde_json::to_vec(value).map_err(|e| DecodeError(e.to_string())),
        Codec::MsgPack => rmp_serde::to_vec_named(value).map_err(|e| DecodeError(e.to_string())),
    }
}

/// Decodes any protocol value.
pub fn decode<T: DeserializeOwned>(codec: Codec, bytes: &[u8]) -> Result<T, DecodeError> {
    match codec {
        Codec::Json => serde_json::from_slice(bytes).map_err(|e| DecodeError(e.to_string())),
        Codec::MsgPack => rmp_serde::from_slice(bytes).map_err(|e| DecodeError(e.to_string())),
    }
}

/// Decodes a client frame. On failure it still recovers the frame's `id` when it can, so the
/// `bad_request` reply can carry it.
pub fn decode_request(codec: Codec, bytes: &[u8]) -> Result<ClientFrame, BadFrame> {
    decode::<ClientFrame>(codec, bytes).map_err(|e| {
        #[derive(Deserialize)]
        struct IdOnly {
            id: Option<u64>,
        }
        let id = decode::<IdOnly>(codec, bytes).ok().and_then(|f| f.id);
        BadFrame { id, message: e.0 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::*;

    fn round_trip(frame: &ClientFrame) {
        for codec in Codec::ALL {
            let bytes = encode(codec, frame).unwrap();
            assert_eq!(&decode_request(codec, &bytes).unwrap(), frame, "{codec:?}");
        }
    }

    #[test]
    fn requests_round_trip_in_both_codecs() {
        round_trip(&ClientFrame {
            id: Some(7),
            request: Request::Post(req::Post {
                text: "hello #rust".into(),
                reply_to: Some(3),
                media: Some(vec![1, 2]),
                ..Default::default()
            }),
        });
        round_trip(&ClientFrame {
            id: None,
            request: Request::Ping(req::Ping {}),
        });
        round_trip(&ClientFrame {
            id: Some(1),
            request: Request::Upload(req::Upload {
                content_type: "image/png".into(),
                data: vec![0, 1, 2, 255],
            }),
        });
    }

    #[test]
    fn upload_data_is_base64_in_json_and_bin_in_msgpack() {
        let frame = ClientFrame {
            id: None,
            request: Request::Upload(req::Upload {
                content_type: "image/gif".into(),
                data: b"GIF89a".to_vec(),
            }),
        };
        let json = String::from_utf8(encode(Codec::Json, &frame).unwrap()).unwrap();
        assert!(json.contains("\"data\":\"R0lGODlh\""), "{json}");
        let mp = encode(Codec::MsgPack, &frame).unwrap();
        // bin 8 marker (0xc4) followed by the length 6 and the raw bytes.
        assert!(mp.windows(8).any(|w| w == b"\xc4\x06GIF89a"));
    }

    #[test]
    fn a_bad_frame_keeps_its_id() {
        let bad = decode_request(Codec::Json, br#"{"type":"nope","id":9}"#).unwrap_err();
        assert_eq!(bad.id, Some(9));
        let bad = decode_request(Codec::Json, br#"{"type":"post","id":4}"#).unwrap_err();
        assert_eq!(bad.id, Some(4));
        assert!(bad.message.contains("text"), "{}", bad.message);
        let bad = decode_request(Codec::Json, b"not json").unwrap_err();
        assert_eq!(bad.id, None);
        let bad = decode_request(Codec::MsgPack, b"\xc1").unwrap_err();
        assert_eq!(bad.id, None);
    }

    #[test]
    fn events_round_trip_with_adjacent_tags() {
        let frame: ServerFrame = ServerFrame::Event(EventFrame {
            stream: "tweet:5".into(),
            cursor: 12,
            event: Event::Counts(Counts {
                tweet_id: 5,
                likes: 2,
                retweets: 1,
                replies: 0,
            }),
        });
        let json = String::from_utf8(encode(Codec::Json, &frame).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"type":"event","stream":"tweet:5","cursor":12,"event":"counts","data":{"tweet_id":5,"likes":2,"retweets":1,"replies":0}}"#
        );
        for codec in Codec::ALL {
            let bytes = encode(codec, &frame).unwrap();
            let back: ServerFrame<serde_json::Value> = decode(codec, &bytes).unwrap();
            match back {
                ServerFrame::Event(e) => assert_eq!(ServerFrame::Event(e), frame),
                other => panic!("{other:?}"),
            }
        }
    }
}
