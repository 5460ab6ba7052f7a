//! [`Server`]: the contracts one plugin process serves, the host contracts
//! it calls, and the loop that serves them.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::{peer_contract, Client};
use crate::driver::{Connection, Ended, Setup, Side, DEFAULT_OUTBOX_LIMIT};
use crate::env::{ENV_ADDR, ENV_BUSY_POLL, ENV_TOKEN};
use crate::service::{Service, Services};
use crate::transport::Split;
use crate::wire::frame::MIN_MAX_FRAME;
use crate::wire::messages::{Hello, Refuse, Welcome};
use crate::wire::stream::{read_frame, write_body};
use crate::wire::{codec, Kind, PLUGIN_PROTOCOL_MIN, PROTOCOL_MAX};
use crate::{ContractInfo, Error};

/// How long the host may take to answer the hello.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest HELLO body a host reads (a 64 KiB frame, less its header).
const MAX_HELLO_BODY: usize = 64 * 1024 - 9;
/// How long queued answers may take to reach the host before the process exits.
const FLUSH_ON_EXIT: Duration = Duration::from_secs(5);

/// The contracts one plugin process serves, and the host contracts it calls.
///
/// ```no_run
/// # async fn run(calc: impl goproc::Service, kv: impl goproc::Service) -> Result<(), goproc::Error> {
/// goproc::Server::new().add(calc).add(kv).serve().await
/// # }
/// ```
pub struct Server {
    services: Services,
    requires: Vec<&'static ContractInfo>,
    stream_window: u32,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            services: Services::default(),
            requires: Vec::new(),
            stream_window: crate::driver::DEFAULT_STREAM_WINDOW,
        }
    }
}

impl Server {
    /// A server with no contracts yet.
    pub fn new() -> Self {
        Server::default()
    }

    /// The credit window, in bytes, this plugin grants each stream it
    /// receives (an upload's argument stream, a host service's answer
    /// stream; default 1 MiB): the host never sends more than this ahead
    /// of the handler that reads it.
    pub fn stream_window(mut self, bytes: u32) -> Self {
        self.stream_window = bytes.max(1);
        self
    }

    /// Adds a contract's dispatcher.
    // A builder's `add`, not arithmetic: `Server` is no number.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, service: impl Service) -> Self {
        self.services.push(service);
        self
    }

    /// Requires the host to serve `C`'s contract (a store, a logger) with
    /// the same fingerprint: the host refuses this plugin at the handshake
    /// otherwise, before any call. Get the client with [`crate::peer`].
    pub fn require<C: Client>(mut self) -> Self {
        self.requires.push(C::CONTRACT);
        self
    }

    /// Connects to the host that started this process and serves calls
    /// until the host closes the connection or asks the plugin to shut down.
    ///
    /// When the process was not started by a goproc host (run by hand, say),
    /// this prints one line that says so to stderr and exits with status 2,
    /// as a plugin has nothing else useful to do.
    pub async fn serve(self) -> Result<(), Error> {
        crate::driver::record_panics();
        let (address, token) = match (std::env::var(ENV_ADDR), std::env::var(ENV_TOKEN)) {
            (Ok(a), Ok(t)) => (a, t),
            (Err(_), _) => not_started_by_host(ENV_ADDR),
            (_, Err(_)) => not_started_by_host(ENV_TOKEN),
        };
        // Tasks outside any handler may call the host from now on: their
        // calls wait for the connection.
        crate::driver::context::host_connecting();
        let served = self.connect_and_serve(address, token).await;
        crate::driver::context::host_ended();
        served
    }

    async fn connect_and_serve(self, address: String, token: String) -> Result<(), Error> {
        let mut stream = crate::transport::connect(&address)
            .await
            .map_err(|e| Error::transport(format!("connecting to the host at {address}"), e))?;
        let welcome = self.greet(&mut stream, token).await?;
        let conn = self.start_connection(stream, welcome);
        crate::driver::context::set_host_connection(&conn);
        conn.set_busy_poll(
            std::env::var(ENV_BUSY_POLL)
                .ok()
                .and_then(|us| us.trim().parse::<u64>().ok())
                .map(Duration::from_micros),
        );
        tokio::select! {
            ended = conn.ended() => {
                conn.fail_all(closed("the host closed the connection"));
                match ended {
                    Ended::Failed(err) => Err(err),
                    _ => Ok(()),
                }
            }
            _ = conn.shutdown_requested() => {
                conn.handlers_finished().await;
                conn.close_and_flush(FLUSH_ON_EXIT).await;
                Ok(())
            }
        }
    }

    /// The plugin's half of the handshake on a fresh stream: says hello
    /// with `token`, and checks the host's welcome.
    pub(crate) async fn greet<S>(&self, stream: &mut S, token: String) -> Result<Welcome, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let served = self.services.contracts();
        let mut hello = Hello {
            protocol_min: PLUGIN_PROTOCOL_MIN,
            protocol_max: PROTOCOL_MAX,
            token,
            language: "rust".into(),
            runtime: concat!("goproc-rust ", env!("CARGO_PKG_VERSION")).into(),
            pid: std::process::id(),
            contracts: served.iter().map(|c| c.to_ref()).collect(),
            requires: self.requires.iter().map(|c| c.to_ref()).collect(),
            schemas: served
                .iter()
                .chain(&self.requires)
                .map(|c| c.canonical_text().unwrap_or_default())
                .collect(),
        };
        let mut body = codec::encode(&hello).map_err(|e| Error::codec("encoding the hello", e))?;
        if body.len() > MAX_HELLO_BODY {
            // Schemas too large for a HELLO are left out: the host then
            // compares fingerprints only, as with an older plugin.
            tracing::warn!(
                "the contracts' schemas make the hello {} bytes, over the protocol's {} \
                 bytes; the host compares fingerprints only",
                body.len(),
                MAX_HELLO_BODY
            );
            hello.schemas.iter_mut().for_each(String::clear);
            body = codec::encode(&hello).map_err(|e| Error::codec("encoding the hello", e))?;
        }
        write_body(stream, Kind::Hello, &body)
            .await
            .map_err(|e| Error::transport("sending hello to the host", e))?;
        let welcome = read_welcome(stream).await?;
        if welcome.max_frame < MIN_MAX_FRAME {
            return Err(Error::Handshake {
                plugin: "this plugin".into(),
                reason: format!(
                    "the host's maximum frame size {} is below the protocol's minimum of \
                     {MIN_MAX_FRAME} bytes",
                    welcome.max_frame
                ),
            });
        }
        for required in &self.requires {
            peer_contract(&welcome.contracts, required, "host").map_err(|e| Error::Handshake {
                plugin: "this plugin".into(),
                reason: format!("the host's welcome does not match what it requires: {e}"),
            })?;
        }
        Ok(welcome)
    }

    /// Starts serving on a stream whose handshake is done.
    pub(crate) fn start_connection(self, stream: impl Split, welcome: Welcome) -> Arc<Connection> {
        Connection::start(
            stream,
            Setup {
                side: Side::Plugin,
                peer: "host".into(),
                max_frame: welcome.max_frame,
                outbox_limit: DEFAULT_OUTBOX_LIMIT,
                dispatcher: self.services.dispatcher(),
                protocol: welcome.protocol,
                stream_window: self.stream_window,
                peer_contracts: welcome.contracts,
            },
        )
    }

    /// The contracts this server serves, in order.
    pub(crate) fn contracts(&self) -> Vec<&'static ContractInfo> {
        self.services.contracts()
    }
}

