//! `koobackup device …`: the user's bound devices, what each backs up (scopes) and its backup
//! settings (configs). Tables for people, `--json` for scripts, exit codes as everywhere.

use clap::{Args, Subcommand};

use super::exit::{CliError, Exit};
use super::output;
use super::record::incomplete;
use super::{Context, parse_device_id, parse_scope_id, refuse_without_history, unique};
use crate::api::ModuleCode;
use crate::api::devices::MAX_SCOPES_PER_CALL;
use crate::api::model::{
    BindDeviceRequest, ConfigInfo, DeviceEntity, ScopeBaseInfo, ScopeInfo, UpdateConfigRequest,
};
use crate::format;

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List your bound devices
    List,
    /// Bind a device (binding a machine code again returns the device already bound)
    Bind {
        /// The device's machine code (letters, digits, _; up to 64)
        #[arg(long, value_name = "CODE")]
        machine_code: String,
        /// Its name (letters, digits, -, _, blanks; up to 32)
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Its operating system (letters, digits, _, blanks; up to 32)
        #[arg(long, value_name = "OS")]
        os: Option<String>,
    },
    /// Unbind a device: its records stay, its scopes and configs go
    Unbind {
        /// The device's id (as `device list` shows it)
        #[arg(value_name = "DEVICE_ID", value_parser = parse_device_id)]
        id: String,
        /// Unbind without asking (required when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// List what a device backs up in a module
    Scopes(DeviceModule),
    /// Add backup scopes to a device: the n-th --local pairs with the n-th --target (give both
    /// equally often, "" leaving a side out, or only one of them)
    ScopeAdd {
        #[command(flatten)]
        device: DeviceModule,
        /// A folder on the device (starts with /); repeat for several scopes
        #[arg(long = "local", value_name = "PATH")]
        locals: Vec<String>,
        /// The folder in the cloud (starts with /); the n-th goes with the n-th --local
        #[arg(long = "target", value_name = "PATH")]
        targets: Vec<String>,
    },
    /// Delete backup scopes of a device
    ScopeDelete {
        /// The device's id (as `device list` shows it)
        #[arg(value_name = "DEVICE_ID", value_parser = parse_device_id)]
        id: String,
        /// Scope ids (as `device scopes` lists them)
        #[arg(value_name = "SCOPE_ID", required = true, value_parser = parse_scope_id)]
        scope_ids: Vec<String>,
    },
    /// List a device's backup settings in a module
    Configs(DeviceModule),
    /// Change a backup setting: reads its value, then changes it only if nobody else has meanwhile
    ConfigSet {
        #[command(flatten)]
        device: DeviceModule,
        /// The setting's name (as `device configs` lists them)
        #[arg(value_name = "NAME")]
        name: String,
        /// Its new value (letters, digits, _; up to 32)
        #[arg(value_name = "VALUE")]
        value: String,
    },
}

/// A device and one of its modules.
#[derive(Debug, Args)]
pub struct DeviceModule {
    /// The device's id (as `device list` shows it)
    #[arg(value_name = "DEVICE_ID", value_parser = parse_device_id)]
    pub id: String,
    /// Backup module: 100 (folder), 101 (album), 102 (address book), or its name
    #[arg(long, short, value_parser = ModuleCode::from_user_text, add = super::discover::module_completer())]
    pub module: ModuleCode,
}

const DEVICE_HEADERS: [&str; 5] = ["DEVICE ID", "NAME", "OS", "MACHINE CODE", "BOUND"];

fn device_row(device: &DeviceEntity) -> Vec<String> {
    vec![
        device.device_id.clone(),
        device.device_name.clone(),
        device.device_os.clone(),
        device.machine_code.clone(),
        device
            .create_time
            .map(output::local_minutes)
            .unwrap_or_else(|| "-".into()),
    ]
}

fn scope_rows(scopes: &[ScopeInfo]) -> Vec<Vec<String>> {
    let or_dash = |text: &str| {
        if text.is_empty() {
            "-".to_string()
        } else {
            text.to_string()
        }
    };
    scopes
        .iter()
        .map(|s| {
            vec![
                s.scope_id.clone(),
                or_dash(&s.local_path),
                or_dash(&s.target_folder_path),
            ]
        })
        .collect()
}

