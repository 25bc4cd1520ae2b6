//! One method per device, scope, config and backup-file endpoint, each with the retry policy
//! its effect allows. The scope list and the scope delete read their payload from the top level.

use reqwest::Method;

use super::changes::{Change, ChangeKind};
use super::client::{Call, Client, Idempotency};
use super::error::ApiError;
use super::model::{
    AddScopesRequest, BackupFile, BindDeviceRequest, CONFIG_NAME, ConfigInfo, DeleteScopesRequest,
    DeviceEntity, ModuleCode, NewBackupFile, Page, ScopeBaseInfo, ScopeDeleteResult, ScopeInfo,
    UpdateConfigRequest,
};
use super::path;

/// The local server's "device not bound" (our code).
pub const DEVICE_NOT_FOUND: i64 = 404_003;

/// A field that breaks its documented pattern: refused before it is sent.
fn not_sent(cause: String) -> ApiError {
    ApiError::NotSent { cause }
}

/// Scopes one call may add or delete (the reference's limit for `scopeList` and
/// `scopeIdList`).
pub const MAX_SCOPES_PER_CALL: usize = 100;

impl Client {
    /// `POST /device`. Not repeated: whether a repeat binds a second device is the server's
    /// business, not a client's guess.
    pub async fn bind_device(&self, request: &BindDeviceRequest) -> Result<DeviceEntity, ApiError> {
        let result: Result<DeviceEntity, ApiError> = async {
            request.check().map_err(not_sent)?;
            let call = Call::new(Method::POST, "/device", Idempotency::NotIdempotent).json(request);
            let answer = self.exchange(call).await?.answer;
            self.scrubbed(answer.data())
        }
        .await;
        let mut change = Change::of(ChangeKind::DeviceBind).ids([request.machine_code.clone()]);
        if let Ok(device) = &result {
            change = change.device(&device.device_id);
        }
        self.tell(change, &result);
        result
    }

    /// `GET /device`: every bound device (no paging); devices that cannot be read are counted.
    pub async fn list_devices(&self) -> Result<Page<DeviceEntity>, ApiError> {
        let call = Call::new(Method::GET, "/device", Idempotency::Idempotent);
        let answer = self.exchange(call).await?.answer;
        self.scrubbed_page(answer.page("data"))
    }

    /// `DELETE /device/{id}`: the device as it was, or `None` when a repeat after a lost answer
    /// found it unbound already.
    pub async fn unbind_device(&self, device_id: &str) -> Result<Option<DeviceEntity>, ApiError> {
        let result = async {
            let path = path::device(device_id)?;
            let call = Call::new(
                Method::DELETE,
                &path,
                Idempotency::Removal {
                    gone: DEVICE_NOT_FOUND,
                },
            );
            let answer = self.exchange(call).await?.answer;
            if answer.0.is_empty() {
                return Ok(None);
            }
            self.scrubbed(answer.data()).map(Some)
        }
        .await;
        self.tell(Change::of(ChangeKind::DeviceUnbind).device(device_id), &result);
        result
    }

    /// `POST /device/{id}/scope`: adds up to [`MAX_SCOPES_PER_CALL`] scopes of `module`. Not
    /// repeated.
    pub async fn add_scopes(
        &self,
        device_id: &str,
        module: ModuleCode,
        scopes: Vec<ScopeBaseInfo>,
    ) -> Result<Vec<ScopeInfo>, ApiError> {
        let result: Result<Vec<ScopeInfo>, ApiError> = async {
            let path = format!("{}/scope", path::device(device_id)?);
            let body = AddScopesRequest {
                module_code: module.code().into(),
                scope_list: scopes,
            };
            let call = Call::new(Method::POST, &path, Idempotency::NotIdempotent).json(&body);
            let answer = self.exchange(call).await?.answer;
            // The reference shows no answer: a server that sends none added them all the same.
            if !answer.0.contains_key("data") {
                return Ok(Vec::new());
            }
            self.scrubbed(answer.data())
        }
        .await;
        let mut change = Change::of(ChangeKind::ScopeAdd).module(module).device(device_id);
        if let Ok(added) = &result {
            change = change.ids(added.iter().map(|scope| scope.scope_id.clone()));
        }
        self.tell(change, &result);
        result
    }

