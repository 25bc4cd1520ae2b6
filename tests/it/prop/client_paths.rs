//! Property test of the paths the client builds: for arbitrary ids (dot segments, slashes,
//! percent signs, blanks, any Unicode, very long ones) given to every endpoint that takes one,
//! the real `Client` either refuses before anything is sent, or the request that reaches a
//! loopback KooDrive has exactly the segments of its endpoint, the id one of them, intact.

use std::time::Duration;

use koobackup::api::model::{NewBackupFile, ScopeBaseInfo, UpdateConfigRequest};
use koobackup::api::{ApiError, Client, ClientOptions, Credentials, ModuleCode, Token};
use proptest::prelude::*;
use serde_json::json;

use crate::support::fake::{Fake, Reply};

const LOCK: &str = "78e41c7e-db02-4d55-85b3-8153e4fefd2e@100";

/// Every call that puts an id in its path, with the segments its endpoint has (`{}` is the id).
#[derive(Debug, Clone, Copy)]
enum Call {
    GetRecord,
    ListFiles,
    CompleteRecord,
    DeleteRecord,
    CreateFile,
    UnbindDevice,
    ListScopes,
    AddScopes,
    DeleteScopes,
    GetConfig,
    ListConfigs,
    UpdateConfig,
}

const CALLS: [Call; 12] = [
    Call::GetRecord,
    Call::ListFiles,
    Call::CompleteRecord,
    Call::DeleteRecord,
    Call::CreateFile,
    Call::UnbindDevice,
    Call::ListScopes,
    Call::AddScopes,
    Call::DeleteScopes,
    Call::GetConfig,
    Call::ListConfigs,
    Call::UpdateConfig,
];

impl Call {
    /// The method and the segments below the API prefix.
    fn endpoint(self, id: &str) -> (&'static str, Vec<String>) {
        let segments = |parts: &[&str]| {
            parts
                .iter()
                .map(|p| if *p == "{}" { id.to_string() } else { p.to_string() })
                .collect()
        };
        match self {
            Call::GetRecord => ("GET", segments(&["record", "{}"])),
            Call::ListFiles => ("GET", segments(&["record", "{}", "files"])),
            Call::CompleteRecord => ("PATCH", segments(&["record", "{}"])),
            Call::DeleteRecord => ("DELETE", segments(&["record", "{}"])),
            Call::CreateFile => ("POST", segments(&["record", "{}", "file"])),
            Call::UnbindDevice => ("DELETE", segments(&["device", "{}"])),
            Call::ListScopes => ("GET", segments(&["device", "{}", "scope"])),
            Call::AddScopes => ("POST", segments(&["device", "{}", "scope"])),
            Call::DeleteScopes => ("DELETE", segments(&["device", "{}", "scope"])),
            Call::GetConfig => ("GET", segments(&["device", "{}", "config"])),
            Call::ListConfigs => ("GET", segments(&["device", "{}", "configs"])),
            Call::UpdateConfig => ("PATCH", segments(&["device", "{}", "config"])),
        }
    }

    /// Makes the call with `id`; only whether it was refused unsent matters.
    async fn run(self, client: &Client, id: &str) -> Result<(), ApiError> {
        let module = ModuleCode::Folder;
        let scope = ScopeBaseInfo {
            local_path: "/sdcard/DCIM".into(),
            target_folder_path: String::new(),
        };
        let update = UpdateConfigRequest {
            module_code: "100".into(),
            config_name: "wifi_only".into(),
            current_config_value: "on".into(),
            new_config_value: "off".into(),
        };
        let file = NewBackupFile {
            file_name: "contacts.vcf".into(),
            ..NewBackupFile::default()
        };
        match self {
            Call::GetRecord => client.get_record(id).await.map(drop),
            Call::ListFiles => client.list_files(id, 10, None).await.map(drop),
            Call::CompleteRecord => client.complete_record(LOCK, id, None).await,
            Call::DeleteRecord => client.delete_record(LOCK, id).await.map(drop),
            Call::CreateFile => client.create_file(LOCK, id, &file).await.map(drop),
            Call::UnbindDevice => client.unbind_device(id).await.map(drop),
            Call::ListScopes => client.list_scopes(id, module).await.map(drop),
            Call::AddScopes => client.add_scopes(id, module, vec![scope]).await.map(drop),
            Call::DeleteScopes => client.delete_scopes(id, vec!["s1".into()]).await.map(drop),
            Call::GetConfig => client.get_config(id, module, "wifi_only").await.map(drop),
            Call::ListConfigs => client.list_configs(id, module).await.map(drop),
            Call::UpdateConfig => client.update_config(id, &update).await.map(drop),
        }
    }
}

/// Ids a path could trip over, and anything at all.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,24}",
        2 => "[./%2eE ]{0,6}",
        1 => prop::sample::select(vec![".", "..", "", " ", "%2e", "%2e%2e", ".%2e", "a/../b", "?x", "#y", "a\\b"])
            .prop_map(str::to_string),
        1 => (100usize..400).prop_map(|n| "9".repeat(n)),
    ]
}

/// A path below the prefix as its decoded segments (`/record/a%2Fb` is `record`, `a/b`).
fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_request_has_exactly_the_segments_of_its_endpoint(id in id(), call in prop::sample::select(CALLS.to_vec())) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (result, seen) = runtime.block_on(async {
            let fake = Fake::start(|_| Reply::ok(json!({}))).await;
            let mut options = ClientOptions::new(&fake.base_url, Credentials::new("alice", Token::new("t")));
            options.timeout = Duration::from_secs(5);
            options.retries = 0;
            let client = Client::new(options).unwrap();
            let result = call.run(&client, &id).await;
            (result, fake.seen())
        });
        match result {
            Err(ApiError::NotSent { .. }) => prop_assert!(seen.is_empty(), "{call:?} {id:?}: sent {seen:?}"),
            _ => {
                let (method, expected) = call.endpoint(&id);
                prop_assert_eq!(seen.len(), 1, "{:?} {:?}", call, id);
                prop_assert_eq!(seen[0].method.as_str(), method);
                prop_assert_eq!(segments(&seen[0].path), expected, "{:?} {:?}: {}", call, id, seen[0].path);
            }
        }
    }
}
