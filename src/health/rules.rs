//! The thresholds backups are judged by: when a backup is late (a warning) or stale (critical),
//! when a `new` record counts as abandoned, and which modules every device must back up.
//!
//! Defaults (our rule): warning after 26 h, critical after 50 h (a daily backup may slip by two
//! hours before it is late, and miss one day before it is critical), abandoned after 24 h (the
//! clean-up's default). A profile changes them in `[profiles.NAME.health]`, per module in
//! `[profiles.NAME.health.modules.MODULE]`; options on the command line replace both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::ModuleCode;
use crate::format;

pub const DEFAULT_WARN_AGE: chrono::Duration = chrono::Duration::hours(26);
pub const DEFAULT_CRIT_AGE: chrono::Duration = chrono::Duration::hours(50);
pub const DEFAULT_ABANDONED_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// When one module's backups are late or stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub warn_age: chrono::Duration,
    pub crit_age: chrono::Duration,
    /// Every device must back this module up: one with no record of it is judged from its
    /// binding instead of being `unused`.
    pub required: bool,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            warn_age: DEFAULT_WARN_AGE,
            crit_age: DEFAULT_CRIT_AGE,
            required: false,
        }
    }
}

/// The rules for every module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub abandoned_after: chrono::Duration,
    pub default: Thresholds,
    pub modules: BTreeMap<ModuleCode, Thresholds>,
}

impl Rules {
    pub fn for_module(&self, module: ModuleCode) -> Thresholds {
        self.modules.get(&module).copied().unwrap_or(self.default)
    }

    /// The defaults.
    pub fn standard() -> Rules {
        Rules {
            abandoned_after: DEFAULT_ABANDONED_AFTER,
            default: Thresholds::default(),
            modules: BTreeMap::new(),
        }
    }
}

/// `[profiles.NAME.health]` as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    #[serde(
        default,
        with = "format::optional_age",
        skip_serializing_if = "Option::is_none"
    )]
    pub warn_age: Option<chrono::Duration>,
    #[serde(
        default,
        with = "format::optional_age",
        skip_serializing_if = "Option::is_none"
    )]
    pub crit_age: Option<chrono::Duration>,
    #[serde(
        default,
        with = "format::optional_age",
        skip_serializing_if = "Option::is_none"
    )]
    pub abandoned_after: Option<chrono::Duration>,
    /// Per module, by code or name (`[profiles.NAME.health.modules.album]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub modules: BTreeMap<String, ModuleConfig>,
}

/// `[profiles.NAME.health.modules.MODULE]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    #[serde(
        default,
        with = "format::optional_age",
        skip_serializing_if = "Option::is_none"
    )]
    pub warn_age: Option<chrono::Duration>,
    #[serde(
        default,
        with = "format::optional_age",
        skip_serializing_if = "Option::is_none"
    )]
    pub crit_age: Option<chrono::Duration>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

/// Thresholds given on the command line: they replace the config's, for every module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    pub warn_age: Option<chrono::Duration>,
    pub crit_age: Option<chrono::Duration>,
    pub abandoned_after: Option<chrono::Duration>,
}

impl HealthConfig {
    /// The rules these settings (none: the defaults) and `overrides` make. Refuses a module it
    /// does not know, an age of zero, and a warning age past the critical one, naming which.
    pub fn rules(config: Option<&HealthConfig>, overrides: Overrides) -> Result<Rules, String> {
        let empty = HealthConfig::default();
        let config = config.unwrap_or(&empty);
        let pick = |cli: Option<chrono::Duration>, own: Option<chrono::Duration>, default| {
            cli.or(own).unwrap_or(default)
        };
        let default = Thresholds {
            warn_age: pick(overrides.warn_age, config.warn_age, DEFAULT_WARN_AGE),
            crit_age: pick(overrides.crit_age, config.crit_age, DEFAULT_CRIT_AGE),
            required: false,
        };
        check(&default, "")?;
        let abandoned_after = pick(
            overrides.abandoned_after,
            config.abandoned_after,
            DEFAULT_ABANDONED_AFTER,
        );
        if abandoned_after <= chrono::Duration::zero() {
            return Err("abandoned_after must be longer than 0s".into());
        }
        let mut modules = BTreeMap::new();
        for (key, own) in &config.modules {
            let module = ModuleCode::from_user_text(key).map_err(|e| format!("health.modules: {e}"))?;
            let thresholds = Thresholds {
                warn_age: pick(overrides.warn_age, own.warn_age, default.warn_age),
                crit_age: pick(overrides.crit_age, own.crit_age, default.crit_age),
                required: own.required,
            };
            check(&thresholds, &format!(" of module {}", module.code()))?;
            if modules.insert(module, thresholds).is_some() {
                return Err(format!("health.modules names module {} twice", module.code()));
            }
        }
        Ok(Rules {
            abandoned_after,
            default,
            modules,
        })
    }
}

