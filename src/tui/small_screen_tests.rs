//! Frames at the sizes operators use over SSH (80x24, and the smallest, 60x15) with what real
//! servers hold: a long profile name, 19-digit user and record ids, long device names, CJK
//! names and properties. Every pane and the dialogs an operator meets on the way to a delete.

use crossterm::event::KeyCode;

use ratatui::layout::Rect;

use crate::api::{DeviceEntity, Page, RecordStatus};
use crate::lease::{Purpose, Standing};
use crate::tui::App;
use crate::tui::action::{Action, ApiCall, ApiOutcome};
use crate::tui::test_support::{
    FRAME_A, FRAME_B, FRAME_C, app_holding, calls, ch, foreign, lock, only_call, own, press, record,
    reply_measured, screen_of, session_named, t0,
};

const SIZES: [(u16, u16); 2] = [(80, 24), (60, 15)];
/// CJK text, repeated by [`cjk_note`].
const CJK_NOTE: &str = "备份记录的说明文字很长需要换行显示完整内容不能截断";
const CJK_DEVICE: &str = "张伟的工作笔记本电脑（财务部，三楼东侧）";

/// Eighty CJK characters: 160 columns.
fn cjk_note() -> String {
    CJK_NOTE.chars().cycle().take(80).collect()
}

/// The devices the scene's records come from: a CJK name, a very long one, a plain one.
fn scene_device(n: usize) -> DeviceEntity {
    DeviceEntity {
        device_id: format!("{}", 7_301_234_567_890_123_456u64 + n as u64),
        machine_code: format!("MC-{n}"),
        device_name: [
            CJK_DEVICE,
            "build-server-eu-central-1-backup-gateway-primary",
            "NAS",
        ][n % 3]
            .into(),
        device_os: ["Windows 11", "Debian 12", "DSM 7"][n % 3].into(),
        create_time: Some(t0() - chrono::Duration::days(30)),
    }
}

/// Read-write on a long profile with a 19-digit user, holding two locks, on `width` x `height`.
fn scene(width: u16, height: u16) -> App {
    let mut session = session_named("profile production-eu-central-backup-gateway", false);
    session.base_url = "https://backup-gateway.eu-central.koodrive.example.com".into();
    session.user_id = "1234567890123456789".into();
    app_holding(
        session,
        vec![(lock(FRAME_A, 545), false), (lock(FRAME_C, 20), true)],
        width,
        height,
    )
}

/// A long profile with a 19-digit user: this app's lock on 100 and, beside it, a running
/// `lock hold` backup's lock on 101.
fn with_a_backup_running(width: u16, height: u16) -> App {
    let mut session = session_named("profile production-eu-central-backup-gateway", false);
    session.user_id = "1234567890123456789".into();
    let backup = Purpose::Hold {
        command: "restic backup --files-from /etc/restic/大文件列表.txt".into(),
    };
    let held = vec![
        own(lock(FRAME_A, 545), false),
        foreign(lock(FRAME_B, 300), backup, Standing::Running),
    ];
    App::new(session, held, Vec::new(), t0(), Rect::new(0, 0, width, height))
}

/// [`scene`] with the records of 102 listed (19-digit ids, CJK and long device names).
fn with_records(width: u16, height: u16) -> App {
    let mut app = scene(width, height);
    ch(&mut app, 'R');
    let effects = ch(&mut app, '3');
    let records = (0..6)
        .map(|n| {
            let mut record = record(n, [RecordStatus::New, RecordStatus::Completed][n % 2]);
            record.record_id = format!("{}", 1_842_862_763_295_184_641u64 - n as u64 * 4_194_304);
            record.device_info = scene_device(n);
            record.properties = format!(r#"{{"note":"{}","files":{n}}}"#, cjk_note());
            record
        })
        .collect();
    let (request, _) = only_call(&effects);
    let page = ApiOutcome::RecordsPage(Ok(Page::new(records, None)));
    app.update(reply_measured(request, page, t0(), 12, 0));
    app
}

/// Snapshots `frame` at every size, named `name_WIDTHxHEIGHT`.
fn at_every_size(name: &str, frame: impl Fn(u16, u16) -> App) {
    for (width, height) in SIZES {
        let screen = screen_of(&frame(width, height), width, height);
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen);
    }
}

