//! Sharing over the HTTP API. The owner of a thread grants another user read or write access
//! (`threads:share { threadId, userId, access }`) and takes it back (`threads:unshare { threadId,
//! userId }`, which ends the grantee's live sessions at once); `threads:shares { threadId }` lists
//! the grants, and `threads:listShared` the threads shared with the caller, each a summary with
//! `sharedBy` and `access`. Read-only share links: `threads:createShareLink { threadId, expiresAt? }`
//! answers a capability token (`csl_…`), `threads:revokeShareLink { linkId }` revokes it; whoever
//! holds the token reads the thread with `POST /api/query` `threads:get` and
//! `Authorization: Bearer <token>` (nothing else), until it expires or is revoked.
//!
//! Only the owner shares, unshares or makes links: a grantee is `403 forbidden`, anyone else's
//! thread `404 not_found` (as for every path).

use std::sync::Arc;

use chatsync_model::ReadAt;
use chatsync_model::input::Fields;
use serde_json::{Value, json as object};

use super::documents::{self, ThreadRef, new_id, now_ms};
use super::error::ApiError;
use super::json;
use crate::relay::{LinkError, Relay, Standing};
use crate::storage::{Share, ShareAccess, ShareLink, Storage};

fn storage_error(e: crate::storage::StorageError) -> ApiError {
    tracing::warn!(error = %e, "a share could not reach storage");
    ApiError::Storage
}

/// Refused unless `user` owns `thread` (and it is a thread they can read).
async fn owned<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    thread: &ThreadRef,
) -> Result<(), ApiError> {
    match relay.standing(&thread.doc, user).await {
        Ok(Standing::Own) => {}
        Ok(Standing::Grantee { .. }) => {
            return Err(ApiError::Forbidden(
                "only the thread's owner can share it, unshare it or make links to it".into(),
            ));
        }
        Ok(Standing::Stranger) => return Err(ApiError::thread_not_found()),
        Err(refusal) => return Err(crate::relay::LocalWriteError::from(refusal).into()),
    }
    // It is a thread (not the user's index or an app's document), stored and not deleted.
    documents::read_thread(relay, user, thread, |_, _| ()).await
}

/// The longest user id a grant names (identity providers' subjects are far shorter).
const MAX_USER_ID_BYTES: usize = 256;

fn grantee_arg(f: &mut Fields<'_, &Value>, user: &str) -> Result<String, ApiError> {
    let grantee = f.required_string("userId")?;
    if grantee.is_empty() {
        return Err(ApiError::InvalidInput("`userId` must not be empty".into()));
    }
    if grantee.len() > MAX_USER_ID_BYTES || grantee.chars().any(char::is_control) {
        return Err(ApiError::InvalidInput(format!(
            "`userId` must be at most {MAX_USER_ID_BYTES} bytes, without control characters"
        )));
    }
    if grantee == user {
        return Err(ApiError::InvalidInput(
            "`userId` is the thread's owner, who has every access already".into(),
        ));
    }
    Ok(grantee)
}

/// The mutation paths of this module.
pub(super) const MUTATIONS: &[&str] = &[
    "threads:share",
    "threads:unshare",
    "threads:createShareLink",
    "threads:revokeShareLink",
];

/// Runs one of [`MUTATIONS`].
pub(super) async fn mutation<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    path: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let mut f = Fields::of(&args)?;
    match path {
        "threads:share" => {
            let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
            let grantee = grantee_arg(&mut f, user)?;
            let word = f.required_string("access")?;
            f.finish()?;
            let access = ShareAccess::parse(&word).ok_or_else(|| {
                ApiError::InvalidInput(format!(
                    "`access` {word:?} is not one of \"read\", \"write\""
                ))
            })?;
            owned(relay, user, &thread).await?;
            let share = Share {
                document: thread.doc,
                owner: user.to_owned(),
                grantee: grantee.clone(),
                access,
                granted_at_ms: now_ms(),
            };
            if !relay
                .storage()
                .share_put(&share)
                .await
                .map_err(storage_error)?
            {
                return Err(ApiError::thread_not_found());
            }
            // Down from write to read: the grantee's sessions end, and their next sync is read-only.
            if access == ShareAccess::Read {
                relay.drop_grantee(&thread.doc, &grantee).await;
            }
            Ok(share_json(&share))
        }
        "threads:unshare" => {
            let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
            let grantee = grantee_arg(&mut f, user)?;
            f.finish()?;
            owned(relay, user, &thread).await?;
            let revoked = relay
                .storage()
                .share_remove(&thread.doc, user, &grantee)
                .await
                .map_err(storage_error)?;
            relay.drop_grantee(&thread.doc, &grantee).await;
            Ok(object!({ "threadId": thread.id.as_str(), "userId": grantee, "revoked": revoked }))
        }
        "threads:createShareLink" => {
            let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
            let expires = f.number("expiresAt")?;
            f.finish()?;
            let now = now_ms();
            let expires_at_ms = match expires {
                None => None,
                Some(at) if at.is_finite() && at > now as f64 && at < 9.0e15 => Some(at as u64),
                Some(at) => {
                    return Err(ApiError::InvalidInput(format!(
                        "`expiresAt` {at} is not a time in the future (ms since the Unix epoch)"
                    )));
                }
            };
            owned(relay, user, &thread).await?;
            let link = ShareLink {
                id: new_id(),
                document: thread.doc,
                created_by: user.to_owned(),
                created_at_ms: now,
                expires_at_ms,
                revoked: false,
            };
            if !relay
                .storage()
                .link_put(&link)
                .await
                .map_err(storage_error)?
            {
                return Err(ApiError::thread_not_found());
            }
            let token = relay.sign_link(&link).await.map_err(link_error)?;
            Ok(object!({
                "linkId": link.id,
                "threadId": thread.id.as_str(),
                "token": token,
                "access": "read",
                "expiresAt": link.expires_at_ms,
            }))
        }
        "threads:revokeShareLink" => {
            let link = f.required_string("linkId")?;
            f.finish()?;
            let stored = relay
                .storage()
                .link_get(&link)
                .await
                .map_err(storage_error)?;
            let revoked = relay
                .storage()
                .link_revoke(&link, user)
                .await
                .map_err(storage_error)?;
            let Some(stored) = stored.filter(|_| revoked) else {
                return Err(ApiError::NotFound("share link not found".into()));
            };
            // Its live /sync sessions end now, as a revoked grantee's do.
            relay.drop_link_sessions(&stored).await;
            Ok(object!({ "linkId": link, "revoked": true }))
        }
        other => Err(super::mutation::unknown_path(other)),
    }
}

