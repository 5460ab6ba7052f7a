//! Pools of Rust plugins: load spreading, supervision under SIGKILL,
//! restart limits, lazy start, health checks, and no orphans.

mod lifecycle_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goproc::{Error, Plugin, Pool, RestartPolicy};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::{pids, running, sigkill, wait_until};

fn plugin() -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("lifecycle")
        .name("lifecycle")
        .contract::<LifecycleClient>()
        .start_timeout(Duration::from_secs(20))
}

/// The chaos run on a runtime of its own thread, watched from outside it: a
/// pool that spins (as one did, when a call kept picking an instance that
/// had just exited) starves every worker, so a timer inside the runtime
/// could never report the hang. This test then fails instead of hanging.
#[test]
fn chaos_twenty_thousand_calls_while_instances_are_sigkilled_all_end_correctly_or_typed() {
    const LIMIT: Duration = Duration::from_secs(180);
    let (done, finished) = std::sync::mpsc::channel();
    let run = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(chaos());
        let _ = done.send(());
    });
    match finished.recv_timeout(LIMIT) {
        Ok(()) => run.join().expect("the chaos run"),
        // The thread panicked: its panic is the failure to report.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(run.join().expect_err("the chaos run panicked"))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the chaos run did not end within {LIMIT:?}: a call or the pool's runtime hangs")
        }
    }
}

async fn chaos() {
    let pool = Pool::builder(plugin())
        .size(4)
        .max_in_flight(64)
        .restart(RestartPolicy {
            max_restarts: 1_000,
            ..RestartPolicy::default()
        })
        .start()
        .await
        .expect("pool starts");
    let client: LifecycleClient = pool.client().expect("client");
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    seen.lock().expect("lock").extend(pids(&pool));

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = tokio::spawn({
        let (pool, seen, done, kills) = (pool.clone(), seen.clone(), done.clone(), kills.clone());
        async move {
            let mut n = 0usize;
            while !done.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(60)).await;
                let live = pids(&pool);
                seen.lock().expect("lock").extend(live.iter().copied());
                if let Some(pid) = live.get(n % live.len().max(1)) {
                    sigkill(*pid);
                    kills.fetch_add(1, Ordering::Relaxed);
                }
                n += 7;
            }
        }
    });

    let deadline = Duration::from_secs(3);
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    // At least 20,000 calls, and on until three instances were killed.
    for t in 0..200i64 {
        let (client, ok, failed, kills) = (
            client.with_timeout(deadline),
            ok.clone(),
            failed.clone(),
            kills.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0i64;
            while i < 100 || kills.load(Ordering::Relaxed) < 3 {
                i += 1;
                let started = Instant::now();
                let result = client.add(t, i).await;
                let took = started.elapsed();
                assert!(
                    took < deadline + Duration::from_millis(500),
                    "a call took {took:?}"
                );
                match result {
                    Ok(sum) => {
                        assert_eq!(sum, t + i, "a wrong answer");
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    // A call in flight when its instance died; a call never
                    // sent goes to another instance instead of failing.
                    Err(Error::PluginExited { .. } | Error::Timeout { .. }) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => panic!("an unexpected failure: {other:?}"),
                }
            }
        }));
    }
    let all = futures::future::join_all(tasks);
    for task in tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("no call hangs")
    {
        task.expect("every task ends without a wrong answer");
    }
    done.store(true, Ordering::Release);
    killer.await.expect("killer");
    let kills = kills.load(Ordering::Relaxed);
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!(
        "chaos: {ok} ok, {failed} failed, {kills} instances killed, {} restarts",
        pool.restarts()
    );
    assert!(ok + failed >= 20_000);
    assert!(kills >= 3, "the test killed {kills} instances");
    assert!(ok > failed, "{ok} ok, {failed} failed");
    assert!(pool.restarts() >= 1);

    let seen: Vec<u32> = seen.lock().expect("lock").iter().copied().collect();
    seen_after_drop(pool, client, seen).await;
}

/// Drops the pool and its client; no instance process may remain.
async fn seen_after_drop(pool: Pool, client: LifecycleClient, mut seen: Vec<u32>) {
    seen.extend(pids(&pool));
    drop(client);
    drop(pool);
    wait_until("every instance is gone", || {
        !seen.iter().any(|p| running(*p))
    })
    .await;
}

#[tokio::test]
async fn calls_spread_over_instances_and_the_client_survives_a_restart() {
    let pool = Pool::builder(plugin()).size(3).start().await.expect("pool");
    let client: LifecycleClient = pool.client().expect("client");
    let answers = futures::future::join_all((0..30).map(|_| {
        let client = client.clone();
        async move {
            let pid = client.pid().await.expect("pid");
            client.sleep(50).await.expect("sleep");
            pid
        }
    }))
    .await;
    let distinct: BTreeSet<u32> = answers.into_iter().collect();
    assert_eq!(distinct.len(), 3, "concurrent calls reach every instance");

    let before = pids(&pool);
    let victim = before[0];
    let killed = Instant::now();
    sigkill(victim);
    wait_until("the instance is replaced", || {
        let now = pids(&pool);
        now.len() == 3 && !now.contains(&victim)
    })
    .await;
    let restart_latency = killed.elapsed();
    eprintln!("restart latency after SIGKILL: {restart_latency:?}");
    assert_eq!(pool.restarts(), 1);
    assert!(
        restart_latency < Duration::from_secs(5),
        "{restart_latency:?}"
    );
    for _ in 0..10 {
        assert!(client.add(1, 2).await.expect("the same client still works") == 3);
    }
}

