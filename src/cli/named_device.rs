//! `--device` of `record list` and `cleanup`: a device id, machine code or name (our rule: the
//! reference filters by id only), resolved through the devices bound to you before anything is
//! listed, so that a nightly job naming a device by its name prunes that device and a typo is
//! an error, never an empty success.
//!
//! An id of a bound device wins; else the one bound device whose machine code is the text, or
//! whose name is the text, case aside; several are refused with their ids. Text that names no
//! bound device is taken as the id of a device no longer bound (its records stay when it is
//! unbound), and a listing that then finds nothing is an error (exit 5).

use super::exit::{CliError, Exit};
use crate::api::{Client, DeviceEntity};

/// The device a listing is narrowed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedDevice {
    /// The text given.
    pub given: String,
    /// The device id to ask for.
    pub id: String,
    /// Whether a bound device matched: if not, a listing that finds nothing means the text
    /// names nothing.
    pub bound: bool,
}

impl NamedDevice {
    /// `--device` as given, resolved through `client`'s bound devices.
    pub async fn resolve(client: &Client, given: &str) -> Result<NamedDevice, CliError> {
        let devices = client.list_devices().await?.items;
        match_device(&devices, given)
    }

    /// The error of a listing that found no record of a device that matched no bound one.
    pub fn names_nothing(&self) -> CliError {
        CliError::new(
            Exit::NotFound,
            format!(
                "no device {}: no device bound to you has that id, machine code or name, and no \
                 record names it (see `koobackup device list`)",
                self.given
            ),
        )
    }
}

/// [`NamedDevice::resolve`] over the bound `devices`.
fn match_device(devices: &[DeviceEntity], given: &str) -> Result<NamedDevice, CliError> {
    let named = |id: &str, bound| NamedDevice {
        given: given.to_string(),
        id: id.to_string(),
        bound,
    };
    if devices.iter().any(|d| d.device_id == given) {
        return Ok(named(given, true));
    }
    let wanted = given.to_lowercase();
    let matches: Vec<&DeviceEntity> = devices
        .iter()
        .filter(|d| {
            d.machine_code == given || (!d.device_name.is_empty() && d.device_name.to_lowercase() == wanted)
        })
        .collect();
    match matches.as_slice() {
        [] => Ok(named(given, false)),
        [device] => Ok(named(&device.device_id, true)),
        several => {
            let candidates: Vec<String> = several
                .iter()
                .map(|d| {
                    format!(
                        "{} ({}, machine code {})",
                        d.device_id, d.device_name, d.machine_code
                    )
                })
                .collect();
            Err(CliError::usage(format!(
                "{given} names {} bound devices; give one id: {}",
                several.len(),
                candidates.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, code: &str, name: &str) -> DeviceEntity {
        DeviceEntity {
            device_id: id.into(),
            machine_code: code.into(),
            device_name: name.into(),
            ..DeviceEntity::default()
        }
    }

    #[test]
    fn an_id_a_machine_code_or_a_name_names_one_device() {
        let devices = [
            device("111", "PIXEL7_A", "pixel-7"),
            device("222", "MAGIC_V3", "Magic v3"),
            device("333", "TAB_1", "tablet"),
            device("444", "TAB_2", "Tablet"),
        ];
        let id_of = |given: &str| match_device(&devices, given).map(|d| (d.id, d.bound));
        assert_eq!(id_of("222"), Ok(("222".into(), true)));
        assert_eq!(id_of("PIXEL7_A"), Ok(("111".into(), true)));
        assert_eq!(id_of("pixel-7"), Ok(("111".into(), true)));
        assert_eq!(id_of("MAGIC V3"), Ok(("222".into(), true)), "names case aside");
        assert_eq!(id_of("999"), Ok(("999".into(), false)), "perhaps unbound");
        assert_eq!(id_of("pixel"), Ok(("pixel".into(), false)), "no part of a name");
        let ambiguous = id_of("TABLET").unwrap_err();
        assert_eq!(ambiguous.exit, Exit::Usage);
        assert!(
            ambiguous.message.contains("333 (tablet") && ambiguous.message.contains("444 (Tablet"),
            "{}",
            ambiguous.message
        );
    }
}
