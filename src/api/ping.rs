//! Pings for a healthchecks-style monitor (healthchecks.io and its compatible servers): `URL/start`
//! when a job starts, `URL` when it succeeds, `URL/fail` when it fails, or `URL/<exit code>`.
//! Each ping is a POST whose body (a few lines of the job's output) the monitor shows.
//!
//! A ping is a courtesy to the monitor, never part of the job: it is bounded in time (every
//! attempt and the retries together), its failure is returned for a warning, and a ping URL is
//! never printed whole — its path is the check's key, so messages name its host only.

use std::time::Duration;

use reqwest::Url;

/// How long one ping may take, attempts and retries together, unless told otherwise.
pub const DEFAULT_PING_BUDGET: Duration = Duration::from_secs(10);

/// Attempts per ping, within its budget.
const ATTEMPTS: u32 = 3;

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    Start,
    Success,
    Fail,
    /// The job's exit code (0 is a success, anything else a failure).
    Exit(u8),
}

/// A check's ping URL and a client to send to it.
#[derive(Debug, Clone)]
pub struct Pinger {
    http: reqwest::Client,
    url: Url,
    budget: Duration,
}

impl Pinger {
    /// Refuses a URL that is not absolute `http://` or `https://` with a host (the message does
    /// not repeat it).
    pub fn new(url: &str, budget: Duration) -> Result<Pinger, String> {
        let parsed = Url::parse(url.trim()).map_err(|e| {
            format!("the ping URL is not a URL ({e}); write it like https://hc-ping.com/UUID")
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
            return Err("the ping URL must start with http:// or https:// and name a host".into());
        }
        if parsed.cannot_be_a_base() {
            return Err("the ping URL has no path a ping can be added to".into());
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("koobackup/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot prepare the ping client: {e}"))?;
        Ok(Pinger {
            http,
            url: parsed,
            budget: budget.max(Duration::from_millis(100)),
        })
    }

    /// The host pings go to, for messages.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// Where `ping` goes: the URL with `/start`, `/fail` or `/<code>` added to its path (before
    /// any query).
    pub fn url_for(&self, ping: Ping) -> Url {
        let suffix = match ping {
            Ping::Start => Some("start".to_string()),
            Ping::Success => None,
            Ping::Fail => Some("fail".to_string()),
            Ping::Exit(code) => Some(code.to_string()),
        };
        let mut url = self.url.clone();
        if let Some(suffix) = suffix
            && let Ok(mut segments) = url.path_segments_mut()
        {
            segments.pop_if_empty().push(&suffix);
        }
        url
    }

    /// Sends `ping` with `body`, tried again after a failed attempt while the budget lasts.
    /// The error says why in words, naming the host only.
    pub async fn send(&self, ping: Ping, body: String) -> Result<(), String> {
        let url = self.url_for(ping);
        let deadline = tokio::time::Instant::now() + self.budget;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            let request = self
                .http
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(body.clone())
                .timeout(left);
            match request.send().await {
                Ok(answer) if answer.status().is_success() => return Ok(()),
                Ok(answer) if answer.status().is_server_error() => last = format!("HTTP {}", answer.status()),
                // The monitor refused the ping (a wrong URL): asking again changes nothing.
                Ok(answer) => return Err(self.failure(&format!("HTTP {}", answer.status()))),
                Err(e) if e.is_timeout() => {
                    last = format!("no answer within {} s", crate::units::seconds(self.budget))
                }
                Err(e) => last = e.without_url().to_string(),
            }
            if attempt < ATTEMPTS {
                let pause = Duration::from_millis(200 * u64::from(attempt));
                tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + pause)).await;
            }
        }
        Err(self.failure(&last))
    }

    /// The failure in words, the host and the cause as they are: whatever prints it for a
    /// terminal escapes it (the API layer keeps text raw and imports nothing of `format`).
    fn failure(&self, why: &str) -> String {
        format!("the ping to {} failed ({why})", self.host())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_add_their_kind_to_the_path_before_the_query() {
        let pinger = Pinger::new("https://hc.example/ping/abc-123?rid=7", DEFAULT_PING_BUDGET).unwrap();
        assert_eq!(
            pinger.url_for(Ping::Start).as_str(),
            "https://hc.example/ping/abc-123/start?rid=7"
        );
        assert_eq!(
            pinger.url_for(Ping::Success).as_str(),
            "https://hc.example/ping/abc-123?rid=7"
        );
        assert_eq!(
            pinger.url_for(Ping::Exit(3)).as_str(),
            "https://hc.example/ping/abc-123/3?rid=7"
        );
        let slash = Pinger::new("http://127.0.0.1:9/uuid/", DEFAULT_PING_BUDGET).unwrap();
        assert_eq!(slash.url_for(Ping::Fail).as_str(), "http://127.0.0.1:9/uuid/fail");
        assert_eq!(slash.host(), "127.0.0.1");
    }

    #[test]
    fn what_is_not_a_ping_url_is_refused_without_repeating_it() {
        for url in [
            "hc-ping.com/secret-uuid",
            "ftp://h/secret-uuid",
            "mailto:secret-uuid@x",
        ] {
            let err = Pinger::new(url, DEFAULT_PING_BUDGET).unwrap_err();
            assert!(!err.contains("secret-uuid"), "{err}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_monitor_fails_within_the_budget_naming_the_host_only() {
        // A port nothing listens on: refused at once, three times.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let pinger = Pinger::new(
            &format!("http://127.0.0.1:{port}/secret-uuid"),
            Duration::from_secs(2),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let err = pinger.send(Ping::Success, "ok".into()).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(err.contains("127.0.0.1") && !err.contains("secret-uuid"), "{err}");
    }
}
