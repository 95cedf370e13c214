//! Approval requests: asked once, decided once.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::{
    ApprovalDecision, ApprovalId, ApprovalRequest, ApprovalStatus, ModelError, Role, Thread,
};

use crate::support::{append, at, mid, new_thread, refused, view_at};

fn approval_id(id: &str) -> ApprovalId {
    ApprovalId::new(id).unwrap()
}

fn request(id: &str) -> ApprovalRequest {
    ApprovalRequest {
        id: approval_id(id),
        kind: "plan".into(),
        subject: "1. Delete the old branch".into(),
        message_id: Some(mid("a1")),
    }
}

fn decision(approve: bool) -> ApprovalDecision {
    ApprovalDecision {
        approve,
        decided_by: "user-7".into(),
        reason: approve.then(|| "looks right".to_string()),
    }
}

fn with_reply() -> Thread {
    let mut thread = new_thread();
    append(&mut thread, "a1", Role::Assistant, "May I?", at(1));
    thread
}

#[test]
fn a_request_waits_as_pending_in_the_view() {
    let mut thread = with_reply();
    thread.request_approval(request("ap1"), at(10)).unwrap();
    let pending = view_at(&thread, at(10)).pending_approvals;
    assert_eq!(pending.len(), 1);
    let ap = &pending[0];
    assert_eq!(ap.id, approval_id("ap1"));
    assert_eq!(ap.kind, "plan");
    assert_eq!(ap.subject, "1. Delete the old branch");
    assert_eq!(ap.status, ApprovalStatus::Pending);
    assert_eq!(ap.message_id, Some(mid("a1")));
    assert_eq!(ap.requested_at, at(10));
    assert_eq!((&ap.decided_by, ap.decided_at), (&None, None));
}

#[test]
fn a_decision_is_recorded_and_leaves_the_pending_list() {
    let mut thread = with_reply();
    thread.request_approval(request("ap1"), at(10)).unwrap();
    thread.request_approval(request("ap2"), at(11)).unwrap();
    thread
        .decide_approval(&approval_id("ap1"), decision(true), at(20))
        .unwrap();
    thread
        .decide_approval(&approval_id("ap2"), decision(false), at(21))
        .unwrap();

    assert!(view_at(&thread, at(21)).pending_approvals.is_empty());
    let all = thread.approvals();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status, ApprovalStatus::Approved);
    assert_eq!(all[0].decided_by.as_deref(), Some("user-7"));
    assert_eq!(all[0].decided_at, Some(at(20)));
    assert_eq!(all[0].reason.as_deref(), Some("looks right"));
    assert_eq!(all[1].status, ApprovalStatus::Rejected);
    assert_eq!(all[1].reason, None);
}

#[test]
fn pending_approvals_are_listed_oldest_first_and_exclude_decided_ones() {
    let mut thread = with_reply();
    thread.request_approval(request("later"), at(30)).unwrap();
    thread.request_approval(request("sooner"), at(10)).unwrap();
    thread.request_approval(request("decided"), at(20)).unwrap();
    thread
        .decide_approval(&approval_id("decided"), decision(true), at(40))
        .unwrap();
    let ids: Vec<_> = view_at(&thread, at(40))
        .pending_approvals
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, [approval_id("sooner"), approval_id("later")]);
}

#[test]
fn a_decided_request_cannot_be_decided_again() {
    let mut thread = with_reply();
    thread.request_approval(request("ap1"), at(10)).unwrap();
    thread
        .decide_approval(&approval_id("ap1"), decision(false), at(20))
        .unwrap();
    for approve in [true, false] {
        let err = refused(&mut thread, |t| {
            t.decide_approval(&approval_id("ap1"), decision(approve), at(30))
        });
        assert!(
            matches!(&err, ModelError::InvalidTransition { kind: "approval", state, .. } if state == "rejected"),
            "{err}"
        );
        assert_eq!(err.code(), "invalid_transition");
    }
    assert_eq!(thread.approvals()[0].status, ApprovalStatus::Rejected);
}
