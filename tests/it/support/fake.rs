//! A loopback KooDrive that answers whatever a test tells it to: shaped like the public
//! reference's examples (`{"code":0,"msg":"success","data":…}`, top-level `nextCursor`), or
//! hostile (escape sequences in every field, endless cursor chains, a 100 MB body, redirects).
//! Every request is recorded, so a test can also check what the client sent and where.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path below the API prefix (`/lock`, `/record/123`), or the whole path outside it.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| percent_decode(v))
    }

    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// What the fake answers.
pub enum Reply {
    /// 200 with this JSON.
    Json(Value),
    /// Any status, headers and body.
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        body: Body,
    },
}

impl Reply {
    /// A success shaped like the reference: `code` 0, `msg` "success", the payload in `data`.
    pub fn ok(data: Value) -> Reply {
        Reply::Json(json!({"code": 0, "msg": "success", "data": data}))
    }

    /// A listing page: the items in `data`, `nextCursor` at the top level.
    pub fn page(items: Vec<Value>, next_cursor: Option<&str>) -> Reply {
        let mut answer = json!({"code": 0, "msg": "success", "data": items});
        if let Some(cursor) = next_cursor {
            answer["nextCursor"] = json!(cursor);
        }
        Reply::Json(answer)
    }

    /// A KooDrive failure under `status`.
    pub fn error(status: u16, code: Value, msg: &str) -> Reply {
        Reply::Raw {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::from(json!({"code": code, "msg": msg}).to_string()),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Raw {
            status,
            headers: vec![("location".into(), location.into())],
            body: Body::empty(),
        }
    }

    /// This reply with header `name: value` added (a `Date` the server's clock stamped).
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        let header = (name.to_string(), value.to_string());
        match self {
            Reply::Json(value) => Reply::Raw {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into()), header],
                body: Body::from(value.to_string()),
            },
            Reply::Raw {
                status,
                mut headers,
                body,
            } => {
                headers.push(header);
                Reply::Raw {
                    status,
                    headers,
                    body,
                }
            }
        }
    }

    /// 200 whose body is `total` bytes of JSON that never closes (streamed in 64 KiB chunks).
    pub fn huge(total: usize) -> Reply {
        let chunk = Bytes::from(vec![b' '; 64 * 1024]);
        let head = Bytes::from_static(br#"{"code":0,"msg":"success","data":["#);
        let chunks = total / chunk.len();
        let stream = futures::stream::iter(
            std::iter::once(head)
                .chain(std::iter::repeat_n(chunk, chunks))
                .map(Ok::<_, std::io::Error>),
        );
        Reply::Raw {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::from_stream(stream),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Json(value) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                value.to_string(),
            )
                .into_response(),
            Reply::Raw {
                status,
                headers,
                body,
            } => {
                let mut response = Response::new(body);
                *response.status_mut() = StatusCode::from_u16(status).expect("status");
                for (name, value) in headers {
                    response.headers_mut().insert(
                        header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        value.parse().unwrap(),
                    );
                }
                response
            }
        }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A fake KooDrive on 127.0.0.1 answering every request with `handler`.
pub struct Fake {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app =
            axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (handler, log) = (handler.clone(), log.clone());
                async move {
                    let request = Seen {
                        method: method.to_string(),
                        path: uri
                            .path()
                            .strip_prefix(crate::support::PREFIX)
                            .unwrap_or(uri.path())
                            .to_string(),
                        query: uri.query().unwrap_or_default().to_string(),
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    log.lock().unwrap().push(request.clone());
                    handler(&request)
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { base_url, seen, task }
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Control characters a hostile server puts into text: a window title (OSC 0), a clipboard
/// write (OSC 52), clear screen (CSI 2J), a status report request (CSI 6n), BEL, a C1 CSI, and
/// a right-to-left override.
pub const INJECTION: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\u{1b}[6n\u{9b}31m\u{202e}evil";

/// Whether `text` carries any control character a terminal would act on.
pub fn has_raw_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// A BackupRecord as the reference shows one, with `text` in every string field a user sees.
pub fn record_with(id: &str, text: &str) -> Value {
    json!({
        "recordId": id,
        "moduleCode": "102",
        "status": 0,
        "properties": format!("{{\"note\":{}}}", Value::String(text.into())),
        "version": 1,
        "createTime": "2025-12-17T07:59:20.752Z",
        "endTime": "",
        "deviceInfo": {
            "deviceId": format!("dev{text}"),
            "machineCode": "20250911",
            "deviceName": format!("name{text}"),
            "deviceOS": format!("os{text}"),
            "createTime": "2025-09-15T06:14:48.630Z"
        }
    })
}
