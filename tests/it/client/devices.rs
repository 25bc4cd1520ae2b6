//! The device side of the client against the real local server: every call, its answer, each
//! error class, and isolation between users; plus answers shaped like the reference where it
//! differs from our server (a `failedScopeList` object, calls answered without `data`).

use koobackup::api::error::ErrorKind;
use koobackup::api::model::{BindDeviceRequest, NewBackupFile, ScopeBaseInfo, UpdateConfigRequest};
use koobackup::api::{Client, ClientOptions, Credentials, ModuleCode, Token};
use serde_json::json;

use crate::support::fake::{Fake, Reply};
use crate::support::{ALICE, BOB, TestServer, spawn_server};

fn client(server: &TestServer, user: (&str, &str)) -> Client {
    server.client_with(user, |options| options.retries = 0)
}

fn bind_request(machine: &str) -> BindDeviceRequest {
    BindDeviceRequest {
        machine_code: machine.into(),
        device_name: Some("Magic v3".into()),
        device_os: Some("android".into()),
    }
}

#[tokio::test]
async fn devices_scopes_and_configs_round_trip_and_stay_with_their_user() {
    let server = spawn_server().await;
    let (alice, bob) = (client(&server, ALICE), client(&server, BOB));
    let device = alice.bind_device(&bind_request("20250911")).await.unwrap();
    assert_eq!(
        alice.bind_device(&bind_request("20250911")).await.unwrap(),
        device
    );
    let listed = alice.list_devices().await.unwrap();
    assert_eq!(listed.items, std::slice::from_ref(&device));
    assert!(
        bob.list_devices().await.unwrap().items.is_empty(),
        "bob sees none of alice's"
    );
    let id = &device.device_id;

    let scopes = vec![
        ScopeBaseInfo {
            local_path: "/DCIM/Camera".into(),
            target_folder_path: "/Photos".into(),
        },
        ScopeBaseInfo {
            local_path: "/Pictures".into(),
            target_folder_path: String::new(),
        },
    ];
    let added = alice.add_scopes(id, ModuleCode::Album, scopes).await.unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(
        alice.list_scopes(id, ModuleCode::Album).await.unwrap().items,
        added
    );
    assert!(
        alice
            .list_scopes(id, ModuleCode::Folder)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let foreign = bob.list_scopes(id, ModuleCode::Album).await.unwrap_err();
    assert_eq!(
        (foreign.kind(), foreign.code()),
        (ErrorKind::NotFound, Some(404003))
    );
    let result = alice
        .delete_scopes(id, vec![added[0].scope_id.clone(), "77".into()])
        .await
        .unwrap();
    assert_eq!(result.scope_id_list, [added[0].scope_id.clone()]);
    assert_eq!(result.failed_scope_list[0].scope_id, "77");
    let invalid = alice
        .add_scopes(id, ModuleCode::Album, vec![ScopeBaseInfo::default()])
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::Invalid);

    let configs = alice.list_configs(id, ModuleCode::Album).await.unwrap().items;
    assert_eq!(configs.len(), 3);
    let wifi = alice
        .get_config(id, ModuleCode::Album, "wifi_only")
        .await
        .unwrap();
    let set = |current: &str| UpdateConfigRequest {
        module_code: "101".into(),
        config_name: "wifi_only".into(),
        current_config_value: current.into(),
        new_config_value: "off".into(),
    };
    let updated = alice.update_config(id, &set(&wifi.config_value)).await.unwrap();
    assert_eq!(updated.config_value, "off");
    let stale = alice
        .update_config(id, &set(&wifi.config_value))
        .await
        .unwrap_err();
    assert_eq!((stale.kind(), stale.code()), (ErrorKind::Conflict, Some(409004)));
    assert!(stale.to_string().contains("read it again"), "{stale}");
    let missing = alice.get_config(id, ModuleCode::Album, "nope").await.unwrap_err();
    assert_eq!(missing.code(), Some(404005));

    assert_eq!(alice.unbind_device(id).await.unwrap(), Some(device.clone()));
    let again = alice.unbind_device(id).await.unwrap_err();
    assert_eq!((again.kind(), again.code()), (ErrorKind::NotFound, Some(404003)));
    assert!(alice.list_devices().await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_file_is_registered_under_a_record_with_the_records_lock() {
    let server = spawn_server().await;
    let alice = client(&server, ALICE);
    let lock = alice.create_lock(ModuleCode::Folder).await.unwrap();
    let record = koobackup::api::client::NewRecord {
        module: ModuleCode::Folder,
        device_id: "nas".into(),
        properties: None,
    };
    let record = alice.create_record(&lock.lock_id, &record).await.unwrap();
    let file = NewBackupFile {
        file_name: "report-q3.pdf".into(),
        sha256: Some("ab".repeat(32)),
        length: Some(123_456),
        description: Some("quarterly report".into()),
        parent_folder: vec!["root".into()],
        ..NewBackupFile::default()
    };
    let created = alice
        .create_file(&lock.lock_id, &record.record_id, &file)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (created.size, created.sha256.as_deref()),
        (123_456, file.sha256.as_deref())
    );
    let files = alice.list_files(&record.record_id, 10, None).await.unwrap();
    assert_eq!(files.items, [created]);
    let bad = NewBackupFile {
        file_name: "a:b".into(),
        ..file.clone()
    };
    assert_eq!(
        alice
            .create_file(&lock.lock_id, &record.record_id, &bad)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
    let bob = client(&server, BOB);
    let bobs = bob.create_lock(ModuleCode::Folder).await.unwrap();
    let foreign = bob
        .create_file(&bobs.lock_id, &record.record_id, &file)
        .await
        .unwrap_err();
    assert_eq!(foreign.kind(), ErrorKind::Auth, "{foreign}");
}

#[tokio::test]
async fn answers_shaped_like_the_reference_are_read_too() {
    // The reference documents failedScopeList as one object, shows no answer for adding scopes
    // and creating a file, and sends `code` as a string on sibling pages.
    let fake = Fake::start(|request| match (request.method.as_str(), request.path.as_str()) {
        ("DELETE", _) => Reply::Json(json!({
            "code": "0", "msg": "Success",
            "scopeIdList": ["1"],
            "failedScopeList": {"scopeId": "2", "errorCode": "13000309", "msg": "resource does not exist"}
        })),
        ("GET", "/device") => Reply::Json(json!({"code": 0, "msg": "success", "data": [
            {"deviceId":"1775406005920779393","machineCode":"20250911","deviceName":"Magic v3","deviceOS":"android","createTime":"2025-09-15T06:14:48.630Z"},
            {"deviceId": 5}
        ]})),
        _ => Reply::Json(json!({"code": 0, "msg": "success"})),
    })
    .await;
    let mut options = ClientOptions::new(&fake.base_url, Credentials::new("u", Token::new("t")));
    options.retries = 0;
    let client = Client::new(options).unwrap();
    let result = client
        .delete_scopes("1775406005920779393", vec!["1".into(), "2".into()])
        .await
        .unwrap();
    assert_eq!(result.failed_scope_list[0].error_code, "13000309");
    let devices = client.list_devices().await.unwrap();
    assert_eq!(devices.items.len(), 1);
    assert_eq!(
        devices.unreadable.len(),
        1,
        "the odd device is counted, not fatal"
    );
    assert!(
        client
            .add_scopes("1", ModuleCode::Album, vec![])
            .await
            .unwrap()
            .is_empty()
    );
    let file = NewBackupFile {
        file_name: "x".into(),
        ..NewBackupFile::default()
    };
    assert_eq!(client.create_file("l@100", "1", &file).await.unwrap(), None);
}