    /// `GET /device/{id}/scope`: the scopes of `module`, from the top-level `scopeList`.
    pub async fn list_scopes(
        &self,
        device_id: &str,
        module: ModuleCode,
    ) -> Result<Page<ScopeInfo>, ApiError> {
        let path = format!("{}/scope", path::device(device_id)?);
        let call = Call::new(Method::GET, &path, Idempotency::Idempotent).param("moduleCode", module.code());
        let answer = self.exchange(call).await?.answer;
        self.scrubbed_page(answer.page("scopeList"))
    }

    /// `DELETE /device/{id}/scope`: deletes up to 100 scopes; the answer says which could not be.
    /// Not repeated, so that the report is of this one attempt.
    pub async fn delete_scopes(
        &self,
        device_id: &str,
        scope_ids: Vec<String>,
    ) -> Result<ScopeDeleteResult, ApiError> {
        let ids = scope_ids.clone();
        let result = async {
            let path = format!("{}/scope", path::device(device_id)?);
            let body = DeleteScopesRequest {
                scope_id_list: scope_ids,
            };
            let call = Call::new(Method::DELETE, &path, Idempotency::NotIdempotent).json(&body);
            let answer = self.exchange(call).await?.answer;
            self.scrubbed(answer.whole())
        }
        .await;
        self.tell(
            Change::of(ChangeKind::ScopeDelete).device(device_id).ids(ids),
            &result,
        );
        result
    }

    /// `GET /device/{id}/config`: one config.
    pub async fn get_config(
        &self,
        device_id: &str,
        module: ModuleCode,
        name: &str,
    ) -> Result<ConfigInfo, ApiError> {
        let path = format!("{}/config", path::device(device_id)?);
        CONFIG_NAME.check(name).map_err(not_sent)?;
        let call = Call::new(Method::GET, &path, Idempotency::Idempotent)
            .param("moduleCode", module.code())
            .param("configName", name);
        let answer = self.exchange(call).await?.answer;
        self.scrubbed(answer.data())
    }

    /// `GET /device/{id}/configs`: the configs of `module`.
    pub async fn list_configs(
        &self,
        device_id: &str,
        module: ModuleCode,
    ) -> Result<Page<ConfigInfo>, ApiError> {
        let path = format!("{}/configs", path::device(device_id)?);
        let call = Call::new(Method::GET, &path, Idempotency::Idempotent).param("moduleCode", module.code());
        let answer = self.exchange(call).await?.answer;
        self.scrubbed_page(answer.page("data"))
    }

    /// `PATCH /device/{id}/config`: sets a config if it still has the value the caller saw (a
    /// compare-and-set). Not repeated: a repeat after a lost success would be refused as stale.
    pub async fn update_config(
        &self,
        device_id: &str,
        request: &UpdateConfigRequest,
    ) -> Result<ConfigInfo, ApiError> {
        let result = async {
            let path = format!("{}/config", path::device(device_id)?);
            request.check().map_err(not_sent)?;
            let call = Call::new(Method::PATCH, &path, Idempotency::NotIdempotent).json(request);
            let answer = self.exchange(call).await?.answer;
            self.scrubbed(answer.data())
        }
        .await;
        self.tell(
            Change::of(ChangeKind::ConfigSet)
                .device(device_id)
                .ids([request.config_name.clone()]),
            &result,
        );
        result
    }

    /// `POST /record/{id}/file` under `lock_id`: registers a backup file's metadata; the file as
    /// stored, when the server answers it (the reference shows no answer). Not repeated: a lost
    /// answer may hide a registered file.
    pub async fn create_file(
        &self,
        lock_id: &str,
        record_id: &str,
        file: &NewBackupFile,
    ) -> Result<Option<BackupFile>, ApiError> {
        let result = async {
            let path = format!("{}/file", path::record(record_id)?);
            let call = Call::new(Method::POST, &path, Idempotency::NotIdempotent)
                .lock(lock_id)
                .json(file);
            let answer = self.exchange(call).await?.answer;
            if !answer.0.contains_key("data") {
                return Ok(None);
            }
            self.scrubbed(answer.data()).map(Some)
        }
        .await;
        self.tell(
            Change::of(ChangeKind::FileAdd)
                .lock(lock_id)
                .record(record_id)
                .ids([file.file_name.clone()]),
            &result,
        );
        result
    }
}
