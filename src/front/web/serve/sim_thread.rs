//! The simulation on its own thread: requests reach it as jobs over a channel and get their
//! answers back over a oneshot channel, so that no request handler blocks the async runtime.

use super::live::Live;
use crate::core::error::{EdraError, Result};
use std::path::Path;
use std::sync::mpsc;

/// A job for the simulation thread.
type Job = Box<dyn FnOnce(&mut Live) + Send>;

/// The handle to the simulation thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub struct SimThread {
    jobs: mpsc::Sender<Job>,
}

impl SimThread {
    /// Starts the thread and builds the simulation on it; returns once it is built. Its pages
    /// carry `token`.
    pub fn start(path: &Path, token: String) -> Result<SimThread> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("edra-sim".into())
            .spawn(move || match Live::open(&path) {
                Ok(mut live) => {
                    live.token = token;
                    let _ = ready_tx.send(Ok(()));
                    run(live, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| EdraError::other(format!("starting the simulation thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| EdraError::other("the simulation thread stopped while loading"))??;
        Ok(SimThread { jobs })
    }

    /// Runs `f` on the simulation thread and waits (without blocking the runtime) for its
    /// result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Live) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |live| {
                let _ = tx.send(f(live));
            }))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }
}

fn stopped() -> EdraError {
    EdraError::other("the simulation thread has stopped")
}

/// Most jobs answered between two chunks of an advance, so that a flood of requests cannot
/// stall it.
const JOBS_BETWEEN_CHUNKS: usize = 64;

/// The thread's loop until every sender is gone: jobs as they come; while an advance is under
/// way, a chunk of it whenever no job is waiting (or after [`JOBS_BETWEEN_CHUNKS`] jobs).
fn run(mut live: Live, rx: mpsc::Receiver<Job>) {
    let mut answered = 0;
    loop {
        if live.running() && answered >= JOBS_BETWEEN_CHUNKS {
            live.run_chunk();
            answered = 0;
            continue;
        }
        let job = if live.running() {
            match rx.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.recv() {
                Ok(job) => Some(job),
                Err(_) => return,
            }
        };
        match job {
            Some(job) => {
                job(&mut live);
                answered += 1;
            }
            None => {
                live.run_chunk();
                answered = 0;
            }
        }
    }
}