#[tokio::test]
async fn a_crashed_instance_fails_its_calls_in_flight_with_the_exit_error() {
    let pool = Pool::builder(plugin()).size(1).start().await.expect("pool");
    let client: LifecycleClient = pool.client().expect("client");
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.sleep(10_000).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    sigkill(pids(&pool)[0]);
    let err = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("fails at once")
        .expect("task")
        .expect_err("killed mid-call");
    assert!(
        matches!(&err, Error::PluginExited { status, .. } if status.contains("signal: 9")),
        "{err}"
    );
    // A call made while the only instance restarts waits for it.
    assert_eq!(
        client
            .with_timeout(Duration::from_secs(10))
            .add(2, 3)
            .await
            .expect("after restart"),
        5
    );
}

#[tokio::test]
async fn past_the_restart_limit_the_pool_gives_up_with_a_clear_error() {
    let pool = Pool::builder(plugin())
        .size(1)
        .restart(RestartPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_restarts: 2,
            window: Duration::from_secs(60),
        })
        .start()
        .await
        .expect("pool");
    let client: LifecycleClient = pool.client().expect("client");
    let mut killed = BTreeSet::new();
    for _ in 0..3 {
        wait_until("an instance runs", || {
            pids(&pool).iter().any(|p| !killed.contains(p))
        })
        .await;
        let pid = pids(&pool)[0];
        killed.insert(pid);
        sigkill(pid);
    }
    wait_until("the pool gives up", || {
        pool.instances()[0].state == "gave up"
    })
    .await;
    let err = client.add(1, 1).await.expect_err("nothing left to call");
    match &err {
        Error::RestartLimit { restarts, last, .. } => {
            assert_eq!(*restarts, 2);
            assert!(matches!(**last, Error::PluginExited { .. }), "{last}");
        }
        other => panic!("expected RestartLimit, got {other}"),
    }
    assert!(err.to_string().contains("after 2 restarts"), "{err}");
}

#[tokio::test]
async fn a_lazy_pool_starts_instances_only_when_the_running_ones_are_full() {
    let pool = Pool::builder(plugin())
        .size(3)
        .max_in_flight(1)
        .lazy(true)
        .start()
        .await
        .expect("pool");
    assert!(pool.instances().iter().all(|i| i.state == "idle"));
    let client: LifecycleClient = pool.client().expect("client");
    client.add(1, 1).await.expect("first call");
    // Counted by state, not pid: a second start still under way has none.
    let started = pool
        .instances()
        .iter()
        .filter(|i| i.state != "idle")
        .count();
    assert_eq!(
        started,
        1,
        "one call starts one instance: {:?}",
        pool.instances()
    );
    assert_eq!(pids(&pool).len(), 1, "one call starts one instance");
    futures::future::join_all((0..3).map(|_| client.sleep(300))).await;
    assert_eq!(
        pids(&pool).len(),
        3,
        "three concurrent calls need three instances"
    );
}

#[tokio::test]
async fn an_instance_that_stops_answering_pings_is_replaced() {
    lifecycle_support::a_frozen_instance_is_replaced_by_the_health_check(plugin()).await;
}

#[tokio::test]
async fn graceful_pool_shutdown_finishes_calls_in_flight_and_refuses_new_ones() {
    let pool = Pool::builder(plugin()).size(2).start().await.expect("pool");
    let client: LifecycleClient = pool.client().expect("client");
    let all = pids(&pool);
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.sleep(300).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopping = tokio::spawn({
        let pool = pool.clone();
        async move { pool.shutdown(Duration::from_secs(5)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = client.add(1, 1).await.expect_err("refused");
    assert!(
        matches!(&refused, Error::Closed { reason, .. } if reason.contains("shutting down")),
        "{refused}"
    );
    for call in slow {
        assert_eq!(call.await.expect("task").expect("finished"), 300);
    }
    stopping.await.expect("shutdown");
    wait_until("every instance exited", || !all.iter().any(|p| running(*p))).await;
}

#[tokio::test]
async fn after_waiting_for_a_slot_the_handler_sees_only_the_deadline_left() {
    let pool = Pool::builder(plugin())
        .size(1)
        .max_in_flight(1)
        .start()
        .await
        .expect("pool starts");
    let client: LifecycleClient = pool.client().expect("client");
    let busy = {
        let client = client.clone();
        tokio::spawn(async move { client.sleep(700).await })
    };
    // Let the sleep take the only slot.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let left = client
        .with_timeout(Duration::from_secs(3))
        .deadline_ms()
        .await
        .expect("deadline_ms")
        .expect("the call carries a deadline");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400),
        "the call waited for the slot ({waited:?})"
    );
    let most = 3000 - waited.as_millis() as u64 + 50;
    assert!(
        left <= most,
        "the handler had {left} ms left, but the host waits only {most} ms more after {waited:?} \
         in the queue"
    );
    busy.await.expect("join").expect("sleep");
}
