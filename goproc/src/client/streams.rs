//! The stream methods of typed clients: a call whose answer is a stream
//! (`-> goproc::Stream<T>`) and a call that sends one (an argument).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{deadline_ms, ClientHandle, Route};
use crate::driver::{CallFailure, Connection, DecodeItem, EncodeItem, OpenCall, StreamCall};
use crate::metrics::{CallMeter, ContractNames};
use crate::wire::codec;
use crate::wire::messages::RequestHead;
use crate::{Error, Stream};

/// A stream call in flight, and what keeps its pool instance counted busy.
struct Opened {
    call: OpenCall,
    _lease: Option<Box<dyn Any + Send + Sync>>,
}

/// Opening a call whose answer is a stream; the meter measures it until
/// the stream ends.
type Opening = Pin<Box<dyn Future<Output = Result<(Opened, CallMeter<'static>), Error>> + Send>>;

impl ClientHandle {
    /// A copy of this client whose answer streams get a credit window of
    /// `bytes` (default: the connection's, 1 MiB unless the builder set
    /// another): the plugin never sends more than this ahead of the code
    /// that reads the stream.
    pub fn with_stream_window(&self, bytes: u32) -> Self {
        ClientHandle {
            stream_window: Some(bytes.max(1)),
            ..self.clone()
        }
    }

    /// The connection a stream call goes on, the contract's index there,
    /// and (in a pool) the lease that keeps the call on that instance.
    async fn stream_connection(
        &self,
        timeout: Option<Duration>,
        meter: &mut CallMeter<'_>,
    ) -> Result<(Arc<Connection>, u32, Option<Box<dyn Any + Send + Sync>>), CallFailure> {
        match &self.route {
            Route::Direct {
                conn,
                contract_index,
                ..
            } => Ok((conn.clone(), *contract_index, None)),
            Route::Pool { pool, contract } => {
                let (conn, index, lease) = pool.lease(*contract, timeout, meter).await?;
                Ok((conn, index, Some(lease)))
            }
            Route::AwaitHost => {
                let (conn, index) = self.host_connection().await?;
                Ok((conn, index, None))
            }
        }
    }

    /// Sends a stream call's request (the arguments it carries are `args`).
    async fn open<A: Serialize + Sync + ?Sized>(
        &self,
        method: u32,
        args: &A,
        answer_stream: bool,
        sends_args: bool,
        meter: &mut CallMeter<'_>,
    ) -> Result<Opened, Error> {
        let timeout = self.timeout();
        let opened = async {
            let (conn, index, lease) = self.stream_connection(timeout, meter).await?;
            let head = RequestHead {
                contract: index,
                method,
                deadline_ms: deadline_ms(timeout),
            };
            let frame = conn.request_frame(head, |buf| codec::encode_into(args, buf), 0)?;
            let window = self.stream_window.unwrap_or_else(|| conn.stream_window());
            let call = StreamCall {
                answer_window: answer_stream.then_some(window),
                sends_args,
            };
            let call = conn.open_call(frame, call, timeout).await?;
            Ok(Opened {
                call,
                _lease: lease,
            })
        };
        opened
            .await
            .map_err(|failure| self.failure(method, failure, timeout))
    }

    /// Calls a method that answers with a stream; `arg_stream` is its
    /// stream argument, if it takes one. Nothing is sent until the stream
    /// is first polled.
    #[doc(hidden)]
    pub fn call_stream<A, U, T>(
        &self,
        method: u32,
        args: A,
        arg_stream: Option<(Stream<U>, EncodeItem<U>)>,
        decode: DecodeItem<T>,
    ) -> Stream<T>
    where
        A: Serialize + Send + Sync + 'static,
        U: Send + 'static,
        T: Send + 'static,
    {
        let handle = self.clone();
        let timeout = self.timeout();
        let mut meter = CallMeter::start_owned(
            &ContractNames::Typed(self.contract),
            method,
            self.metrics.clone(),
        );
        let opening: Opening = Box::pin(async move {
            let sends_args = arg_stream.is_some();
            let opened = handle
                .open(method, &args, true, sends_args, &mut meter)
                .await;
            let mut opened = match opened {
                Ok(opened) => opened,
                Err(e) => {
                    meter.ended(Some(&e));
                    return Err(e);
                }
            };
            if let Some((items, encode)) = arg_stream {
                opened.call.send_args(items, encode);
            }
            Ok((opened, meter))
        });
        Stream::from_source(Box::pin(AnswerStream::<T> {
            handle: self.clone(),
            method,
            timeout,
            state: State::Opening(opening),
            decode,
        }))
    }

    /// Calls a method that takes a stream argument and answers with one
    /// value.
    #[doc(hidden)]
    pub async fn call_with_stream<A, U, R>(
        &self,
        method: u32,
        args: &A,
        arg_stream: Stream<U>,
        encode: EncodeItem<U>,
    ) -> Result<R, Error>
    where
        A: Serialize + Sync + ?Sized,
        U: Send + 'static,
        R: DeserializeOwned,
    {
        let timeout = self.timeout();
        let mut meter = CallMeter::start(
            &ContractNames::Typed(self.contract),
            method,
            self.metrics.as_deref(),
        );
        let result = async {
            let mut opened = self.open(method, args, false, true, &mut meter).await?;
            opened.call.send_args(arg_stream, encode);
            let body = opened
                .call
                .answer()
                .await
                .map_err(|failure| self.failure(method, failure, timeout))?;
            codec::decode(&body).map_err(|e| self.bad_answer(method, e))
        }
        .await;
        meter.finish(&result, false);
        result
    }
}

enum State {
    Opening(Opening),
    Open(
        Opened,
        Option<Pin<Box<tokio::time::Sleep>>>,
        CallMeter<'static>,
    ),
    Done,
}

/// A call's answer stream, typed: items decode as `T`; the call's failure
/// is the last item.
struct AnswerStream<T> {
    handle: ClientHandle,
    method: u32,
    timeout: Option<Duration>,
    state: State,
    decode: DecodeItem<T>,
}

impl<T> AnswerStream<T> {
    /// The stream is over (after `error`, if any): the call ends.
    fn end(&mut self, error: Option<&Error>) {
        if let State::Open(_, _, meter) = std::mem::replace(&mut self.state, State::Done) {
            meter.ended(error);
        }
    }
}

impl<T> futures::Stream for AnswerStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Opening(opening) => match opening.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok((opened, meter))) => {
                        let timer = opened
                            .call
                            .deadline()
                            .map(|(at, _)| Box::pin(tokio::time::sleep_until(at)));
                        this.state = State::Open(opened, timer, meter);
                    }
                },
                State::Open(opened, timer, _) => {
                    let next = opened.call.poll_item(cx);
                    let failure = match next {
                        Poll::Ready(Ok(Some(bytes))) => {
                            return Poll::Ready(Some(match (this.decode)(bytes) {
                                Ok(item) => Ok(item),
                                Err(e) => {
                                    // Dropping the call cancels it.
                                    let err = this.handle.bad_answer(this.method, e);
                                    this.end(Some(&err));
                                    Err(err)
                                }
                            }));
                        }
                        Poll::Ready(Ok(None)) => {
                            this.end(None);
                            return Poll::Ready(None);
                        }
                        Poll::Ready(Err(failure)) => failure,
                        Poll::Pending => {
                            let expired = timer
                                .as_mut()
                                .is_some_and(|t| t.as_mut().poll(cx).is_ready());
                            if !expired {
                                return Poll::Pending;
                            }
                            CallFailure::Timeout(this.timeout.unwrap_or_default())
                        }
                    };
                    let err = this.handle.failure(this.method, failure, this.timeout);
                    this.end(Some(&err));
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }
}
