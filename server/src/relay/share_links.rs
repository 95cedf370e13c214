//! Read-only share links: a capability token for one document. The token is an HS256 JWT signed with
//! a secret made once per database (so every relay on it verifies every link), prefixed `csl_` so
//! it is never mistaken for a user's token. It names a link row in storage, which decides whether it
//! still opens anything: a revoked or expired link is refused however good its signature.
//!
//! Over `/sync` a link connects as a user of its own, [`link_user`] — a name no identity provider
//! issues — which the relay's access check ([`Relay::standing`]) treats as a read-only grantee of the
//! link's one document while the link holds (read from storage for each message, like a grant).

use serde::{Deserialize, Serialize};

use super::{Relay, Standing};
use crate::auth::Verified;
use crate::storage::{ShareAccess, ShareLink, Storage};

/// What every share link token starts with.
pub const SHARE_LINK_PREFIX: &str = "csl_";

/// What a user id made for share link `id` starts with: a NUL, which no token's `sub` has.
const LINK_USER: &str = "\u{0}share-link:";

/// The user a share link's `/sync` connection is.
pub fn link_user(id: &str) -> String {
    format!("{LINK_USER}{id}")
}

/// The link id of a share link's user, if `user` is one.
pub(crate) fn link_of_user(user: &str) -> Option<&str> {
    user.strip_prefix(LINK_USER)
}

/// The token's claims: which link, for which document.
#[derive(Debug, Serialize, Deserialize)]
struct LinkClaims {
    /// The link's id (its storage row).
    lid: String,
    /// The document it opens.
    doc: String,
}

/// Why a share link opens nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not a token this relay signed (or damaged), or its link is unknown.
    #[error("the share link is not valid")]
    Forged,
    /// Its owner revoked it.
    #[error("the share link was revoked")]
    Revoked,
    /// It expired at this time (ms since the Unix epoch).
    #[error("the share link expired")]
    Expired(u64),
    /// Storage failed; the link may be fine.
    #[error("storage unavailable")]
    Storage,
}

impl<S: Storage> Relay<S> {
    /// The secret links are signed with, made once per database.
    async fn link_secret(&self) -> Result<&[u8], LinkError> {
        self.link_secret
            .get_or_try_init(|| async {
                let random = || automerge::ActorId::random().to_bytes().to_vec();
                let mut secret = random();
                secret.extend(random());
                self.storage
                    .setting_or_init("share_link_secret", &secret)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "reading the share link secret failed");
                        LinkError::Storage
                    })
            })
            .await
            .map(Vec::as_slice)
    }

    /// The token for `link` (already stored).
    pub async fn sign_link(&self, link: &ShareLink) -> Result<String, LinkError> {
        let secret = self.link_secret().await?;
        let claims = LinkClaims {
            lid: link.id.clone(),
            doc: link.document.to_string(),
        };
        let key = jsonwebtoken::EncodingKey::from_secret(secret);
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        // HS256 over a small JSON object cannot fail.
        let token = jsonwebtoken::encode(&header, &claims, &key).map_err(|_| LinkError::Storage)?;
        Ok(format!("{SHARE_LINK_PREFIX}{token}"))
    }

    /// The link `token` opens now (`now_ms` since the Unix epoch): its signature checked, then its
    /// row — which must exist, be unrevoked and unexpired, and name the same document.
    pub async fn verify_link(&self, token: &str, now_ms: u64) -> Result<ShareLink, LinkError> {
        let jwt = token
            .strip_prefix(SHARE_LINK_PREFIX)
            .ok_or(LinkError::Forged)?;
        let secret = self.link_secret().await?;
        let key = jsonwebtoken::DecodingKey::from_secret(secret);
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        // Expiry lives in the link's row (so it is one truth with revocation), not in the token.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<LinkClaims>(jwt, &key, &validation)
            .map_err(|_| LinkError::Forged)?
            .claims;
        let link = self
            .storage
            .link_get(&claims.lid)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading a share link failed");
                LinkError::Storage
            })?
            .filter(|link| link.document.to_string() == claims.doc)
            .ok_or(LinkError::Forged)?;
        if link.revoked {
            return Err(LinkError::Revoked);
        }
        if let Some(expires) = link.expires_at_ms
            && expires <= now_ms
        {
            return Err(LinkError::Expired(expires));
        }
        Ok(link)
    }

    /// A `/sync` connection's identity for the link `token`: its own user ([`link_user`]), until the
    /// link expires (the socket is closed then, as for an expired token).
    pub async fn verify_link_for_sync(&self, token: &str) -> Result<Verified, LinkError> {
        let now = crate::api::now_ms();
        let link = self.verify_link(token, now).await?;
        Ok(Verified {
            user: link_user(&link.id),
            expires_at: link
                .expires_at_ms
                .map(|ms| std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)),
        })
    }

    /// What a share link's user may do with `id`: read it, while the link is good and opens `id`.
    pub(crate) async fn link_standing(
        &self,
        id: &chatsync_protocol::DocumentId,
        link: &str,
    ) -> Result<Standing, chatsync_protocol::hub::Refusal> {
        let stored = self.storage.link_get(link).await.map_err(|e| {
            tracing::error!(error = %e, "reading a share link failed");
            chatsync_protocol::hub::Refusal::Storage
        })?;
        let now = crate::api::now_ms();
        Ok(match stored {
            Some(l)
                if l.document == *id && !l.revoked && l.expires_at_ms.is_none_or(|at| at > now) =>
            {
                Standing::Grantee {
                    owner: l.created_by,
                    access: ShareAccess::Read,
                }
            }
            _ => Standing::Stranger,
        })
    }

    /// `link` was revoked: its `/sync` sessions end now, here and on every relay of the database.
    pub async fn drop_link_sessions(&self, link: &ShareLink) {
        let user = link_user(&link.id);
        self.drop_grantee(&link.document, &user).await;
        self.storage.grant_revoked(&link.document, &user).await;
    }
}
