//! The one connection per relay that `LISTEN`s for other relays' appends and hands them to the
//! relay as [`ChangeNotice`]s. When the connection drops it reconnects with backoff, and reports
//! [`ChangeNotice::Missed`] once listening again: notices sent meanwhile are gone.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use super::CHANNEL;
use crate::storage::feed::{ChangeNotice, decode_payload, decode_revoke};

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A listener already listening, so that every change committed once the storage is open is heard.
pub(super) async fn start(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Hands on what `listener` hears, then listens again (reporting `Missed`) whenever the connection
/// drops, until the pool is closed.
pub(super) async fn run(
    pool: PgPool,
    listener: PgListener,
    writer: Arc<str>,
    notices: broadcast::Sender<ChangeNotice>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut listening = Some(listener);
    while !pool.is_closed() {
        let heard = match listening.take() {
            Some(listener) => hear(listener, &writer, &notices).await,
            None => match start(&pool).await {
                Ok(listener) => {
                    // Whatever was sent while not listening was not heard: the relay re-reads
                    // what it holds.
                    let _ = notices.send(ChangeNotice::Missed);
                    hear(listener, &writer, &notices).await
                }
                Err(e) => Err(e),
            },
        };
        match heard {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) if pool.is_closed() => {
                tracing::debug!(error = %e, "stopped listening: storage closed");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = backoff.as_millis() as u64, "not hearing other relays' changes: listening failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Hands on what one connection hears until it drops (`Ok`) or fails.
async fn hear(
    mut listener: PgListener,
    writer: &str,
    notices: &broadcast::Sender<ChangeNotice>,
) -> Result<(), sqlx::Error> {
    while let Some(notification) = listener.try_recv().await? {
        if let Some((from, document, grantee)) = decode_revoke(notification.payload()) {
            if from != writer {
                let _ = notices.send(ChangeNotice::Revoked { document, grantee });
            }
            continue;
        }
        match decode_payload(notification.payload()) {
            Some((from, _)) if from == writer => {}
            // No receiver (no relay following yet) is fine: nothing is in memory to update.
            Some((_, notice)) => {
                let _ = notices.send(notice);
            }
            None => tracing::warn!(
                payload = notification.payload(),
                "ignoring a notification that is not a stored change or a purge"
            ),
        }
    }
    tracing::warn!("the notification connection dropped; reconnecting");
    Ok(())
}
