//! Projects: create, rename, describe, archive, delete; threads moved between them, listed by
//! project, and counted.

use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::*;

fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn threads_of(store: &chatsync_web::ChatStore, project: &str) -> Vec<String> {
    let options = js(json!({ "projectId": project }));
    ids(&json(&ok(store.list_threads(Some(options))).await))
}

#[wasm_bindgen_test]
async fn projects_are_created_updated_archived_and_deleted() {
    let db = unique_db("projects");
    let store = open_store(&db).await;
    let init = json!({ "name": "Website", "language": "rust", "metadata": { "repo": "x/y" } });
    let web = json(&ok(store.create_project(js(init))).await);
    assert_eq!(web["name"], "Website");
    assert_eq!(web["language"], "rust");
    assert_eq!(web["metadata"], json!({ "repo": "x/y" }));
    assert_eq!(web["archived"], false);
    assert_eq!(web["threadCount"], 0);
    let web_id = web["id"].as_str().unwrap().to_owned();
    let api = json(&ok(store.create_project(js(json!({ "name": "API" })))).await);
    let api_id = api["id"].as_str().unwrap().to_owned();
    // By name.
    assert_eq!(
        ids(&json(&store.list_projects(None).unwrap())),
        vec![api_id.clone(), web_id.clone()]
    );

    let patch = json!({ "name": "Site", "description": "the public one", "language": null });
    let renamed = json(&ok(store.update_project(web_id.clone(), js(patch))).await);
    assert_eq!(renamed["name"], "Site");
    assert_eq!(renamed["description"], "the public one");
    assert!(renamed.get("language").is_none());

    let archived = json(&ok(store.archive_project(api_id.clone())).await);
    assert_eq!(archived["archived"], true);
    assert_eq!(
        ids(&json(&store.list_projects(None).unwrap())),
        vec![web_id.clone()]
    );
    let all = json(
        &store
            .list_projects(Some(js(json!({ "includeArchived": true }))))
            .unwrap(),
    );
    assert_eq!(ids(&all), vec![api_id.clone(), web_id.clone()]);

    ok(store.delete_project(api_id.clone())).await;
    let all = json(
        &store
            .list_projects(Some(js(json!({ "includeArchived": true }))))
            .unwrap(),
    );
    assert_eq!(ids(&all), vec![web_id.clone()]);

    // Kept across a reload.
    ok(store.close()).await;
    let store = open_store(&db).await;
    let listed = json(&store.list_projects(None).unwrap());
    assert_eq!(listed[0]["name"], "Site");
}

#[wasm_bindgen_test]
async fn bad_project_calls_are_refused_with_typed_errors() {
    let store = open_store(&unique_db("projects-bad")).await;
    let error = call(store.create_project(js(json!({ "description": "no name" }))))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_input");
    let error = call(store.create_project(js(json!({ "name": "x", "colour": "red" }))))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_input");
    let error = call(store.update_project("nope".into(), js(json!({ "name": "y" }))))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    let error = call(store.archive_project("nope".into()))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    let error = call(store.delete_project("nope".into())).await.unwrap_err();
    assert_eq!(code(&error), "not_found");
    let p = json(&ok(store.create_project(js(json!({ "name": "P" })))).await);
    let id = p["id"].as_str().unwrap().to_owned();
    let error = call(store.update_project(id.clone(), js(json!({ "name": null }))))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "invalid_input", "a project keeps its name");
    let thread = create_thread(&store, Some("t")).await;
    let error = call(store.move_thread(thread.clone(), Some("nope".into())))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    let error = call(store.move_thread("2Nf4zVZb2xtf4zWbGkqWmDLBMVNv".into(), Some(id.clone())))
        .await
        .unwrap_err();
    assert_eq!(code(&error), "not_found");
    let init = js(json!({ "title": "x", "projectId": "nope" }));
    let error = call(store.create_thread(Some(init))).await.unwrap_err();
    assert_eq!(
        code(&error),
        "not_found",
        "a thread is created only in a project that exists"
    );
    let init = js(json!({ "title": "in P", "projectId": id }));
    let created = json(&ok(store.create_thread(Some(init))).await);
    assert_eq!(created["projectId"], id.as_str());
}

#[wasm_bindgen_test]
async fn threads_move_between_projects_and_list_by_project() {
    let store = open_store(&unique_db("projects-move")).await;
    let a = json(&ok(store.create_project(js(json!({ "name": "A" })))).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = json(&ok(store.create_project(js(json!({ "name": "B" })))).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = create_thread(&store, Some("one")).await;
    let two = create_thread(&store, Some("two")).await;
    let open = open_thread(&store, &one).await.unwrap();

    ok(store.move_thread(one.clone(), Some(a.clone()))).await;
    ok(store.move_thread(two.clone(), Some(a.clone()))).await;
    assert_eq!(
        sorted(threads_of(&store, &a).await),
        sorted(vec![one.clone(), two.clone()])
    );
    assert_eq!(json(&open.view().unwrap())["projectId"], a.as_str());
    let listed = json(&store.list_projects(None).unwrap());
    assert_eq!(listed[0]["threadCount"], 2);
    assert!(listed[0]["lastActivityAt"].as_u64().unwrap() > 0);

    ok(store.move_thread(one.clone(), Some(b.clone()))).await;
    assert_eq!(threads_of(&store, &a).await, vec![two.clone()]);
    assert_eq!(threads_of(&store, &b).await, vec![one.clone()]);
    ok(store.move_thread(two.clone(), None)).await;
    assert!(threads_of(&store, &a).await.is_empty());
    let summary = json(&ok(store.list_threads(None)).await);
    let two_listed = summary
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == two.as_str())
        .unwrap();
    assert!(two_listed.get("projectId").is_none());

    // Deleting a project leaves its threads working, in no project.
    ok(store.delete_project(b.clone())).await;
    assert!(threads_of(&store, &b).await.is_empty());
    let all = json(&ok(store.list_threads(None)).await);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("projectId").is_none())
    );
    append(&open, "user", "still writable");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
