//! The HTTP/1 server under the stand-ins (the OTLP receiver, the prompts server): hyper on a
//! current-thread runtime of its own thread, bound to loopback, stopped and joined on drop.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// What a handler returns: a response, or `Err(DropConnection)` to make hyper close the
/// connection without one (a server that falls over mid-request).
pub type Answer = Result<Response<Full<Bytes>>, DropConnection>;

/// The error that closes a connection on purpose.
#[derive(Debug)]
pub struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

/// A running server; dropping it stops accepting and joins its thread.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves every request with `handler` on `addr` (a loopback address; port 0 picks a free
    /// one), on a thread named `name`.
    pub fn start<H, F>(name: &str, addr: SocketAddr, handler: H) -> Self
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        assert!(addr.ip().is_loopback(), "test servers bind loopback only");
        let listener = std::net::TcpListener::bind(addr).expect("bind a loopback address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, stop) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(serve(listener, stop, handler));
            })
            .expect("server thread");
        Self {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve<H, F>(listener: std::net::TcpListener, mut stop: oneshot::Receiver<()>, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            // Errors here are the dropped connections a test asked for, or clients going away.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handler))
                .await;
        });
    }
}