async fn read_welcome<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Welcome, Error> {
    let handshake = |reason: String| Error::Handshake {
        plugin: "this plugin".into(),
        reason,
    };
    let (header, body) = tokio::time::timeout(WELCOME_TIMEOUT, read_frame(stream, 64 * 1024))
        .await
        .map_err(|_| {
            handshake(format!(
                "the host did not answer the hello within {WELCOME_TIMEOUT:?}"
            ))
        })?
        .map_err(|e| {
            handshake(format!(
                "reading the host's answer: {}",
                e.into_error("host")
            ))
        })?;
    if header.id != 0 {
        return Err(handshake(format!(
            "the host's {} frame carries id {}; it must carry id 0",
            header.kind.name(),
            header.id
        )));
    }
    match header.kind {
        Kind::Welcome => {
            // This runtime speaks version 2 on, so the host must have chosen
            // one of those, and its WELCOME carries the contracts it serves.
            let ((protocol,), _) = codec::decode_prefix::<(u32,)>(&body)
                .map_err(|e| handshake(format!("the host's welcome does not decode: {e}")))?;
            if !(PLUGIN_PROTOCOL_MIN..=PROTOCOL_MAX).contains(&protocol) {
                return Err(handshake(format!(
                    "the host chose protocol {protocol}; this plugin speaks versions \
                     {PLUGIN_PROTOCOL_MIN}..={PROTOCOL_MAX}"
                )));
            }
            codec::decode(&body)
                .map_err(|e| handshake(format!("the host's welcome does not decode: {e}")))
        }
        Kind::Refuse => {
            let refuse: Refuse = codec::decode(&body)
                .map_err(|e| handshake(format!("the host's refusal does not decode: {e}")))?;
            Err(handshake(format!(
                "the host refused this plugin: {}",
                refuse.reason
            )))
        }
        other => Err(handshake(format!(
            "the host answered the hello with {other:?}, expected Welcome or Refuse"
        ))),
    }
}

fn closed(reason: &str) -> Error {
    Error::Closed {
        peer: "host".into(),
        reason: reason.into(),
    }
}

fn not_started_by_host(missing: &'static str) -> ! {
    eprintln!("{}", Error::NotStartedByHost { missing });
    std::process::exit(2)
}

/// Serves one contract: shorthand for `Server::new().add(service).serve()`.
pub async fn serve(service: impl Service) -> Result<(), Error> {
    Server::new().add(service).serve().await
}