fn config_rows(configs: &[ConfigInfo]) -> Vec<Vec<String>> {
    configs
        .iter()
        .map(|c| {
            vec![
                c.config_name.clone(),
                c.config_value.clone(),
                c.description.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

pub(crate) async fn run(ctx: &mut Context, command: DeviceCommand) -> Result<u8, CliError> {
    let out = ctx.out;
    let client = ctx.client().clone();
    match command {
        DeviceCommand::List => {
            let page = client.list_devices().await?;
            if out.quiet && !out.is_json() {
                page.items.iter().try_for_each(|d| out.value(&d.device_id))?;
            } else {
                let rows: Vec<Vec<String>> = page.items.iter().map(device_row).collect();
                out.list(&page.items, "no devices bound", || {
                    out.table(&DEVICE_HEADERS, &rows)
                })?;
            }
            incomplete(&page.unreadable)?;
        }
        DeviceCommand::Bind {
            machine_code,
            name,
            os,
        } => {
            let request = BindDeviceRequest {
                machine_code,
                device_name: name,
                device_os: os,
            };
            let device = client.bind_device(&request).await?;
            if out.is_json() {
                out.json(&device)?;
            } else if out.quiet {
                out.value(&device.device_id)?;
            } else {
                out.sentence(&format!(
                    "device {} ({}) is bound, machine code {}",
                    device.device_id, device.device_name, device.machine_code
                ))?;
            }
        }
        DeviceCommand::Unbind { id, yes } => {
            refuse_without_history(ctx, "the unbind")?;
            if !yes {
                confirm_unbind(ctx, &id).await?;
            }
            let device = client.unbind_device(&id).await?;
            if out.is_json() {
                out.json(&serde_json::json!({"deviceId": id, "unbound": true, "device": device}))?;
            } else {
                out.say(&format!(
                    "unbound device {id}; its records stay, listed under its id; its scopes and configs are gone"
                ))?;
            }
        }
        DeviceCommand::Scopes(DeviceModule { id, module }) => {
            let page = client.list_scopes(&id, module).await?;
            if out.quiet && out.human() {
                page.items.iter().try_for_each(|s| out.value(&s.scope_id))?;
            } else {
                let rows = scope_rows(&page.items);
                let empty = format!("device {id} backs up nothing in module {module}");
                out.list(&page.items, &empty, || {
                    out.table(&["SCOPE ID", "ON THE DEVICE", "IN THE CLOUD"], &rows)
                })?;
            }
            incomplete(&page.unreadable)?;
        }
        DeviceCommand::ScopeAdd {
            device,
            locals,
            targets,
        } => {
            let scopes = scopes_from(&locals, &targets)?;
            let added = client.add_scopes(&device.id, device.module, scopes).await?;
            if out.is_json() {
                out.json(&added)?;
            } else if out.quiet {
                added.iter().try_for_each(|s| out.value(&s.scope_id))?;
            } else if !added.is_empty() {
                out.print_table(&out.table(
                    &["SCOPE ID", "ON THE DEVICE", "IN THE CLOUD"],
                    &scope_rows(&added),
                ))?;
            } else {
                out.say(&format!(
                    "added {} scope(s) to device {}",
                    locals.len().max(targets.len()),
                    device.id
                ))?;
            }
        }
        DeviceCommand::ScopeDelete { id, scope_ids } => {
            let scope_ids = unique(scope_ids);
            if scope_ids.len() > MAX_SCOPES_PER_CALL {
                return Err(too_many_scopes(scope_ids.len(), "deleted"));
            }
            refuse_without_history(ctx, "the scope delete")?;
            let result = client.delete_scopes(&id, scope_ids).await?;
            if out.is_json() {
                out.json(&result)?;
            } else {
                for scope in &result.scope_id_list {
                    out.say(&format!("deleted scope {scope}"))?;
                }
                for failed in &result.failed_scope_list {
                    out.error(&CliError::new(
                        Exit::NotFound,
                        format!(
                            "scope {} not deleted (code {}): {}",
                            failed.scope_id, failed.error_code, failed.msg
                        ),
                    ));
                }
            }
            if !result.failed_scope_list.is_empty() {
                return Ok(Exit::NotFound.code());
            }
        }
        DeviceCommand::Configs(DeviceModule { id, module }) => {
            let page = client.list_configs(&id, module).await?;
            if out.quiet && out.human() {
                page.items.iter().try_for_each(|c| out.value(&c.config_name))?;
            } else {
                let rows = config_rows(&page.items);
                let empty = format!("device {id} has no settings in module {module}");
                out.list(&page.items, &empty, || {
                    out.table(&["NAME", "VALUE", "DESCRIPTION"], &rows)
                })?;
            }
            incomplete(&page.unreadable)?;
        }
        DeviceCommand::ConfigSet { device, name, value } => {
            let current = client.get_config(&device.id, device.module, &name).await?;
            let request = UpdateConfigRequest {
                module_code: device.module.code().into(),
                config_name: name.clone(),
                current_config_value: current.config_value.clone(),
                new_config_value: value.clone(),
            };
            let updated = client
                .update_config(&device.id, &request)
                .await
                .map_err(|error| {
                    let changed = error.kind() == crate::api::error::ErrorKind::Conflict;
                    let error = CliError::from(error);
                    if changed {
                        error.context(format!(
                        "{name} of device {} was {:?} when read, and someone changed it before the update; \
                         nothing was changed",
                        device.id, current.config_value
                    ))
                    } else {
                        error
                    }
                })?;
            if out.is_json() {
                out.json(&updated)?;
            } else {
                out.say(&format!(
                    "{name} of device {} in module {}: {} → {}",
                    device.id, device.module, current.config_value, updated.config_value
                ))?;
            }
        }
    }
    Ok(Exit::Ok.code())
}

/// Asks before unbinding `id` (naming the device), or refuses without a terminal to ask on.
async fn confirm_unbind(ctx: &Context, id: &str) -> Result<(), CliError> {
    super::refuse_if_read_only(ctx, "device unbind")?;
    if !super::can_ask() {
        return Err(CliError::usage(
            "device unbind asks first, and there is no terminal to ask on: add --yes to unbind \
             without asking; nothing was changed",
        ));
    }
    let devices = ctx.client().list_devices().await?;
    let Some(device) = devices.items.iter().find(|d| d.device_id == id) else {
        return Err(CliError::new(
            Exit::NotFound,
            format!("no device {id} is bound to you; nothing was changed"),
        ));
    };
    let mut facts: Vec<String> = [&device.device_name, &device.device_os]
        .into_iter()
        .filter(|fact| !fact.is_empty())
        .map(|fact| format::escape(fact).into_owned())
        .collect();
    if !device.machine_code.is_empty() {
        facts.push(format!("machine code {}", format::escape(&device.machine_code)));
    }
    let question = format!(
        "Unbind device {} ({})? Its scopes and settings in every module are deleted; its backup \
         records stay.",
        format::escape(id),
        facts.join(", ")
    );
    if super::ask(&question)? {
        Ok(())
    } else {
        Err(CliError::failure("not confirmed; the device stays bound"))
    }
}

/// One call takes at most [`MAX_SCOPES_PER_CALL`] scopes; more are refused whole rather than
/// half done.
fn too_many_scopes(count: usize, done: &str) -> CliError {
    CliError::usage(format!(
        "{count} scopes given; KooDrive takes at most {MAX_SCOPES_PER_CALL} per call, so run it in \
         parts; nothing was {done}"
    ))
}

/// Pairs each `--local` with the `--target` at the same position. Lists of different lengths
/// are refused: `--local /a --local /b --target /B` could mean either pairing, and a scope
/// stored with the wrong cloud folder backs up to the wrong place.
fn scopes_from(locals: &[String], targets: &[String]) -> Result<Vec<ScopeBaseInfo>, CliError> {
    if locals.is_empty() && targets.is_empty() {
        return Err(CliError::usage("give at least one --local PATH or --target PATH"));
    }
    let count = locals.len().max(targets.len());
    if count > MAX_SCOPES_PER_CALL {
        return Err(too_many_scopes(count, "added"));
    }
    if !locals.is_empty() && !targets.is_empty() && locals.len() != targets.len() {
        return Err(CliError::usage(format!(
            "{} --local and {} --target: they pair up in order (the first --local with the first \
             --target), so give both equally often (--target \"\" leaves a cloud folder out), or \
             only one of them; nothing was added",
            locals.len(),
            targets.len()
        )));
    }
    Ok((0..count)
        .map(|i| ScopeBaseInfo {
            local_path: locals.get(i).cloned().unwrap_or_default(),
            target_folder_path: targets.get(i).cloned().unwrap_or_default(),
        })
        .collect())
}
