//! The opaque tokens of the sync API: base64url of a small JSON with a format version.
//! Clients store them and send them back; only the server reads them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::store::Cursor;

const FORMAT: u8 = 1;

/// `sync_token`: a position in the change stream.
#[derive(Debug, Serialize, Deserialize)]
struct SyncToken {
    v: u8,
    /// Writing transaction (PostgreSQL; 0 on SQLite).
    t: i64,
    /// Change sequence.
    s: i64,
}

/// `next_cursor` of a paged full download: where the next page starts, and the sync token
/// of the first page, which every page repeats.
#[derive(Debug, Serialize, Deserialize)]
struct FullCursor {
    v: u8,
    /// Index into the requested entities.
    e: usize,
    /// Last id sent of that entity.
    a: i64,
    t: i64,
    s: i64,
}

fn encode<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

fn decode<T: DeserializeOwned>(text: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn sync_token(cursor: Cursor) -> String {
    encode(&SyncToken {
        v: FORMAT,
        t: cursor.txid,
        s: cursor.seq,
    })
}

pub fn parse_sync_token(text: &str) -> Option<Cursor> {
    decode::<SyncToken>(text)
        .filter(|t| t.v == FORMAT)
        .map(|t| Cursor {
            txid: t.t,
            seq: t.s,
        })
}

/// The position of a full download's next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullPosition {
    pub entity: usize,
    pub after_id: i64,
    pub token: Cursor,
}

pub fn full_cursor(position: FullPosition) -> String {
    encode(&FullCursor {
        v: FORMAT,
        e: position.entity,
        a: position.after_id,
        t: position.token.txid,
        s: position.token.seq,
    })
}

pub fn parse_full_cursor(text: &str) -> Option<FullPosition> {
    decode::<FullCursor>(text)
        .filter(|c| c.v == FORMAT)
        .map(|c| FullPosition {
            entity: c.e,
            after_id: c.a,
            token: Cursor {
                txid: c.t,
                seq: c.s,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            txid: 912,
            seq: 40_017,
        };
        assert_eq!(parse_sync_token(&sync_token(cursor)), Some(cursor));
        assert_eq!(parse_sync_token("not a token"), None);
        assert_eq!(
            parse_sync_token(&URL_SAFE_NO_PAD.encode(br#"{"v":9,"t":1,"s":2}"#)),
            None
        );
        let position = FullPosition {
            entity: 3,
            after_id: 77,
            token: cursor,
        };
        assert_eq!(parse_full_cursor(&full_cursor(position)), Some(position));
        assert_eq!(parse_full_cursor(&sync_token(cursor)), None);
    }
}
