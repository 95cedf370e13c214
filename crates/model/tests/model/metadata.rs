//! Thread metadata: title, settings, status, project.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use chatsync_model::title::DEFAULT_TITLE;
use chatsync_model::{
    Limits, ModelError, Role, Thread, ThreadInit, ThreadSettings, ThreadStatus, TitleSource,
};

use crate::support::{T0, actor, append, at, new_thread, refused, thread_id, view_at};

fn title(thread: &Thread) -> (String, TitleSource) {
    let view = view_at(thread, at(100));
    assert_eq!(thread.title(), (view.title.clone(), view.title_source));
    (view.title, view.title_source)
}

#[test]
fn a_thread_without_user_messages_is_a_new_conversation() {
    let mut thread = new_thread();
    assert_eq!(
        title(&thread),
        (DEFAULT_TITLE.to_string(), TitleSource::Default)
    );
    assert_eq!(DEFAULT_TITLE, "New conversation");
    append(&mut thread, "s1", Role::System, "You are terse.", at(1));
    append(&mut thread, "a1", Role::Assistant, "How can I help?", at(2));
    assert_eq!(title(&thread).1, TitleSource::Default);
}

#[test]
fn the_title_is_derived_from_the_first_user_message() {
    let mut thread = new_thread();
    append(&mut thread, "s1", Role::System, "You are terse.", at(1));
    append(
        &mut thread,
        "u1",
        Role::User,
        "  Plan my\n\ttrip   to Rome ",
        at(2),
    );
    append(&mut thread, "u2", Role::User, "Something else", at(3));
    assert_eq!(
        title(&thread),
        ("Plan my trip to Rome".to_string(), TitleSource::Derived)
    );
}

#[test]
fn a_title_set_by_a_person_is_not_replaced_by_a_derived_one() {
    let mut thread = new_thread();
    thread.set_title("  Holiday  ", at(1)).unwrap();
    append(&mut thread, "u1", Role::User, "Plan my trip", at(2));
    assert_eq!(title(&thread), ("Holiday".to_string(), TitleSource::Person));

    let mut init = ThreadInit::new(thread_id(), actor("device-a"), T0);
    init.title = Some("Given at creation".into());
    let mut created = Thread::create(init, Limits::default()).unwrap();
    append(&mut created, "u1", Role::User, "Plan my trip", at(2));
    assert_eq!(
        title(&created),
        ("Given at creation".to_string(), TitleSource::Person)
    );
}

#[test]
fn clearing_the_title_derives_it_again() {
    let mut thread = new_thread();
    append(&mut thread, "u1", Role::User, "Plan my trip", at(1));
    thread.set_title("Holiday", at(2)).unwrap();
    thread.clear_title(at(3)).unwrap();
    assert_eq!(
        title(&thread),
        ("Plan my trip".to_string(), TitleSource::Derived)
    );
    assert_eq!(view_at(&thread, at(3)).updated_at, at(3));
}

#[test]
fn setting_the_same_title_again_at_the_same_time_writes_nothing() {
    let mut thread = new_thread();
    thread.set_title("Holiday", at(1)).unwrap();
    thread.commit();
    thread.set_title("Holiday", at(1)).unwrap();
    assert_eq!(thread.pending_ops(), 0);
}

#[test]
fn settings_updates_change_only_the_fields_given() {
    let mut init = ThreadInit::new(thread_id(), actor("device-a"), T0);
    init.settings = ThreadSettings {
        provider: Some("openai".into()),
        model: Some("gpt-4o".into()),
        ..ThreadSettings::default()
    };
    let mut thread = Thread::create(init, Limits::default()).unwrap();
    let update = ThreadSettings {
        model: Some("gpt-4.1".into()),
        temperature: Some(0.7),
        context_window: Some(128_000),
        system_prompt: Some("Be brief.".into()),
        ..ThreadSettings::default()
    };
    thread.update_settings(&update, at(1)).unwrap();

    let expected = ThreadSettings {
        provider: Some("openai".into()),
        model: Some("gpt-4.1".into()),
        system_prompt: Some("Be brief.".into()),
        temperature: Some(0.7),
        context_window: Some(128_000),
    };
    assert_eq!(thread.settings(), expected);
    assert_eq!(view_at(&thread, at(1)).settings, expected);
    for bound in [0.0, 2.0] {
        let update = ThreadSettings {
            temperature: Some(bound),
            ..ThreadSettings::default()
        };
        thread.update_settings(&update, at(2)).unwrap();
        assert_eq!(thread.settings().temperature, Some(bound));
    }
}

#[test]
fn invalid_settings_are_refused_whole() {
    let mut thread = new_thread();
    for bad in [
        ThreadSettings {
            model: Some("fine".into()),
            temperature: Some(2.01),
            ..ThreadSettings::default()
        },
        ThreadSettings {
            model: Some("fine".into()),
            context_window: Some(0),
            ..ThreadSettings::default()
        },
    ] {
        let err = refused(&mut thread, |t| t.update_settings(&bad, at(1)));
        assert!(matches!(err, ModelError::InvalidValue { .. }), "{err}");
    }
    assert_eq!(thread.settings(), ThreadSettings::default());
}

#[test]
fn archiving_and_restoring_change_the_status() {
    let mut thread = new_thread();
    assert_eq!(thread.status(), ThreadStatus::Active);
    thread.set_status(ThreadStatus::Archived, at(1)).unwrap();
    assert_eq!(view_at(&thread, at(1)).status, ThreadStatus::Archived);
    thread.set_status(ThreadStatus::Active, at(2)).unwrap();
    assert_eq!(thread.status(), ThreadStatus::Active);
}

#[test]
fn deleting_is_final() {
    let mut thread = new_thread();
    thread.set_status(ThreadStatus::Deleted, at(1)).unwrap();
    for status in [ThreadStatus::Active, ThreadStatus::Archived] {
        let err = refused(&mut thread, |t| t.set_status(status, at(2)));
        assert!(
            matches!(err, ModelError::InvalidTransition { kind: "thread", .. }),
            "{err}"
        );
    }
    thread.set_status(ThreadStatus::Deleted, at(3)).unwrap();
    assert_eq!(view_at(&thread, at(3)).status, ThreadStatus::Deleted);
}

#[test]
fn a_thread_moves_into_and_out_of_a_project() {
    let mut init = ThreadInit::new(thread_id(), actor("device-a"), T0);
    init.project_id = Some("p-1".into());
    let mut thread = Thread::create(init, Limits::default()).unwrap();
    assert_eq!(view_at(&thread, T0).project_id.as_deref(), Some("p-1"));
    thread.set_project(Some("p-2".into()), at(1)).unwrap();
    assert_eq!(view_at(&thread, at(1)).project_id.as_deref(), Some("p-2"));
    thread.set_project(None, at(2)).unwrap();
    assert_eq!(view_at(&thread, at(2)).project_id, None);
    assert_eq!(
        new_thread()
            .view(chatsync_model::ReadAt::new(T0))
            .project_id,
        None
    );
}