#[test]
fn the_locks_pane() {
    at_every_size("locks", scene);
}

#[test]
fn the_records_pane() {
    at_every_size("records", with_records);
}

#[test]
fn a_records_details_with_cjk_properties() {
    at_every_size("details", |width, height| {
        let mut app = with_records(width, height);
        press(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn every_character_of_a_cjk_property_is_in_the_details_at_80x24() {
    let mut app = with_records(80, 24);
    press(&mut app, KeyCode::Enter);
    let screen = screen_of(&app, 80, 24);
    let shown: String = screen.chars().filter(|c| CJK_NOTE.contains(*c)).collect();
    assert!(
        shown.contains(&cjk_note()),
        "wrapped by columns, none lost:\n{screen}"
    );
}

#[test]
fn the_delete_question() {
    at_every_size("delete", |width, height| {
        let mut app = with_records(width, height);
        ch(&mut app, 'd');
        app
    });
}

#[test]
fn the_new_lock_picker_says_which_modules_are_locked_and_by_whom() {
    at_every_size("new_lock", |width, height| {
        let mut app = with_a_backup_running(width, height);
        ch(&mut app, 'n');
        app
    });
    let mut app = with_a_backup_running(80, 24);
    ch(&mut app, 'n');
    let screen = screen_of(&app, 80, 24);
    let line = |module: &str| screen.lines().find(|l| l.contains(module)).unwrap().to_string();
    assert!(
        line("1  100 (folder)").contains("— held by this app, 09:05 left"),
        "{screen}"
    );
    assert!(
        line("2  101 (album)").contains("— held by `lock hold` of `restic backup"),
        "{screen}"
    );
    assert!(
        !line("3  102 (address book)").contains("held by"),
        "free: {screen}"
    );
}

#[test]
fn the_question_before_a_switch_that_leaves_auto_renewed_locks() {
    at_every_size("switch", |width, height| {
        let mut app = scene(width, height).with_profiles(vec!["staging-eu-central-backup-gateway".into()]);
        ch(&mut app, ':');
        crate::tui::test_support::type_text(&mut app, "profile staging-eu-central-backup-gateway");
        press(&mut app, KeyCode::Enter);
        app
    });
}

#[test]
fn the_devices_pane() {
    at_every_size("devices", with_devices);
}

/// `/` on the devices pane, typing part of the long device's name: the field on the border, the
/// one device left.
#[test]
fn the_devices_pane_filtered() {
    at_every_size("devices_filter", |width, height| {
        let mut app = with_devices(width, height);
        ch(&mut app, '/');
        crate::tui::test_support::type_text(&mut app, "BUILD-server");
        app
    });
}

/// [`scene`] on the devices pane, with the figures of [`device_records`].
fn with_devices(width: u16, height: u16) -> App {
    let mut app = scene(width, height);
    let effects = ch(&mut app, 'D');
    for (request, call) in calls(&effects) {
        let outcome = match call {
            ApiCall::ListDevices => {
                ApiOutcome::DevicesListed(Ok(Page::new((0..3).map(scene_device).collect(), None)))
            }
            ApiCall::ListRecords { query, .. } if query.module == crate::api::ModuleCode::AddressBook => {
                ApiOutcome::RecordsPage(Ok(Page::new(device_records(), None)))
            }
            _ => ApiOutcome::RecordsPage(Ok(Page::new(Vec::new(), None))),
        };
        app.update(reply_measured(request, outcome, t0(), 3, 0));
    }
    app
}

/// Records of 102 whose figures differ in width from device to device: done 2 h, 30 h and 9 days
/// ago, with new ones from three days ago (abandoned) on the first device only, and ten
/// completed on the third: the sizes and the abandoned stand in the same columns all the same.
fn device_records() -> Vec<crate::api::BackupRecord> {
    let dated = |n: usize, status, hours| crate::api::BackupRecord {
        create_time: t0() - chrono::Duration::hours(hours),
        device_info: scene_device(n),
        ..record(n, status)
    };
    let mut records = vec![
        dated(0, RecordStatus::Completed, 2),
        dated(0, RecordStatus::New, 72),
        dated(0, RecordStatus::New, 73),
        dated(1, RecordStatus::Completed, 30),
        dated(1, RecordStatus::ToBeDeleted, 40),
    ];
    records.extend((0..10).map(|n| dated(2, RecordStatus::Completed, 216 + n)));
    for (n, record) in records.iter_mut().enumerate() {
        record.record_id = format!("{}", 1_842_862_763_295_184_641u64 - n as u64);
    }
    records
}

#[test]
fn a_cjk_notice_and_error() {
    at_every_size("notice", |width, height| {
        let mut app = scene(width, height);
        app.status.notice = Some(format!("设备 {CJK_DEVICE} 已解除绑定，记录保留"));
        app.status.last_error = Some((t0(), format!("delete record: 409 {}", cjk_note())));
        app.update(Action::Tick(t0()));
        app
    });
}

#[test]
fn the_activity_line_opened_whole() {
    at_every_size("log_entry", |width, height| {
        let mut app = scene(width, height);
        app.activity.note(
            t0(),
            crate::tui::shell::activity::Outcome::Warning,
            "unbind device",
            cjk_note(),
        );
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Enter);
        app
    });
}

/// The adopt field with a long pasted id and the error it gets: every line of the dialog shows.
#[test]
fn the_adopt_field_with_an_error() {
    at_every_size("adopt", |width, height| {
        let mut app = scene(width, height);
        press(&mut app, KeyCode::Char('i'));
        app.update(Action::Paste(format!("{}-not-a-lock", "0b6e7a1c".repeat(8))));
        press(&mut app, KeyCode::Enter);
        app
    });
}

/// `G` takes a record's details to their end, where the keys stop: `j` and `PgDn` do not scroll
/// past it, so that `k` moves at once.
#[test]
fn the_details_end_where_their_text_does() {
    let scroll = |app: &App| match &app.records.dialog {
        Some(crate::tui::records::dialogs::Dialog::Detail(detail)) => detail.scroll,
        other => panic!("the details are open: {other:?}"),
    };
    at_every_size("details_end", |width, height| {
        let mut app = with_records(width, height);
        press(&mut app, KeyCode::Enter);
        ch(&mut app, 'G');
        let end = scroll(&app);
        assert!(end > 0, "the details are longer than the screen");
        for _ in 0..30 {
            ch(&mut app, 'j');
        }
        press(&mut app, KeyCode::PageDown);
        assert_eq!(scroll(&app), end);
        ch(&mut app, 'k');
        assert_eq!(scroll(&app), end - 1);
        press(&mut app, KeyCode::End);
        assert_eq!(scroll(&app), end);
        app
    });
}

/// The clean-up view in read-only mode: a preview, which says that nothing is deleted, with
/// the backups the retention rules keep listed.
#[test]
fn the_clean_up_preview_in_read_only_mode() {
    at_every_size("cleanup_read_only", |width, height| {
        let mut app = with_records(width, height);
        app.session.read_only = true;
        app.session.retention = Some(crate::retention::Retention {
            keep_last: Some(1),
            ..Default::default()
        });
        ch(&mut app, 'x');
        app
    });
}

#[test]
fn the_new_record_form() {
    at_every_size("form", |width, height| {
        let mut app = with_records(width, height);
        ch(&mut app, 'n');
        app
    });
}

/// Three records marked, then `d`: the bulk question names how many and asks for their count.
#[test]
fn the_bulk_delete_question() {
    at_every_size("bulk", |width, height| {
        let mut app = with_records(width, height);
        for _ in 0..3 {
            press(&mut app, KeyCode::Char(' '));
        }
        ch(&mut app, 'd');
        app
    });
}

#[test]
fn the_help() {
    at_every_size("help", |width, height| {
        let mut app = scene(width, height);
        ch(&mut app, '?');
        app
    });
}

#[test]
fn the_release_question() {
    at_every_size("release", |width, height| {
        let mut app = scene(width, height);
        ch(&mut app, 'd');
        app
    });
}
