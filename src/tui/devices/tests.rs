//! `App::update` for the devices pane: the figures as their pages arrive, the background size
//! reading, a device's settings and scopes, unbinding, browsing its records; and its frames.

use crossterm::event::KeyCode;

use super::dialogs::{Dialog, Edit, Loading};
use super::{Load, RecordSize};
use crate::api::model::{ConfigInfo, ScopeDeleteFailedInfo, ScopeDeleteResult, ScopeInfo};
use crate::api::{BackupRecord, ModuleCode, Page, RecordStatus};
use crate::tui::action::{
    Action, ApiCall, ApiOutcome, Effect, ListingEnd, RequestId, SizeRequest, SizesRead,
};
use crate::tui::app::App;
use crate::tui::feature::Pane;
use crate::tui::test_support::{
    api_error, app_holding, calls, ch, device, only_call, press, record, reply_measured, screen_of, session,
    t0, type_text,
};

fn app() -> App {
    app_holding(session(), Vec::new(), 110, 40)
}

/// Answers `request` at `t0`, the server's clock on ours.
fn reply(app: &mut App, request: RequestId, outcome: ApiOutcome) -> Vec<Effect> {
    app.update(reply_measured(request, outcome, t0(), 3, 0))
}

/// The sizes asked of the runtime among `effects`.
fn size_requests(effects: &[Effect]) -> Vec<SizeRequest> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::ReadSizes(request) => Some(request.clone()),
            _ => None,
        })
        .collect()
}

/// Shows the pane and answers: three devices, and in module 102 nine records (three per
/// device), the other modules empty. Returns the sizes asked for meanwhile.
fn loaded(app: &mut App) -> Vec<SizeRequest> {
    let effects = ch(app, 'D');
    let mut requests = Vec::new();
    for (request, call) in calls(&effects) {
        let outcome = match call {
            ApiCall::ListDevices => {
                ApiOutcome::DevicesListed(Ok(Page::new((0..3).map(device).collect(), None)))
            }
            ApiCall::ListRecords { query, .. } if query.module == ModuleCode::AddressBook => {
                let statuses = [
                    RecordStatus::Completed,
                    RecordStatus::New,
                    RecordStatus::ToBeDeleted,
                ];
                let items = (0..9).map(|n| record(n, statuses[(n / 3) % 3])).collect();
                ApiOutcome::RecordsPage(Ok(Page::new(items, None)))
            }
            ApiCall::ListRecords { .. } => ApiOutcome::RecordsPage(Ok(Page::new(Vec::new(), None))),
            other => panic!("unexpected {other:?}"),
        };
        let effects = reply(app, request, outcome);
        assert!(
            !effects.iter().any(|e| matches!(
                e,
                Effect::Api {
                    call: ApiCall::ListFiles { .. },
                    ..
                }
            )),
            "file lists are the size reading's business"
        );
        requests.extend(size_requests(&effects));
    }
    requests
}

/// The sizes of `listing` coming back.
fn sizes_came(app: &mut App, listing: u64, sizes: &[(&str, RecordSize)]) -> Vec<Effect> {
    let sizes = sizes
        .iter()
        .map(|(id, size)| (id.to_string(), size.clone()))
        .collect();
    app.update(Action::Sizes(SizesRead { listing, sizes }))
}

#[test]
fn showing_the_pane_asks_for_devices_and_the_records_of_every_module_once() {
    let mut app = app();
    let effects = ch(&mut app, 'D');
    assert_eq!((app.focus, app.top_pane()), (Pane::Devices, Pane::Devices));
    let asked: Vec<ApiCall> = calls(&effects).into_iter().map(|(_, c)| c).collect();
    assert_eq!(asked.len(), 4);
    assert!(asked.contains(&ApiCall::ListDevices));
    for module in ModuleCode::ALL {
        assert!(asked.iter().any(|c| matches!(c, ApiCall::ListRecords { query, cursor: None } if query.module == module && query.device_id.is_none())));
    }
    press(&mut app, KeyCode::Tab);
    assert!(
        calls(&ch(&mut app, 'D')).is_empty(),
        "shown again: nothing asked again"
    );
}

