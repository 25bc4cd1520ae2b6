//! A TCP proxy on 127.0.0.1 in front of a server, that can cut the network: [`Proxy::cut`]
//! drops every open connection and swallows new ones without an answer (packets into the void,
//! as when a link goes down), [`Proxy::restore`] forwards again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct State {
    cut: bool,
    /// The forwarding tasks of open connections, aborted by a cut.
    open: Vec<JoinHandle<()>>,
    /// Connections accepted while cut: held open, never answered.
    swallowed: Vec<TcpStream>,
}

pub struct Proxy {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut state = shared.lock().unwrap();
                if state.cut {
                    state.swallowed.push(inbound);
                    continue;
                }
                state.open.retain(|task| !task.is_finished());
                state.open.push(tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        let _ = inbound.shutdown().await;
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }));
            }
        });
        Proxy {
            base_url,
            state,
            task,
        }
    }

    /// The network is gone: nothing gets through, and nothing answers.
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut = true;
        for task in state.open.drain(..) {
            task.abort();
        }
    }

    /// The network is back.
    pub fn restore(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut = false;
        state.swallowed.clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}
