//! The Devices view loaded as the runtime loads it: a fresh app shown the pane, its API calls
//! carried out at once (`effects::perform`), its size readings through the runtime's
//! [`SizeReader`] and the size cache at a given place. Shared by the Devices view's benches.

use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use koobackup::api::Client;
use koobackup::size_cache::Place;
use koobackup::tui::action::{Action, ApiReply, Effect};
use koobackup::tui::draw;
use koobackup::tui::effects::{self, SizeReader};
use koobackup::tui::theme::{ColorSupport, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::task::JoinSet;

/// When each stage of a load was reached, from the key that showed the pane.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// A frame with all `devices` was drawn.
    pub first_paint: Duration,
    /// Every record of every module was listed.
    pub listed: Duration,
    /// Every figure was filled in, sizes included; `None` when sizes were not read.
    pub every_figure: Option<Duration>,
}

/// Shows the Devices view of a fresh app (`app`) with `devices` devices and answers its calls
/// as they complete. Sizes go through the size cache at `sizes`; with `None` they are not
/// asked for, and the load ends once the records are listed (the listing's floor).
pub async fn load(
    client: &Client,
    mut app: koobackup::tui::App,
    devices: usize,
    sizes: Option<Place>,
) -> Timings {
    let theme = Theme::new(ColorSupport::TrueColor);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let (sizes_in, mut sizes_read) = tokio::sync::mpsc::unbounded_channel();
    let reading = sizes.is_some();
    let mut reader = sizes.map(SizeReader::new);
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    let mut carry_out = |effects: Vec<Effect>, in_flight: &mut JoinSet<_>| {
        for effect in effects {
            match effect {
                Effect::Api { request, call } => {
                    let client = client.clone();
                    in_flight.spawn(async move { (request, effects::perform(&client, call).await) });
                }
                Effect::ReadSizes(request) => {
                    if let Some(reader) = &mut reader {
                        let sizes_in = sizes_in.clone();
                        reader.request(client, request, move |read| {
                            let _ = sizes_in.send(read);
                        });
                    }
                }
                _ => {}
            }
        }
    };
    let key = KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT);
    carry_out(app.update(Action::Key(key)), &mut in_flight);
    let (mut first_paint, mut listed) = (None, None);
    loop {
        if listed.is_some() && (!reading || app.devices.is_complete()) {
            break;
        }
        let action = tokio::select! {
            Some(done) = in_flight.join_next() => {
                let (request, outcome) = done.unwrap();
                Action::ApiDone(Box::new(ApiReply {
                    request,
                    outcome,
                    latency: Duration::ZERO,
                    finished_at: Utc::now(),
                    clock_offset: Some(chrono::Duration::zero()),
                }))
            }
            Some(read) = sizes_read.recv() => Action::Sizes(read),
        };
        carry_out(app.update(action), &mut in_flight);
        if first_paint.is_none() && app.devices.devices().len() == devices {
            terminal.draw(|frame| draw::draw(frame, &app, &theme)).unwrap();
            first_paint = Some(started.elapsed());
        }
        if listed.is_none()
            && app.devices.load() == &koobackup::tui::devices::Load::Loaded
            && !app.devices.is_listing()
        {
            listed = Some(started.elapsed());
        }
    }
    let every_figure = reading.then(|| started.elapsed());
    terminal.draw(|frame| draw::draw(frame, &app, &theme)).unwrap();
    Timings {
        first_paint: first_paint.expect("the devices arrived"),
        listed: listed.expect("the records were listed"),
        every_figure,
    }
}