#[test]
fn each_listed_record_s_size_is_asked_for_once_and_the_listing_s_end_is_said() {
    let mut app = app();
    let requests = loaded(&mut app);
    assert_eq!(requests.len(), 1, "the empty pages ask for nothing: {requests:?}");
    let request = &requests[0];
    assert_eq!(request.records.len(), 9);
    assert_eq!(
        request.end,
        Some(ListingEnd::Complete),
        "102 was the last module listed"
    );
    assert_eq!(app.devices.sizes_pending(), 9);
    let listing = request.listing;
    let id = |n| record(n, RecordStatus::Completed).record_id;
    let log_before = app.activity.entries().len();

    // Sizes come in batches; one of another listing is ignored.
    sizes_came(
        &mut app,
        listing,
        &[(&id(0), RecordSize::Known(2048)), (&id(1), RecordSize::Known(10))],
    );
    sizes_came(&mut app, listing + 7, &[(&id(2), RecordSize::Known(99))]);
    assert_eq!(app.devices.sizes().get(&id(0)), Some(&RecordSize::Known(2048)));
    assert_eq!(
        app.devices.sizes().get(&id(2)),
        None,
        "an abandoned listing's size"
    );
    assert_eq!(app.devices.sizes_pending(), 7);
    assert_eq!(
        app.activity.entries().len(),
        log_before,
        "sizes read are not logged"
    );

    let rest: Vec<(String, RecordSize)> = (2..9)
        .map(|n| {
            (
                id(n),
                if n == 4 {
                    RecordSize::Unknown
                } else {
                    RecordSize::Known(10)
                },
            )
        })
        .collect();
    let rest: Vec<(&str, RecordSize)> = rest.iter().map(|(id, s)| (id.as_str(), s.clone())).collect();
    sizes_came(&mut app, listing, &rest);
    assert!(app.devices.is_complete());
    assert!(
        app.activity.entries().len() > log_before,
        "a size that could not be read is logged"
    );
}

#[test]
fn a_refresh_asks_for_every_size_again_and_a_failed_listing_ends_partial() {
    let mut app = app();
    let first = loaded(&mut app);
    let effects = ch(&mut app, 'r');
    assert_eq!(
        app.devices.sizes_pending(),
        0,
        "the old listing's sizes are no longer awaited"
    );
    let mut requests = Vec::new();
    for (request, call) in calls(&effects) {
        let outcome = match call {
            ApiCall::ListDevices => ApiOutcome::DevicesListed(Ok(Page::new(vec![device(0)], None))),
            ApiCall::ListRecords { query, .. } if query.module == ModuleCode::AddressBook => {
                ApiOutcome::RecordsPage(Err(api_error(500, 500001, "boom")))
            }
            ApiCall::ListRecords { .. } => {
                ApiOutcome::RecordsPage(Ok(Page::new(vec![record(0, RecordStatus::Completed)], None)))
            }
            other => panic!("unexpected {other:?}"),
        };
        requests.extend(size_requests(&reply(&mut app, request, outcome)));
    }
    assert!(
        requests.iter().all(|r| r.listing > first[0].listing),
        "a new listing"
    );
    let asked: usize = requests.iter().map(|r| r.records.len()).sum();
    assert_eq!(asked, 1, "record 0 once, although two modules listed it");
    assert_eq!(requests.last().unwrap().end, Some(ListingEnd::Partial));
    assert_eq!(requests.iter().filter(|r| r.end.is_some()).count(), 1);
}

#[test]
fn the_figures_follow_the_records_of_each_device() {
    let mut app = app();
    loaded(&mut app);
    assert_eq!(app.devices.load(), &Load::Loaded);
    let screen = screen_of(&app, 110, 40);
    assert!(screen.contains("[D] Devices (3)"), "{screen}");
    // dev-0 has records 0 (completed, now), 3 (new, 3 h old) and 6 (to be deleted).
    assert!(screen.contains("Pixel 7"), "{screen}");
    let pixel = screen
        .lines()
        .skip_while(|l| !l.contains("Pixel 7"))
        .nth(3)
        .unwrap_or_default();
    assert!(
        pixel.contains("102 address book") && pixel.contains("1 done · 1 new · 1 to delete"),
        "{screen}"
    );
    assert!(pixel.contains("fresh  0s ago"), "{pixel}");
    assert!(
        screen.contains("reading figures"),
        "sizes are still being read: {screen}"
    );
}