fn share_json(share: &Share) -> Value {
    object!({
        "threadId": share.document.to_string(),
        "userId": share.grantee,
        "sharedBy": share.owner,
        "access": share.access.as_str(),
        "sharedAt": share.granted_at_ms,
    })
}

/// `threads:shares { threadId }`: the thread's grants (owner only).
pub(super) async fn shares_of<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    let mut f = Fields::of(&args)?;
    let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
    f.finish()?;
    owned(relay, user, &thread).await?;
    let shares = relay
        .storage()
        .shares_of(&thread.doc)
        .await
        .map_err(storage_error)?;
    Ok(Value::Array(shares.iter().map(share_json).collect()))
}

/// `threads:listShared`: the threads shared with the caller, each its summary (as in
/// `threads:list`) with `sharedBy` and `access`; oldest grant first. Deleted ones are left out.
pub(super) async fn list_shared<S: Storage>(
    relay: &Arc<Relay<S>>,
    user: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    Fields::of(&args)?.finish()?;
    let shares = relay
        .storage()
        .shared_with(user)
        .await
        .map_err(storage_error)?;
    let mut listed = Vec::with_capacity(shares.len());
    for share in shares {
        let Ok(thread) = ThreadRef::parse(&share.document.to_string()) else {
            continue;
        };
        let summary = documents::read_thread(relay, user, &thread, |thread, now| {
            json(&thread.summary(ReadAt::new(now)))
        })
        .await;
        let mut summary = match summary {
            Ok(summary) => summary?,
            // Deleted, purged or revoked meanwhile: not in the list.
            Err(ApiError::NotFound(_) | ApiError::Purged(_)) => continue,
            Err(e) => return Err(e),
        };
        if let Some(fields) = summary.as_object_mut() {
            fields.insert("sharedBy".into(), share.owner.into());
            fields.insert("access".into(), share.access.as_str().into());
            // The owner's project means nothing in the grantee's list.
            fields.remove("projectId");
        }
        listed.push(summary);
    }
    Ok(Value::Array(listed))
}

/// A share link refused, as the API answers it.
pub(crate) fn link_error(e: LinkError) -> ApiError {
    match e {
        LinkError::Forged => ApiError::BadLink(e.to_string()),
        LinkError::Revoked => ApiError::Forbidden(e.to_string()),
        LinkError::Expired(_) => ApiError::Forbidden(e.to_string()),
        LinkError::Storage => ApiError::Storage,
    }
}

/// `POST /api/query` with a share link as the bearer token: `threads:get` of its thread, and nothing
/// else. The view is the owner's, read as them.
/// The share link `token` names, verified (signature, then its row: not revoked, not expired)
/// before anything of the request's body is read.
pub(super) async fn verified_link<S: Storage>(
    relay: &Arc<Relay<S>>,
    token: &str,
) -> Result<ShareLink, ApiError> {
    relay.verify_link(token, now_ms()).await.map_err(link_error)
}

pub(super) async fn query_by_link<S: Storage>(
    relay: &Arc<Relay<S>>,
    link: ShareLink,
    path: &str,
    args: &Value,
) -> Result<Value, ApiError> {
    if path != "threads:get" {
        return Err(ApiError::Forbidden(format!(
            "a share link reads its thread only (`threads:get`), not {path:?}"
        )));
    }
    let mut f = Fields::of(&args)?;
    let thread = ThreadRef::parse(&f.required_string("threadId")?)?;
    f.finish()?;
    if thread.doc != link.document {
        return Err(ApiError::Forbidden(
            "this share link opens another thread".into(),
        ));
    }
    let mut view = documents::read_thread(relay, &link.created_by, &thread, |thread, now| {
        json(&thread.view(ReadAt::new(now)))
    })
    .await??;
    if let Some(fields) = view.as_object_mut() {
        fields.remove("projectId");
    }
    Ok(view)
}
