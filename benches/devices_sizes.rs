//! The Devices view's loading, one run at a time, for `benches/devices_sizes.sh`: the same code
//! path as the app (`App::update`, `effects::perform`, the runtime's `effects::SizeReader` and
//! the size cache in `$XDG_CACHE_HOME/koobackup/sizes/`), against the server the environment
//! names (`KOOBACKUP_BASE_URL`, `KOOBACKUP_USER_ID`, `KOOBACKUP_TOKEN`). Without the terminal:
//! nothing is drawn but a frame at first paint and one at the end.
//!
//!   devices_sizes fill DB USER DEVICES RECORDS N # the fleet, into the server's database (every
//!                                               # Nth record completed, the others `new`)
//!   devices_sizes load DEVICES                  # the view with sizes: prints its timings
//!   devices_sizes floor DEVICES                 # the records alone (sizes not asked for)
//!
//! Without arguments (`cargo bench` runs every bench) it does nothing.

use koobackup::api::{Client, ClientOptions, Credentials, Token};
use koobackup::size_cache::Place;

#[path = "support/devices.rs"]
mod devices;
#[path = "support/fleet.rs"]
mod fleet;
// Only its app is used here.
#[allow(dead_code)]
mod support;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn main() {
    // `cargo bench` adds `--bench`.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["fill", db, user, devices, records, completed_every] => {
            fleet::fill(
                std::path::Path::new(db),
                user,
                devices.parse().unwrap(),
                records.parse().unwrap(),
                completed_every.parse().unwrap(),
            );
        }
        [mode @ ("load" | "floor"), devices] => {
            let devices: usize = devices.parse().unwrap();
            let base_url = env("KOOBACKUP_BASE_URL");
            let user = env("KOOBACKUP_USER_ID");
            let options = ClientOptions::new(
                &base_url,
                Credentials::new(&user, Token::new(env("KOOBACKUP_TOKEN"))),
            );
            let client = Client::new(options).unwrap();
            // The app's key: the server as the journal knows it.
            let place = (*mode == "load").then(|| Place::usual(base_url.trim_end_matches('/'), &user));
            let rt = tokio::runtime::Runtime::new().unwrap();
            let timings = rt.block_on(devices::load(&client, support::app(), devices, place));
            println!("first_paint_s={:.3}", timings.first_paint.as_secs_f64());
            println!("listed_s={:.3}", timings.listed.as_secs_f64());
            if let Some(every) = timings.every_figure {
                println!("every_figure_s={:.3}", every.as_secs_f64());
            }
        }
        [] => {}
        other => {
            eprintln!(
                "usage: devices_sizes fill DB USER DEVICES RECORDS N | load DEVICES | floor DEVICES; got {other:?}"
            );
            std::process::exit(2);
        }
    }
}