/// Opens the first device and answers its settings and scopes of 102.
fn opened(app: &mut App) -> Vec<(RequestId, ApiCall)> {
    loaded(app);
    let effects = press(app, KeyCode::Enter);
    let asked = calls(&effects);
    for (request, call) in asked.clone() {
        let outcome = match call {
            ApiCall::ListConfigs { device_id, module } => {
                assert_eq!(
                    (device_id.as_str(), module),
                    ("dev-0", ModuleCode::AddressBook),
                    "the module with records"
                );
                let configs = [("auto_backup", "on"), ("wifi_only", "on")]
                    .map(|(name, value)| ConfigInfo {
                        device_id: "dev-0".into(),
                        module_code: "102".into(),
                        config_name: name.into(),
                        config_value: value.into(),
                        description: Some(format!("{name} setting")),
                    })
                    .to_vec();
                ApiOutcome::ConfigsListed(Ok(Page::new(configs, None)))
            }
            ApiCall::ListScopes { .. } => ApiOutcome::ScopesListed(Ok(Page::new(
                vec![ScopeInfo {
                    scope_id: "6".into(),
                    module_code: "102".into(),
                    local_path: "/contacts".into(),
                    target_folder_path: "/Contacts".into(),
                    create_time: None,
                }],
                None,
            ))),
            other => panic!("unexpected {other:?}"),
        };
        reply(app, request, outcome);
    }
    asked
}

fn detail(app: &App) -> &super::dialogs::Detail {
    match &app.devices.dialog {
        Some(Dialog::Detail(detail)) => detail,
        other => panic!("the device is open, not {other:?}"),
    }
}

#[test]
fn a_setting_is_changed_with_the_value_it_had_and_a_conflict_reads_them_again() {
    let mut app = app();
    opened(&mut app);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert!(matches!(&detail(&app).edit, Some(Edit::Config { name, .. }) if name == "wifi_only"));
    crate::tui::test_support::ctrl(&mut app, 'u');
    type_text(&mut app, "off");
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    let ApiCall::UpdateConfig {
        device_id,
        request: update,
    } = call
    else {
        panic!("an update")
    };
    assert_eq!(device_id, "dev-0");
    assert_eq!(
        (
            update.current_config_value.as_str(),
            update.new_config_value.as_str()
        ),
        ("on", "off")
    );
    let changed = api_error(409, 409004, "config wifi_only is \"off\" now");
    let (reread, call) = only_call(&reply(&mut app, request, ApiOutcome::ConfigUpdated(Err(changed))));
    assert!(matches!(call, ApiCall::ListConfigs { .. }));
    assert!(
        detail(&app)
            .message
            .as_ref()
            .unwrap()
            .contains("changed by someone else")
    );
    let now_off = [("auto_backup", "on"), ("wifi_only", "off")]
        .map(|(name, value)| ConfigInfo {
            device_id: "dev-0".into(),
            module_code: "102".into(),
            config_name: name.into(),
            config_value: value.into(),
            description: None,
        })
        .to_vec();
    reply(
        &mut app,
        reread,
        ApiOutcome::ConfigsListed(Ok(Page::new(now_off, None))),
    );
    let shown = screen_of(&app, 110, 40);
    assert!(
        shown.contains("wifi_only            off"),
        "the value read again: {shown}"
    );

    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    let (request, _) = only_call(&press(&mut app, KeyCode::Enter));
    let done = ConfigInfo {
        device_id: "dev-0".into(),
        module_code: "102".into(),
        config_name: "auto_backup".into(),
        config_value: "on".into(),
        description: None,
    };
    reply(&mut app, request, ApiOutcome::ConfigUpdated(Ok(done)));
    assert_eq!(detail(&app).message.as_deref(), Some("auto_backup is now on"));
}

#[test]
fn scopes_are_added_as_local_arrow_target_and_deleted_after_asking() {
    let mut app = app();
    opened(&mut app);
    ch(&mut app, 'a');
    type_text(&mut app, "sim");
    assert!(calls(&press(&mut app, KeyCode::Enter)).is_empty());
    assert!(
        matches!(&detail(&app).edit, Some(Edit::AddScope { error: Some(e), .. }) if e.contains("must start with /"))
    );
    crate::tui::test_support::ctrl(&mut app, 'u');
    type_text(&mut app, "/sim => /Contacts/SIM");
    let (request, call) = only_call(&press(&mut app, KeyCode::Enter));
    let ApiCall::AddScopes { scopes, module, .. } = call else {
        panic!("an add")
    };
    assert_eq!(module, ModuleCode::AddressBook);
    assert_eq!(
        (
            scopes[0].local_path.as_str(),
            scopes[0].target_folder_path.as_str()
        ),
        ("/sim", "/Contacts/SIM")
    );
    let (_, reread) = only_call(&reply(&mut app, request, ApiOutcome::ScopesAdded(Ok(Vec::new()))));
    assert!(
        matches!(reread, ApiCall::ListScopes { .. }),
        "the scopes are read again"
    );

    // The scope is the third row, below the two settings.
    let mut app = self::app();
    opened(&mut app);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert!(calls(&ch(&mut app, 'd')).is_empty(), "asks first");
    assert!(calls(&ch(&mut app, 'n')).is_empty(), "no: nothing deleted");
    ch(&mut app, 'd');
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert!(matches!(call, ApiCall::DeleteScopes { scope_ids, .. } if scope_ids == ["6"]));
    let refused = ScopeDeleteResult {
        scope_id_list: Vec::new(),
        failed_scope_list: vec![ScopeDeleteFailedInfo {
            scope_id: "6".into(),
            error_code: "404004".into(),
            msg: "scope 6 not found".into(),
        }],
    };
    reply(&mut app, request, ApiOutcome::ScopesDeleted(Ok(refused)));
    assert!(
        detail(&app)
            .message
            .as_ref()
            .unwrap()
            .contains("not deleted (code 404004)")
    );
}

