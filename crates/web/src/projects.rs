//! `ChatStore`'s project calls. Projects live in the user's index; a thread names its project in
//! its own document, and the index lists it there.

use chatsync_model::{PatchTarget, ProjectId};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::{Result, StoreError};
use crate::fields::patch_from_js;
use crate::input::{self, new_id};
use crate::output::to_js;
use crate::store::{ChatStore, open_listed, promise};
use crate::user::stored;

fn project_id(id: &str) -> Result<ProjectId> {
    ProjectId::new(id).map_err(|_| StoreError::NotFound(id.to_owned()))
}

#[wasm_bindgen]
impl ChatStore {
    /// Creates a project (`name` required); resolves to it once stored.
    #[wasm_bindgen(js_name = createProject, unchecked_return_type = "Promise<Project>")]
    pub fn create_project(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProjectInit")] init: JsValue,
    ) -> Promise {
        let created = patch_from_js(PatchTarget::Project, &init).and_then(|fields| {
            let id = ProjectId::new(new_id())?;
            let project = self
                .inner
                .write_index(|index, now| index.create_project(&id, &fields, now))?;
            to_js(&project)
        });
        stored(&self.inner, created)
    }

    /// Changes the fields the patch names (rename, describe, …; `null` clears one but the name);
    /// resolves to the project once stored.
    #[wasm_bindgen(js_name = updateProject, unchecked_return_type = "Promise<Project>")]
    pub fn update_project(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "ProjectPatch")] patch: JsValue,
    ) -> Promise {
        let updated = patch_from_js(PatchTarget::Project, &patch).and_then(|fields| {
            let id = project_id(&id)?;
            let project = self
                .inner
                .write_index(|index, now| index.update_project(&id, &fields, now))?;
            to_js(&project)
        });
        stored(&self.inner, updated)
    }

    /// Archives a project: `listProjects()` leaves it out unless asked; its threads stay in it.
    #[wasm_bindgen(js_name = archiveProject, unchecked_return_type = "Promise<Project>")]
    pub fn archive_project(&self, id: String) -> Promise {
        let archived = project_id(&id).and_then(|id| {
            let project = self
                .inner
                .write_index(|index, now| index.archive_project(&id, now))?;
            to_js(&project)
        });
        stored(&self.inner, archived)
    }

    /// Deletes a project for good. Its threads keep working, in no project.
    #[wasm_bindgen(js_name = deleteProject, unchecked_return_type = "Promise<void>")]
    pub fn delete_project(&self, id: String) -> Promise {
        let deleted = project_id(&id).and_then(|id| {
            self.inner
                .write_index(|index, now| index.delete_project(&id, now))
        });
        stored(&self.inner, deleted.map(|()| JsValue::UNDEFINED))
    }

    /// The projects by name, each with its thread count and last activity; archived ones only with
    /// `{ includeArchived: true }`.
    #[wasm_bindgen(js_name = listProjects, unchecked_return_type = "Project[]")]
    pub fn list_projects(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListProjectsOptions")] options: Option<
            JsValue,
        >,
    ) -> Result<JsValue> {
        self.inner.ensure_open()?;
        // The same shape as `listThreads`' model part: `{ includeArchived? }`.
        let options: chatsync_model::input::ListInput =
            input::from_js_or_default(&options.unwrap_or(JsValue::UNDEFINED))?;
        let projects = self
            .inner
            .read_index(|index| index.list_projects(options.include_archived));
        to_js(&projects)
    }

    /// Moves a thread into a project, or out of any with `null`; resolves once stored.
    #[wasm_bindgen(js_name = moveThread, unchecked_return_type = "Promise<void>")]
    pub fn move_thread(
        &self,
        #[wasm_bindgen(js_name = threadId)] thread_id: String,
        #[wasm_bindgen(js_name = projectId)] project_id: Option<String>,
    ) -> Promise {
        let inner = std::rc::Rc::clone(&self.inner);
        promise(async move {
            let project = project_id.as_deref().map(self::project_id).transpose()?;
            let handle = open_listed(&inner, &thread_id).await?;
            inner.read_index(|index| {
                handle.write(|thread, now| {
                    thread.move_to_project(index, project.as_ref(), now)?;
                    thread.commit();
                    Ok(())
                })
            })?;
            inner.schedule_repaint(&handle);
            inner.flush().await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
