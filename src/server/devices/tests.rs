use super::*;
use crate::server::rules;
use crate::server::store::{self, Store};

fn t0() -> DateTime<Utc> {
    store::from_millis(1_760_000_000_000)
}

fn bind(c: &mut Connection, user: &str, machine: &str) -> DeviceEntity {
    let request = BindDeviceRequest {
        machine_code: machine.into(),
        device_name: Some("Magic v3".into()),
        device_os: Some("android".into()),
    };
    bind_device(c, user, request, t0()).unwrap()
}

fn scope(local: &str, target: &str) -> ScopeBaseInfo {
    ScopeBaseInfo {
        local_path: local.into(),
        target_folder_path: target.into(),
    }
}

#[test]
fn binding_validates_the_fields_and_a_machine_code_binds_once() {
    let store = Store::open_in_memory();
    let c = &mut *store.conn();
    let device = bind(c, "alice", "20250911");
    assert_eq!(device.machine_code, "20250911");
    assert_eq!(
        (device.device_name.as_str(), device.device_os.as_str()),
        ("Magic v3", "android")
    );
    assert!(
        device.device_id.parse::<i64>().is_ok(),
        "numeric ids like the reference's"
    );
    assert_eq!(
        bind(c, "alice", "20250911"),
        device,
        "the same machine code: the same device"
    );
    assert_ne!(
        bind(c, "bob", "20250911").device_id,
        device.device_id,
        "another user's own device"
    );
    assert_eq!(list_devices(c, "alice").unwrap(), [device]);

    for (machine, name, os) in [
        ("", None, None),
        ("has space", None, None),
        (&"x".repeat(65)[..], None, None),
        ("ok", Some("semi;colon"), None),
        ("ok", Some(&"n".repeat(33)[..]), None),
        ("ok", None, Some("iOS-18")),
    ] {
        let request = BindDeviceRequest {
            machine_code: machine.into(),
            device_name: name.map(String::from),
            device_os: os.map(String::from),
        };
        let error = bind_device(c, "alice", request, t0()).unwrap_err();
        assert_eq!(error.code(), 400001, "{machine:?} {name:?} {os:?}");
    }
    // The reference's patterns allow these.
    let request = BindDeviceRequest {
        machine_code: "A_1".repeat(21),
        device_name: Some("Mia's-laptop x1".replace('\'', "")),
        device_os: Some("Fedora 41".into()),
    };
    bind_device(c, "alice", request, t0()).unwrap();
}

#[test]
fn a_new_device_has_the_default_configs_of_every_module_and_a_compare_and_set() {
    let store = Store::open_in_memory();
    let c = &mut *store.conn();
    let id = bind(c, "alice", "m1").device_id;
    let configs = list_configs(c, "alice", &id, "101").unwrap();
    let names: Vec<&str> = configs.iter().map(|c| c.config_name.as_str()).collect();
    assert_eq!(names, ["auto_backup", "schedule", "wifi_only"]);
    let wifi = get_config(c, "alice", &id, "101", "wifi_only").unwrap();
    assert_eq!(wifi.config_value, "on");
    assert_eq!(wifi.description.as_deref(), Some("Back up only over Wi-Fi"));

    let update = |current: &str, new: &str| UpdateConfigRequest {
        module_code: "101".into(),
        config_name: "wifi_only".into(),
        current_config_value: current.into(),
        new_config_value: new.into(),
    };
    let updated = update_config(c, "alice", &id, update("on", "off")).unwrap();
    assert_eq!(
        (updated.config_value.as_str(), updated.description),
        ("off", None)
    );
    let stale = update_config(c, "alice", &id, update("on", "off")).unwrap_err();
    assert_eq!(stale.code(), 409004, "{stale}");
    assert!(stale.message().contains("\"off\""), "{stale}");
    assert_eq!(
        get_config(c, "alice", &id, "100", "wifi_only")
            .unwrap()
            .config_value,
        "on",
        "per module"
    );
    assert_eq!(
        get_config(c, "alice", &id, "101", "nope").unwrap_err().code(),
        404005
    );
    assert_eq!(
        update_config(c, "alice", &id, update("off", "not allowed!"))
            .unwrap_err()
            .code(),
        400001
    );
    assert_eq!(list_configs(c, "alice", &id, "103").unwrap_err().code(), 400001);
    assert_eq!(
        list_configs(c, "bob", &id, "101").unwrap_err().code(),
        404003,
        "another user's device"
    );
}

