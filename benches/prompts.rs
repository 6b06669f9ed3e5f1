//! Cost of a fresh prompt-cache hit: `get_prompt(name)` for a prompt fetched less than the
//! TTL ago, with 1,000 prompts cached, as sync code (`.blocking()`) and async code (the
//! future polled once: a hit is ready at the first poll), from one thread and from eight.
//!
//! The prompts come from a loopback stand-in of the prompts API, loaded by
//! `prefetch_prompts` while the client starts; the measured loops make no request (the
//! stand-in counts them, and the bench fails if one is made).
//!
//! - `hit_blocking`, `hit_async`: one thread, each call for another of the 1,000 names.
//! - `hit_blocking_2_threads`, `hit_blocking_8_threads`: that many threads reading at once,
//!   each doing the iterations; the time reported per call is the CPU time the reading
//!   threads spent (each thread's own, `CLOCK_THREAD_CPUTIME_ID`, so that other
//!   processes on a busy machine do not count), ÷ (threads × iterations): what a call costs
//!   while the others read too, contention included. With 8 threads on a 2-core machine the
//!   threads also take turns (cold caches after each switch), which is in the figure; the
//!   wall time one of them sees per call is about four times it.
//!
//! ```text
//! cargo bench -p langfuse-benches --bench prompts
//! ```

use std::future::{Future, IntoFuture};
use std::hint::black_box;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use langfuse::{ExporterKind, Langfuse};

const PROMPTS: usize = 1_000;
const THREADS: usize = 8;

/// A stand-in for `GET /api/public/v2/prompts/{name}`: every name exists, as a text prompt
/// whose template is its name. Counts the requests.
fn start_stand_in(requests: Arc<AtomicU64>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let requests = Arc::clone(&requests);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        requests.fetch_add(1, Ordering::Relaxed);
                        let name = request
                            .uri()
                            .path()
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                            .to_owned();
                        // Names are `prompt-NNNN`: nothing to escape.
                        let body = format!(
                            r#"{{"type":"text","name":"{name}","version":1,"prompt":"{name}","config":{{}},"labels":["production"],"tags":[]}}"#
                        );
                        async move {
                            Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                Bytes::from(body),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// The calling thread's CPU time so far (`CLOCK_THREAD_CPUTIME_ID`), so that the other
/// processes on a busy machine do not count; `None` where it cannot be read.
fn thread_cpu() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes one timespec we own; no other memory is touched.
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0;
        ok.then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    None
}

/// Polls a future that must be ready at once.
fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a cached prompt was not ready at the first poll"),
    }
}

fn prompts(c: &mut Criterion) {
    let requests = Arc::new(AtomicU64::new(0));
    let addr = start_stand_in(Arc::clone(&requests));
    let names: Vec<String> = (0..PROMPTS).map(|i| format!("prompt-{i:04}")).collect();
    let _langfuse = Langfuse::builder()
        .ignore_environment()
        .public_key("pk-lf-bench")
        .secret_key("sk-lf-bench")
        .base_url(format!("http://{addr}"))
        .exporter(ExporterKind::None)
        // Longer than the bench: every call is a fresh hit.
        .prompt_cache_ttl(Duration::from_secs(3600))
        .timeout(Duration::from_secs(30))
        .prefetch_prompts(names.clone())
        .init()
        .expect("valid configuration");
    let client = langfuse::get_client();
    for name in &names {
        let prompt = client.get_prompt(name.as_str()).text().blocking().unwrap();
        assert_eq!(prompt.template(), name);
    }
    let loaded = requests.load(Ordering::Relaxed);
    assert_eq!(loaded, PROMPTS as u64, "every prompt prefetched once");

    let mut group = c.benchmark_group("prompts");
    group.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    group.bench_function("hit_blocking", |b| {
        b.iter(|| {
            next = (next + 1) % PROMPTS;
            black_box(client.get_prompt(names[next].as_str()).blocking().unwrap());
        })
    });
    group.bench_function("hit_async", |b| {
        b.iter(|| {
            next = (next + 1) % PROMPTS;
            black_box(ready_now(client.get_prompt(names[next].as_str()).into_future()).unwrap());
        })
    });
    for threads in [2, THREADS] {
        group.bench_function(format!("hit_blocking_{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let barrier = std::sync::Barrier::new(threads);
                let cpu: Duration = std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..threads)
                        .map(|t| {
                            let (names, barrier) = (&names, &barrier);
                            scope.spawn(move || {
                                barrier.wait();
                                let (wall, cpu) = (Instant::now(), thread_cpu());
                                let mut index = t * 97;
                                for _ in 0..iters {
                                    index = (index + 1) % PROMPTS;
                                    black_box(
                                        langfuse::get_prompt(names[index].as_str())
                                            .blocking()
                                            .unwrap(),
                                    );
                                }
                                match (cpu, thread_cpu()) {
                                    (Some(start), Some(end)) => end.saturating_sub(start),
                                    _ => wall.elapsed(),
                                }
                            })
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).sum()
                });
                // Criterion divides by the iterations: CPU per call, averaged over the threads.
                cpu / threads as u32
            })
        });
    }
    group.finish();
    assert_eq!(
        requests.load(Ordering::Relaxed),
        loaded,
        "a measured call asked the server"
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = prompts
}
criterion_main!(benches);
