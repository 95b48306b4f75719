//! A real SMTP server inside the test process, built on `mailin`'s protocol
//! state machine (the engine of mailin-embedded) with one std thread per
//! connection. It can be stopped and started again on the same port to
//! simulate an SMTP outage.
//!
//! Special recipients: `bounce@…` is rejected with 550 (permanent),
//! `busy@…` with 450 (transient). With [`TestSmtp::start_with_login`] the
//! server requires AUTH PLAIN/LOGIN over the plain connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use tokio::sync::watch;

/// One message as the server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// Envelope sender (MAIL FROM).
    pub from: String,
    /// Envelope recipients (RCPT TO).
    pub to: Vec<String>,
    /// The DATA section, dot-unstuffed, with CRLF line endings.
    pub data: Vec<u8>,
}

impl ReceivedMail {
    pub fn parse(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("received data is a MIME message")
    }
}

/// Connection statistics, to check how the client pools connections.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionStats {
    pub total: usize,
    pub open: usize,
    pub max_open: usize,
}

#[derive(Clone)]
struct Login {
    username: String,
    password: String,
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedMail>,
    sessions: SessionStats,
    /// Clones of open client sockets, so that `stop` can cut them.
    open_streams: Vec<(u64, TcpStream)>,
    next_stream_id: u64,
}

struct Shared {
    state: Mutex<State>,
    /// Number of messages received; waiters use `wait_for` instead of polling.
    received: watch::Sender<usize>,
    login: Option<Login>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct TestSmtp {
    port: u16,
    shared: Arc<Shared>,
    stopping: Arc<AtomicBool>,
    /// "Down": the port stays ours (no other test can take it in between), but every
    /// connection is closed before the greeting, so clients fail as with a dead server.
    down: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl TestSmtp {
    /// Starts on a free port of 127.0.0.1.
    pub fn start() -> TestSmtp {
        Self::start_on(0)
    }

    /// A port with nothing listening on it (connections are refused) until
    /// [`TestSmtp::start_on`] is called with it.
    pub fn reserve_port() -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
        listener.local_addr().expect("local addr").port()
    }

    /// Starts on the given port (0 = any free port).
    pub fn start_on(port: u16) -> TestSmtp {
        Self::launch(port, None)
    }

    /// A server that requires AUTH with these credentials.
    pub fn start_with_login(username: &str, password: &str) -> TestSmtp {
        let login = Login {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        Self::launch(0, Some(login))
    }

    fn launch(port: u16, login: Option<Login>) -> TestSmtp {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind the test SMTP port");
        let port = listener.local_addr().expect("local addr").port();
        let (received, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            received,
            login,
        });
        let stopping = Arc::new(AtomicBool::new(false));
        let down = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let shared = Arc::clone(&shared);
            let (stopping, down) = (Arc::clone(&stopping), Arc::clone(&down));
            std::thread::Builder::new()
                .name(format!("test-smtp-{port}"))
                .spawn(move || accept_loop(listener, shared, stopping, down))
                .expect("spawn the SMTP accept thread")
        };
        TestSmtp {
            port,
            shared,
            stopping,
            down,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.lock().messages.clone()
    }

    pub fn session_stats(&self) -> SessionStats {
        self.shared.lock().sessions
    }

    /// Waits until at least `count` messages arrived; panics after `timeout`.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut received = self.shared.received.subscribe();
        let arrived = tokio::time::timeout(timeout, received.wait_for(|n| *n >= count)).await;
        let messages = self.messages();
        assert!(
            arrived.is_ok(),
            "expected {count} messages within {timeout:?}, got {}",
            messages.len()
        );
        messages
    }

    /// The server goes down: open connections are cut (pooled ones break) and new ones are
    /// closed before the greeting, until [`TestSmtp::restart`].
    pub fn stop(&mut self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut_open_connections();
    }

    /// Back up on the same port, with the messages received so far.
    pub fn restart(&mut self) {
        self.down.store(false, Ordering::SeqCst);
    }

    fn cut_open_connections(&self) {
        for (_, stream) in self.shared.lock().open_streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag and drops the listener.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        let _ = acceptor.join();
        self.cut_open_connections();
    }
}

fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    stopping: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if down.load(Ordering::SeqCst) {
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        // Registered here, not in the session thread, so that `stop` (which
        // joins this thread first) sees every connection it must cut.
        let id = register_session(&shared, &stream);
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let _ = run_session(&stream, &shared);
            let mut state = shared.lock();
            state.sessions.open -= 1;
            state.open_streams.retain(|(open_id, _)| *open_id != id);
        });
    }
}

fn register_session(shared: &Shared, stream: &TcpStream) -> u64 {
    let mut state = shared.lock();
    state.next_stream_id += 1;
    let id = state.next_stream_id;
    if let Ok(clone) = stream.try_clone() {
        state.open_streams.push((id, clone));
    }
    state.sessions.total += 1;
    state.sessions.open += 1;
    state.sessions.max_open = state.sessions.max_open.max(state.sessions.open);
    id
}

fn run_session(stream: &TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Replies are small writes; without this, Nagle + delayed ACK add ~40 ms per command.
    stream.set_nodelay(true)?;
    let remote = stream
        .peer_addr()
        .map(|addr: SocketAddr| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut builder = SessionBuilder::new("test-smtp.localhost");
    if shared.login.is_some() {
        builder
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login)
            .insecure_enable_plaintext_auth();
    }
    let handler = Recorder {
        shared: Arc::clone(shared),
        current: None,
    };
    let mut session = builder.build(remote, handler);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    writer.write_all(&session.greeting().buffer()?)?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            // One write per reply (write_to issues several small ones).
            Action::Reply => writer.write_all(&response.buffer()?)?,
            Action::Close => {
                writer.write_all(&response.buffer()?)?;
                return Ok(());
            }
            Action::NoReply => {}
            Action::UpgradeTls => return Ok(()), // STARTTLS is never offered.
        }
    }
}

/// Per-connection mailin handler that records each message.
struct Recorder {
    shared: Arc<Shared>,
    current: Option<ReceivedMail>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        match to.split('@').next() {
            Some("bounce") => Response::custom(550, "5.1.1 No such mailbox".to_owned()),
            Some("busy") => Response::custom(450, "4.2.1 Mailbox busy, try later".to_owned()),
            _ => mailin::response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(ReceivedMail {
            from: from.to_owned(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = &mut self.current {
            mail.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(mail) = self.current.take() {
            // Stored before the 250 reply, so a finished send() is visible here.
            let count = {
                let mut state = self.shared.lock();
                state.messages.push(mail);
                state.messages.len()
            };
            // Sessions run side by side: a slower one must not set the count back.
            self.shared.received.send_modify(|n| *n = (*n).max(count));
        }
        mailin::response::OK
    }

    fn auth_plain(&mut self, _authz: &str, username: &str, password: &str) -> Response {
        self.check_login(username, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.check_login(username, password)
    }
}

impl Recorder {
    fn check_login(&self, username: &str, password: &str) -> Response {
        match &self.shared.login {
            Some(login) if login.username == username && login.password == password => {
                mailin::response::AUTH_OK
            }
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}
