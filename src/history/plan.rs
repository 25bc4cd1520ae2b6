//! A bulk delete or clean-up as a plan: its records are written down before anything is sent,
//! its deletes are marked as the plan's, and its end says how many went. A run without history
//! (`--no-history`) has a plan that writes nothing.

use super::{HistoryError, Planned, Recorder};
use crate::api::Client;

/// Whether changes are being written down, and if not, why.
#[derive(Debug, Clone)]
pub enum Keeping {
    Recording(Recorder),
    /// Switched off by the user (`--no-history`).
    Off,
    /// Wanted but impossible (no home directory): why, in words.
    Broken(String),
}

impl Keeping {
    /// Why a change that leaves no other trace may not be sent now, or `None` when it may: the
    /// history can be written, or the user switched it off.
    pub fn refusal(&self) -> Option<String> {
        match self {
            Keeping::Recording(recorder) => recorder.check_writable().err().map(|e| e.to_string()),
            Keeping::Off => None,
            Keeping::Broken(why) => Some(why.clone()),
        }
    }

    pub fn recorder(&self) -> Option<&Recorder> {
        match self {
            Keeping::Recording(recorder) => Some(recorder),
            _ => None,
        }
    }

    /// Opens a plan of `what` deleting `planned` in `module` (see [`Recorder::open_plan`]); with
    /// the history off, a plan that writes nothing.
    pub fn open_plan(&self, what: &str, module: &str, planned: Vec<Planned>) -> Result<Plan, HistoryError> {
        // Nothing to delete needs no plan.
        let Some(recorder) = self.recorder().filter(|_| !planned.is_empty()) else {
            return Ok(Plan {
                open: None,
                module: module.to_string(),
            });
        };
        let planned = recorder.fill_in(planned);
        let id = recorder.open_plan(what, module, planned)?;
        Ok(Plan {
            open: Some((recorder.in_plan(&id), id)),
            module: module.to_string(),
        })
    }
}

/// An open plan.
#[derive(Debug)]
pub struct Plan {
    open: Option<(Recorder, String)>,
    module: String,
}

impl Plan {
    /// `client`, its changes written down as this plan's.
    pub fn client(&self, client: &Client) -> Client {
        match &self.open {
            Some((recorder, _)) => client.with_changes(recorder.changes()),
            None => client.clone(),
        }
    }

    /// Ends the plan: `deleted` of its records went by its hand; `stopped` says why the run
    /// ended before sending the rest, when it did (its `plan.end` is then not ok). A failure is
    /// kept for the recorder's `take_failure` (the plan then looks unfinished, and the next
    /// start finds it).
    pub fn finish(self, deleted: usize, stopped: Option<String>) {
        if let Some((recorder, id)) = self.open {
            let _ = recorder.close_plan(&id, &self.module, deleted, stopped);
        }
    }
}
