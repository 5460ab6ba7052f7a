//! Starting a plugin process so that it lives exactly as long as it should:
//! not killed while its host lives, killed when its host dies, and holding
//! nothing of the host's but what it was given.
//!
//! On Linux the kernel sends the plugin SIGKILL when its host dies, even by
//! SIGKILL (`PR_SET_PDEATHSIG`). That signal follows the *thread* that
//! forked the child, not the process: a plugin started from
//! `spawn_blocking`, a short-lived thread, or a tokio worker that later
//! runs `block_in_place` would be killed when that thread exits. So every
//! plugin is forked by one thread that lives as long as the host process.

use std::io;

use tokio::process::{Child, Command};

/// Starts `command`: on Linux from the spawner thread, elsewhere right here.
pub(super) async fn spawn(mut command: Command) -> io::Result<Child> {
    prepare_child(&mut command);
    #[cfg(target_os = "linux")]
    keep_callers_cpus(&mut command);
    #[cfg(target_os = "linux")]
    {
        spawner::spawn(command).await
    }
    #[cfg(not(target_os = "linux"))]
    {
        command.spawn()
    }
}

#[cfg(target_os = "linux")]
mod spawner {
    use std::io;
    use std::sync::mpsc;
    use std::sync::OnceLock;

    use tokio::process::{Child, Command};
    use tokio::sync::oneshot;

    struct Job {
        command: Command,
        /// The runtime the child is registered with (its exit is watched there).
        runtime: tokio::runtime::Handle,
        done: oneshot::Sender<io::Result<Child>>,
    }

    /// The spawner thread's queue; the thread starts on first use and never
    /// exits, since its exit would kill every plugin it started.
    fn jobs() -> io::Result<&'static mpsc::Sender<Job>> {
        static JOBS: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
        if let Some(jobs) = JOBS.get() {
            return Ok(jobs);
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("goproc-spawner".into())
            .spawn(move || {
                for job in rx {
                    let _runtime = job.runtime.enter();
                    let mut command = job.command;
                    let _ = job.done.send(command.spawn());
                }
            });
        match started {
            // Another task may have won the race; its thread serves both.
            Ok(_) => Ok(JOBS.get_or_init(|| tx)),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("starting the thread that starts plugins: {e}"),
            )),
        }
    }

    pub(super) async fn spawn(command: Command) -> io::Result<Child> {
        let (done, child) = oneshot::channel();
        let job = Job {
            command,
            runtime: tokio::runtime::Handle::current(),
            done,
        };
        jobs()?
            .send(job)
            .map_err(|_| io::Error::other("the thread that starts plugins is gone"))?;
        child
            .await
            .map_err(|_| io::Error::other("the thread that starts plugins dropped the request"))?
    }
}

/// What the child does between fork and exec.
#[cfg(unix)]
fn prepare_child(command: &mut Command) {
    #[cfg(target_os = "linux")]
    let host = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes async-signal-safe calls (prctl, getppid, _exit, close_range,
    // getrlimit, fcntl).
    unsafe {
        command.pre_exec(move || {
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The host died between fork and prctl: the signal will never come.
                if libc::getppid() != host {
                    libc::_exit(1);
                }
            }
            close_stray_descriptors();
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn prepare_child(_command: &mut Command) {}

/// A child inherits the CPU affinity of the thread that forks it: here the
/// spawner thread, not the thread that asked for the plugin. A host that
/// pins itself (`taskset`, `sched_setaffinity`) expects its plugins pinned
/// alike, so the child takes the asking thread's CPUs.
#[cfg(target_os = "linux")]
fn keep_callers_cpus(command: &mut Command) {
    // SAFETY: `cpu_set_t` is plain data, zero is a valid (empty) set, and
    // sched_getaffinity writes at most `size_of::<cpu_set_t>()` bytes into it.
    let mut cpus: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    if unsafe { libc::sched_getaffinity(0, size, &mut cpus) } != 0 {
        return;
    }
    // SAFETY: sched_setaffinity is a system call, async-signal-safe, on a
    // set copied into the closure.
    unsafe {
        command.pre_exec(move || {
            libc::sched_setaffinity(0, size, &cpus);
            Ok(())
        });
    }
}

/// Marks every descriptor past stdin, stdout and stderr close-on-exec, so
/// the plugin does not inherit what the host itself inherited without that
/// flag (a parent's pipe, a listening socket...). Marking rather than
/// closing keeps the pipe through which the standard library reports a
/// failed exec.
#[cfg(unix)]
unsafe fn close_stray_descriptors() {
    #[cfg(target_os = "linux")]
    {
        // Linux 5.11 and later do it in one call.
        if libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        ) == 0
        {
            return;
        }
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let highest = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        limit.rlim_cur.min(1 << 20) as libc::c_int
    } else {
        4096
    };
    for fd in 3..highest {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
            libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
        }
    }
}