#[test]
fn unbinding_asks_first_says_the_records_stay_and_drops_the_device() {
    let mut app = app();
    loaded(&mut app);
    assert!(calls(&ch(&mut app, 'u')).is_empty());
    let screen = screen_of(&app, 110, 40);
    assert!(screen.contains("Its 3 record(s) stay on the server"), "{screen}");
    assert!(calls(&ch(&mut app, 'n')).is_empty());
    assert_eq!(app.devices.devices().len(), 3);
    ch(&mut app, 'u');
    let (request, call) = only_call(&ch(&mut app, 'y'));
    assert_eq!(
        call,
        ApiCall::UnbindDevice {
            device_id: "dev-0".into()
        }
    );
    reply(&mut app, request, ApiOutcome::DeviceUnbound(Ok(Some(device(0)))));
    assert_eq!(app.devices.devices().len(), 2);
    assert!(app.status.notice.as_deref().unwrap().contains("its records stay"));
}

#[test]
fn b_browses_the_devices_records_in_the_records_pane() {
    let mut app = app();
    loaded(&mut app);
    press(&mut app, KeyCode::Down);
    let (_, call) = only_call(&ch(&mut app, 'b'));
    let ApiCall::ListRecords { query, .. } = call else {
        panic!("a listing")
    };
    assert_eq!(
        (query.module, query.device_id.as_deref()),
        (ModuleCode::AddressBook, Some("dev-1"))
    );
    assert_eq!(app.focus, Pane::Records);
    assert_eq!(app.records.device_filter(), Some("dev-1"));
}

#[test]
fn a_click_selects_the_device_under_it() {
    let mut app = app();
    loaded(&mut app);
    let layout = app.layout().unwrap();
    crate::tui::test_support::click(&mut app, 5, layout.locks.y + 1 + 4 * 2 + 1);
    assert_eq!(app.devices.cursor(), 2);
}

/// `/` filters the devices as it is typed, by name, machine code or id, case aside; Enter keeps
/// it, Esc in the pane drops it; Enter then opens the device the filter left under the cursor.
#[test]
fn slash_filters_the_devices_by_name_machine_code_or_id() {
    let mut app = app();
    loaded(&mut app);
    let names = |app: &App| -> Vec<String> {
        app.devices
            .matching()
            .iter()
            .map(|d| d.device_name.clone())
            .collect()
    };
    ch(&mut app, '/');
    type_text(&mut app, "ipad");
    assert_eq!(names(&app), ["iPad Air"]);
    press(&mut app, KeyCode::Enter);
    assert!(!app.dialog_open());
    assert_eq!(app.devices.filter(), "ipad");
    assert_eq!(
        app.devices.selected().map(|d| d.device_id.as_str()),
        Some("dev-1")
    );
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains(r#"row 1 of 1 · filter "ipad" · 3 in all"#),
        "{screen}"
    );
    assert!(!screen.contains("Pixel 7"), "{screen}");
    // The same field again, now on the machine code, then on the id.
    ch(&mut app, '/');
    crate::tui::test_support::ctrl(&mut app, 'u');
    type_text(&mut app, "mc_2");
    assert_eq!(names(&app), ["Home NAS"]);
    press(&mut app, KeyCode::Esc);
    assert_eq!(names(&app).len(), 3, "Esc in the field drops the filter");
    ch(&mut app, '/');
    type_text(&mut app, "DEV-0");
    press(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), ["Pixel 7"]);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.devices.filter(), "");
    assert_eq!(names(&app).len(), 3);
    // Nothing matches: the pane says so, and nothing is selected.
    ch(&mut app, '/');
    type_text(&mut app, "nothing");
    assert_eq!(app.devices.selected(), None);
    let screen = screen_of(&app, 110, 30);
    assert!(
        screen.contains(r#"No device matches the filter "nothing""#),
        "{screen}"
    );
}

