//! The host's half of the handshake: read HELLO, check it, answer WELCOME or
//! REFUSE (see `docs/WIRE.md`).

use tokio::io::{AsyncRead, AsyncWrite};

use crate::contract::{check_contract, check_schema, find_contract, names, short, NotListed};
use crate::wire::messages::{ContractRef, Hello, HelloList, Refuse, Welcome};
use crate::wire::stream::{read_frame, write_body as send};
use crate::wire::{codec, Kind, PROTOCOL_MAX, PROTOCOL_MIN};
use crate::{ContractInfo, Error};

/// A HELLO is small; a larger first frame is refused before it is read.
const MAX_HELLO: u32 = 64 * 1024;

/// What the host checks the hello against.
pub(crate) struct Expect<'a> {
    pub plugin: &'a str,
    pub token: &'a str,
    pub contracts: &'a [&'static ContractInfo],
    /// The contracts the host serves to the plugin.
    pub serves: &'a [&'static ContractInfo],
    pub max_frame: u32,
}

/// How a handshake failed.
pub(crate) enum Failed {
    /// The peer never proved it is the plugin: it said nothing, sent no
    /// hello, or a wrong token. It may be another process that connected
    /// first; the host keeps accepting.
    Stranger(Error),
    /// The plugin (it had the token) cannot be used: its protocol versions
    /// or contracts do not match.
    Plugin(Error),
}

/// Runs the handshake on a fresh connection; on success returns the hello.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    expect: &Expect<'_>,
) -> Result<Hello, Failed> {
    let fail = |reason: String| Error::Handshake {
        plugin: expect.plugin.to_string(),
        reason,
    };
    let (header, body) = read_frame(stream, MAX_HELLO).await.map_err(|e| {
        Failed::Stranger(fail(format!(
            "reading its hello: {}",
            e.into_error(expect.plugin)
        )))
    })?;
    if header.kind != Kind::Hello {
        return Err(Failed::Stranger(fail(format!(
            "its first frame is {}, expected HELLO",
            header.kind.name()
        ))));
    }
    if header.id != 0 {
        return Err(Failed::Stranger(fail(format!(
            "its HELLO carries id {}; it must carry id 0",
            header.id
        ))));
    }
    let hello = Hello::decode(&body)
        .map_err(|e| Failed::Stranger(fail(format!("its hello does not decode: {e}"))))?;
    if hello.token != expect.token {
        let err = fail(
            "the plugin presented a wrong token (the connection did not come from the process \
             this host started)"
                .into(),
        );
        let reason = err.to_string();
        refuse(stream, reason).await;
        return Err(Failed::Stranger(err));
    }
    if let Err(err) = check(&hello, expect) {
        let reason = err.to_string();
        refuse(stream, reason).await;
        return Err(Failed::Plugin(err));
    }
    let welcome = Welcome {
        protocol: hello.protocol_max.min(PROTOCOL_MAX),
        max_frame: expect.max_frame,
        host_pid: std::process::id(),
        contracts: expect.serves.iter().map(|c| c.to_ref()).collect(),
    };
    let body = welcome
        .encode()
        .map_err(|e| Failed::Plugin(fail(format!("encoding welcome: {e}"))))?;
    send(stream, Kind::Welcome, &body)
        .await
        .map_err(|e| Failed::Plugin(fail(format!("sending welcome: {e}"))))?;
    Ok(hello)
}

/// Tells the plugin why it is refused (it may not be listening any more).
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, reason: String) {
    if let Ok(body) = codec::encode(&Refuse { reason }) {
        let _ = send(stream, Kind::Refuse, &body).await;
    }
}

/// Checks what a hello with the right token says.
fn check(hello: &Hello, expect: &Expect<'_>) -> Result<(), Error> {
    let fail = |reason: String| Error::Handshake {
        plugin: expect.plugin.to_string(),
        reason,
    };
    if hello.protocol_min > PROTOCOL_MAX || hello.protocol_max < PROTOCOL_MIN {
        return Err(fail(format!(
            "the plugin ({}) speaks protocol versions {}..={}, the host speaks {}..={}; upgrade \
             the older side",
            hello.runtime, hello.protocol_min, hello.protocol_max, PROTOCOL_MIN, PROTOCOL_MAX
        )));
    }
    let stated = hello.contracts.len() + hello.requires.len();
    if hello.protocol_max >= crate::wire::SCHEMAS_SINCE && hello.schemas.len() != stated {
        return Err(fail(format!(
            "its hello lists {} contracts and {} required host contracts but {} schemas; it must \
             state one schema per contract (an empty one when it cannot)",
            hello.contracts.len(),
            hello.requires.len(),
            hello.schemas.len()
        )));
    }
    for wanted in expect.contracts {
        // The schema first: where both sides have one, it names the
        // difference, where a fingerprint only says there is one.
        if let Some(i) = hello.contracts.iter().position(|c| c.name == wanted.name) {
            check_schema(
                wanted,
                hello.schema_of(HelloList::Contracts, i),
                expect.plugin,
            )?;
        }
        check_contract(&hello.contracts, wanted, expect.plugin)?;
    }
    for (i, required) in hello.requires.iter().enumerate() {
        if let Some(served) = expect.serves.iter().find(|c| c.name == required.name) {
            check_schema(
                served,
                hello.schema_of(HelloList::Requires, i),
                expect.plugin,
            )?;
        }
        check_required(required, expect)?;
    }
    Ok(())
}

/// Checks that the host serves a contract the plugin requires, with the
/// same fingerprint.
fn check_required(required: &ContractRef, expect: &Expect<'_>) -> Result<(), Error> {
    let serves: Vec<ContractRef> = expect.serves.iter().map(|c| c.to_ref()).collect();
    let reason = match find_contract(&serves, &required.name, &required.fingerprint) {
        Ok(_) => return Ok(()),
        Err(NotListed::Other(served)) => format!(
            "the plugin requires host contract {} fingerprint {}, but the host serves {} with \
             fingerprint {}; build the host and the plugin (or its stubs) from the same contract",
            required.name,
            short(&required.fingerprint),
            served.name,
            short(&served.fingerprint)
        ),
        Err(NotListed::Missing) if expect.serves.is_empty() => format!(
            "the plugin requires host contract {} (fingerprint {}), but the host does not serve \
             it: it serves no contracts; add it to the plugin's builder with `.serve(...)`",
            required.name,
            short(&required.fingerprint)
        ),
        Err(NotListed::Missing) => format!(
            "the plugin requires host contract {} (fingerprint {}), but the host does not serve \
             it; it serves: {}",
            required.name,
            short(&required.fingerprint),
            names(&serves)
        ),
    };
    Err(Error::Handshake {
        plugin: expect.plugin.to_string(),
        reason,
    })
}