#[test]
fn scopes_are_added_all_or_none_listed_per_module_and_deleted_with_failures_reported() {
    let store = Store::open_in_memory();
    let c = &mut *store.conn();
    let id = bind(c, "alice", "m1").device_id;
    let added = add_scopes(
        c,
        "alice",
        &id,
        "101",
        vec![scope("/DCIM", "/Photos"), scope("", "/Cloud only")],
        t0(),
    )
    .unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0].module_code, "101");
    add_scopes(c, "alice", &id, "100", vec![scope("/home/mia", "")], t0()).unwrap();
    assert_eq!(list_scopes(c, "alice", &id, "101").unwrap(), added);

    for bad in [
        vec![scope("", "")],
        vec![scope("relative/path", "/x")],
        vec![scope("/a\\b", "/x")],
        vec![scope("/ok", &format!("/{}", "x".repeat(10_000)))],
        vec![],
        (0..101).map(|i| scope(&format!("/{i}"), "")).collect(),
        vec![scope("/fine", ""), scope("", "")],
    ] {
        assert_eq!(
            add_scopes(c, "alice", &id, "101", bad, t0()).unwrap_err().code(),
            400001
        );
    }
    assert_eq!(
        list_scopes(c, "alice", &id, "101").unwrap().len(),
        2,
        "a refused batch adds nothing"
    );

    let ids = vec![added[0].scope_id.clone(), "999999".into(), "not-a-number".into()];
    let result = delete_scopes(c, "alice", &id, ids).unwrap();
    assert_eq!(result.scope_id_list, [added[0].scope_id.clone()]);
    let failed: Vec<(&str, &str)> = result
        .failed_scope_list
        .iter()
        .map(|f| (f.scope_id.as_str(), f.error_code.as_str()))
        .collect();
    assert_eq!(failed, [("999999", "404004"), ("not-a-number", "404004")]);
    assert_eq!(list_scopes(c, "alice", &id, "101").unwrap(), [added[1].clone()]);
    // Bob cannot delete alice's scope even knowing its id.
    let bobs = bind(c, "bob", "m1").device_id;
    let result = delete_scopes(c, "bob", &bobs, vec![added[1].scope_id.clone()]).unwrap();
    assert!(result.scope_id_list.is_empty());
    assert_eq!(list_scopes(c, "alice", &id, "101").unwrap().len(), 1);
}

#[test]
fn unbinding_keeps_the_records_and_removes_scopes_and_configs() {
    let store = Store::open_in_memory();
    let c = &mut *store.conn();
    let device = bind(c, "alice", "m1");
    let id = device.device_id.clone();
    add_scopes(c, "alice", &id, "102", vec![scope("/contacts", "")], t0()).unwrap();
    let lock = rules::create_lock(
        c,
        "alice",
        ModuleCode::AddressBook,
        t0(),
        chrono::Duration::minutes(10),
    )
    .unwrap();
    let new = rules::NewRecord {
        module: ModuleCode::AddressBook,
        device_id: id.clone(),
        properties: None,
    };
    let record = rules::create_record(c, "alice", Some(&lock), new, t0()).unwrap();
    assert_eq!(
        record.device_info.device_name, "Magic v3",
        "a record shows its bound device"
    );

    assert_eq!(unbind_device(c, "alice", &id).unwrap(), device);
    assert!(list_devices(c, "alice").unwrap().is_empty());
    assert_eq!(unbind_device(c, "alice", &id).unwrap_err().code(), 404003);
    assert_eq!(list_scopes(c, "alice", &id, "102").unwrap_err().code(), 404003);
    let kept = rules::view_record(c, "alice", &record.record_id).unwrap();
    assert_eq!(
        kept.device_info.device_id, id,
        "the record stays, with its device id"
    );
    // Binding the machine again gives a new device, without the old scopes.
    let again = bind(c, "alice", "m1");
    assert_ne!(again.device_id, id);
    assert!(
        list_scopes(c, "alice", &again.device_id, "102")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_file_needs_a_valid_name_and_a_live_lock_for_the_records_module() {
    let store = Store::open_in_memory();
    let c = &mut *store.conn();
    let ttl = chrono::Duration::minutes(10);
    let lock = rules::create_lock(c, "alice", ModuleCode::Album, t0(), ttl).unwrap();
    let new = rules::NewRecord {
        module: ModuleCode::Album,
        device_id: "d".into(),
        properties: None,
    };
    let record = rules::create_record(c, "alice", Some(&lock), new, t0())
        .unwrap()
        .record_id;
    let file = |name: &str| NewBackupFile {
        file_name: name.into(),
        sha256: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        length: Some(4096),
        description: Some("first photo".into()),
        ..NewBackupFile::default()
    };
    let created = create_file(c, "alice", Some(&lock), &record, file("IMG_0001.jpg"), t0()).unwrap();
    assert_eq!(
        (created.size, created.description.as_deref()),
        (4096, Some("first photo"))
    );
    let listed = rules::list_files(c, "alice", &record, 10, None).unwrap();
    assert_eq!(listed.items, [created]);

    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "a:b",
        "what?",
        "star*",
        "pipe|",
        "<tag>",
        "quote\"",
        "tab\there",
        &"n".repeat(251),
    ] {
        assert_eq!(
            create_file(c, "alice", Some(&lock), &record, file(bad), t0())
                .unwrap_err()
                .code(),
            400001,
            "{bad:?}"
        );
    }
    let mut not_hex = file("x");
    not_hex.sha256 = Some("zz".into());
    assert_eq!(
        create_file(c, "alice", Some(&lock), &record, not_hex, t0())
            .unwrap_err()
            .code(),
        400001
    );
    assert_eq!(
        create_file(c, "alice", None, &record, file("x"), t0())
            .unwrap_err()
            .code(),
        404002
    );
    let other = rules::create_lock(c, "alice", ModuleCode::Folder, t0(), ttl).unwrap();
    assert_eq!(
        create_file(c, "alice", Some(&other), &record, file("x"), t0())
            .unwrap_err()
            .code(),
        409003
    );
    let bobs = rules::create_lock(c, "bob", ModuleCode::Album, t0(), ttl).unwrap();
    assert_eq!(
        create_file(c, "bob", Some(&bobs), &record, file("x"), t0())
            .unwrap_err()
            .code(),
        403001
    );
    assert_eq!(
        rules::list_files(c, "alice", &record, 10, None)
            .unwrap()
            .items
            .len(),
        1,
        "nothing else added"
    );
}