fn check(thresholds: &Thresholds, whose: &str) -> Result<(), String> {
    if thresholds.warn_age <= chrono::Duration::zero() {
        return Err(format!("the warning age{whose} must be longer than 0s"));
    }
    if thresholds.warn_age > thresholds.crit_age {
        return Err(format!(
            "the warning age{whose} ({}) is past the critical age ({}): a backup would be \
             critical before it is late",
            format::exact_age(thresholds.warn_age),
            format::exact_age(thresholds.crit_age)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> HealthConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_then_the_profile_then_the_command_line() {
        let standard = HealthConfig::rules(None, Overrides::default()).unwrap();
        assert_eq!(standard, Rules::standard());
        let config = parse(
            "warn_age = \"2d\"\ncrit_age = \"4d\"\n[modules.album]\ncrit_age = \"15d\"\nrequired = true\n",
        );
        let rules = HealthConfig::rules(Some(&config), Overrides::default()).unwrap();
        let album = rules.for_module(ModuleCode::Album);
        assert_eq!(
            (album.warn_age, album.crit_age, album.required),
            (chrono::Duration::days(2), chrono::Duration::days(15), true)
        );
        assert_eq!(
            rules.for_module(ModuleCode::Folder).crit_age,
            chrono::Duration::days(4)
        );
        let overrides = Overrides {
            crit_age: Some(chrono::Duration::days(3)),
            ..Overrides::default()
        };
        let rules = HealthConfig::rules(Some(&config), overrides).unwrap();
        assert_eq!(
            rules.for_module(ModuleCode::Album).crit_age,
            chrono::Duration::days(3),
            "the command line wins over a module's own"
        );
        assert!(rules.for_module(ModuleCode::Album).required);
    }

    #[test]
    fn contradictions_and_unknown_modules_are_refused_by_name() {
        let late = parse("warn_age = \"3d\"\ncrit_age = \"1d\"\n");
        let err = HealthConfig::rules(Some(&late), Overrides::default()).unwrap_err();
        assert!(err.contains("3d") && err.contains("1d"), "{err}");
        let module = parse("[modules.photos]\nwarn_age = \"1h\"\n");
        let err = HealthConfig::rules(Some(&module), Overrides::default()).unwrap_err();
        assert!(err.contains("photos"), "{err}");
        let twice = parse("[modules.album]\nrequired = true\n[modules.101]\nrequired = true\n");
        assert!(
            HealthConfig::rules(Some(&twice), Overrides::default())
                .unwrap_err()
                .contains("twice")
        );
        let zero = Overrides {
            warn_age: Some(chrono::Duration::zero()),
            ..Overrides::default()
        };
        assert!(
            HealthConfig::rules(None, zero)
                .unwrap_err()
                .contains("longer than 0s")
        );
        let module_late = parse("[modules.102]\nwarn_age = \"60h\"\n");
        let err = HealthConfig::rules(Some(&module_late), Overrides::default()).unwrap_err();
        assert!(err.contains("of module 102"), "{err}");
        assert!(toml::from_str::<HealthConfig>("warn = \"1h\"").is_err());
    }
}
