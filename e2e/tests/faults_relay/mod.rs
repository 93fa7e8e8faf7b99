//! A TCP relay in front of an API server that plays its death: once
//! `trigger` says so (looking at the bytes served so far), it cuts every
//! connection, runs `on_kill` (e.g. kills the server process) and stops
//! listening, so new connections are refused as by a dead server. Made
//! with [`KillingRelay::stalling`], it plays a server that hangs instead:
//! connections stay open (new ones are accepted) and nothing is forwarded
//! any more. TLS passes through untouched (the server certificate names
//! 127.0.0.1).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct KillingRelay {
    pub port: u16,
    killed: Arc<AtomicBool>,
}

type Trigger = Box<dyn Fn(usize) -> bool + Send + Sync>;
type OnKill = Box<dyn FnOnce() + Send>;

impl KillingRelay {
    /// Relays 127.0.0.1:`port` → 127.0.0.1:`upstream`. `trigger` gets the
    /// number of bytes served so far before each chunk is forwarded; when it
    /// returns true the chunk is dropped and the server "dies".
    pub fn start(upstream: u16, trigger: Trigger, on_kill: OnKill) -> KillingRelay {
        Self::with(upstream, trigger, on_kill, false)
    }

    /// Relays until `trigger` fires, then forwards nothing more while every
    /// connection stays open: a stalled API server.
    #[allow(dead_code)]
    pub fn stalling(upstream: u16, trigger: Trigger) -> KillingRelay {
        Self::with(upstream, trigger, Box::new(|| {}), true)
    }

    fn with(upstream: u16, trigger: Trigger, on_kill: OnKill, stall: bool) -> KillingRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let killed = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Relay {
            trigger,
            on_kill: Mutex::new(Some(on_kill)),
            sent: AtomicUsize::new(0),
            killed: killed.clone(),
            stall,
            sockets: Mutex::new(Vec::new()),
        });
        std::thread::spawn(move || {
            while !state.killed.load(Ordering::SeqCst) || state.stall {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                        state.track(&client, &server);
                        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                        let st = state.clone();
                        std::thread::spawn(move || pump(client, s2, &st, false));
                        let st = state.clone();
                        std::thread::spawn(move || pump(server, c2, &st, true));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        KillingRelay { port, killed }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

struct Relay {
    trigger: Trigger,
    on_kill: Mutex<Option<OnKill>>,
    sent: AtomicUsize,
    killed: Arc<AtomicBool>,
    /// Stall (hold every connection, forward nothing) instead of dying.
    stall: bool,
    sockets: Mutex<Vec<TcpStream>>,
}

impl Relay {
    fn track(&self, a: &TcpStream, b: &TcpStream) {
        let mut s = self.sockets.lock().unwrap();
        s.push(a.try_clone().unwrap());
        s.push(b.try_clone().unwrap());
    }

    fn kill(&self) {
        if self.killed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(f) = self.on_kill.lock().unwrap().take() {
            f();
        }
        if self.stall {
            return;
        }
        for s in self.sockets.lock().unwrap().iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, relay: &Relay, downstream: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if downstream && (relay.trigger)(relay.sent.load(Ordering::SeqCst)) {
            relay.kill();
        }
        if relay.killed.load(Ordering::SeqCst) && relay.stall {
            // Hold the connection open and forward nothing, as a hung server would.
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if relay.killed.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
        if downstream {
            relay.sent.fetch_add(n, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}
