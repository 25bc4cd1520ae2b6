//! The devices pane's keys, and those of a device's detail view and its edit field. One binding
//! per line, in help order.

use crate::tui::keymap::{Command as C, DeviceCommand as D, KeyDef, Scope::*, bind};

#[rustfmt::skip]
pub static KEYS: &[KeyDef] = &[
    bind(DevicesPane, "Enter", "Enter", Some("open"), "Show the device: its settings and what it backs up, per module", C::Devices(D::Open)),
    bind(DevicesPane, "b", "b", Some("records"), "Browse the device's records", C::Devices(D::BrowseRecords)),
    bind(DevicesPane, "/", "/", Some("filter"), "Filter the devices: by name, machine code or id", C::Devices(D::Filter)),
    bind(DevicesPane, "Esc", "Esc", None, "Clear the filter", C::Devices(D::ClearFilter)),
    bind(DevicesPane, "r", "r", Some("refresh"), "Load the devices and their figures again", C::Devices(D::Refresh)),
    bind(DevicesPane, "u", "u", Some("unbind"), "Unbind the device (asks first; its records stay)", C::Devices(D::Unbind)),
    bind(DeviceDetail, "1", "1", None, "Folder backup (100)", C::PickOption(0)),
    bind(DeviceDetail, "2", "2", None, "Album backup (101)", C::PickOption(1)),
    bind(DeviceDetail, "3", "3", None, "Address-book backup (102)", C::PickOption(2)),
    bind(DeviceDetail, "Left h", "←/h", None, "Previous module", C::Devices(D::ChangeModule(-1))),
    bind(DeviceDetail, "Right l", "→/l", Some("module"), "Next module", C::Devices(D::ChangeModule(1))),
    bind(DeviceDetail, "k Up", "k/↑", None, "Previous setting or scope", C::Up),
    bind(DeviceDetail, "j Down", "j/↓", None, "Next setting or scope", C::Down),
    bind(DeviceDetail, "Enter", "Enter", Some("change"), "Change the selected setting (refused if it changed meanwhile)", C::Devices(D::EditSetting)),
    bind(DeviceDetail, "a", "a", Some("add scope"), "Add a folder the device backs up in this module", C::Devices(D::AddScope)),
    bind(DeviceDetail, "d Del", "d/Del", Some("delete scope"), "Delete the selected scope (asks first)", C::Devices(D::DeleteScope)),
    bind(DeviceDetail, "b", "b", Some("records"), "Browse the device's records in this module", C::Devices(D::BrowseRecords)),
    bind(DeviceDetail, "r", "r", None, "Read the settings and scopes again", C::Devices(D::Refresh)),
    bind(DeviceDetail, "u", "u", None, "Unbind the device (asks first; its records stay)", C::Devices(D::Unbind)),
    bind(DeviceDetail, "Esc q", "Esc", Some("close"), "Close the device", C::Cancel),
    bind(DeviceText, "Enter", "Enter", Some("save"), "Send it to the server", C::Confirm),
    bind(DeviceText, "Ctrl+u", "Ctrl+U", Some("clear"), "Clear the field", C::ClearInput),
    bind(DeviceText, "Esc", "Esc", Some("cancel"), "Cancel: nothing is changed", C::Cancel),
];