#[test]
fn the_detail_view_loads_each_module_on_its_number() {
    let mut app = app();
    opened(&mut app);
    assert!(matches!(detail(&app).configs, Loading::Loaded(_)));
    let asked = calls(&ch(&mut app, '1'));
    assert_eq!(asked.len(), 2);
    assert!(asked.iter().all(|(_, c)| matches!(
        c,
        ApiCall::ListConfigs {
            module: ModuleCode::Folder,
            ..
        } | ApiCall::ListScopes {
            module: ModuleCode::Folder,
            ..
        }
    )));
    assert!(matches!(detail(&app).configs, Loading::Loading));
    press(&mut app, KeyCode::Esc);
    assert!(!app.dialog_open());
}

/// Frame tests (`snapshots/`).
mod frames {
    use super::*;

    #[test]
    fn devices_with_figures_and_sparklines() {
        let mut app = app();
        let requests = loaded(&mut app);
        for request in requests {
            let sizes: Vec<(&str, RecordSize)> = request
                .records
                .iter()
                .map(|r| (r.record_id.as_str(), RecordSize::Known(1_500_000)))
                .collect();
            sizes_came(&mut app, request.listing, &sizes);
        }
        insta::assert_snapshot!(screen_of(&app, 110, 30));
    }

    /// Device 0 backed up now, device 1 36 h ago (late), device 2 three days ago (stale): the
    /// tab counts them in `status`'s words, each module line says which.
    #[test]
    fn late_and_stale_devices_in_the_tab_and_their_lines() {
        let mut app = app();
        for (request, call) in calls(&ch(&mut app, 'D')) {
            let outcome = match call {
                ApiCall::ListDevices => {
                    ApiOutcome::DevicesListed(Ok(Page::new((0..3).map(device).collect(), None)))
                }
                ApiCall::ListRecords { query, .. } if query.module == ModuleCode::AddressBook => {
                    let items = [(0, 0), (1, 36), (2, 72)]
                        .map(|(n, hours)| BackupRecord {
                            create_time: t0() - chrono::Duration::hours(hours),
                            ..record(n, RecordStatus::Completed)
                        })
                        .to_vec();
                    ApiOutcome::RecordsPage(Ok(Page::new(items, None)))
                }
                _ => ApiOutcome::RecordsPage(Ok(Page::new(Vec::new(), None))),
            };
            reply(&mut app, request, outcome);
        }
        assert_eq!(app.tabs()[2].label, "Devices (3 · 1 late · 1 stale)");
        insta::assert_snapshot!(screen_of(&app, 110, 30));
    }

    #[test]
    fn a_device_with_its_settings_and_scopes() {
        let mut app = app();
        opened(&mut app);
        press(&mut app, KeyCode::Down);
        insta::assert_snapshot!(screen_of(&app, 110, 30));
    }
}

#[test]
fn queued_deletions_are_counted_apart_on_their_module_line() {
    let mut app = app();
    loaded(&mut app);
    // Records 0 and 3 of dev-0 are queued for deletion through this connection.
    let queued: Vec<crate::pending::Queued> = [0, 3]
        .map(|n| {
            let who = crate::history::Who::here(None, "here".into(), "demo".into(), "test".into());
            let record = record(n, RecordStatus::New);
            let grace = chrono::Duration::hours(24);
            crate::pending::Queued::new(
                record,
                ModuleCode::AddressBook,
                who,
                crate::pending::Why::ByHand,
                t0(),
                chrono::Duration::zero(),
                grace,
            )
        })
        .into();
    let here = queued.iter().map(|q| q.record_id.clone()).collect();
    app.update(crate::tui::action::Action::PendingRead(Ok(
        crate::tui::action::PendingRead {
            entries: queued,
            unreadable: 0,
            here,
        },
    )));
    let screen = screen_of(&app, 110, 40);
    let line = |name: &str| {
        screen
            .lines()
            .skip_while(|l| !l.contains(name))
            .nth(3)
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("Pixel 7").contains("1 done · 1 new · 1 to delete · 2 queued"),
        "{screen}"
    );
    assert!(!line("iPad Air").contains("queued"), "{screen}");
}
